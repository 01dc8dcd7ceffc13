import CBPF
import Glibc
import WitnessCore

/// The Witness kernel object, loaded and linked: every program, its maps, and the
/// control block shared with the programs. It exists so that exactly one owner holds
/// the libbpf handles and releases them, in reverse order, exactly once — after
/// `close()` no program or link of ours is left in the kernel.
///
/// Loading (verifying) and linking are separate: node mode loads at start and links
/// only while a window is open, so a node nobody is witnessing pays nothing per
/// syscall. Linking is five BTF tracepoint links, microseconds each.
package final class WitnessProbe {
    /// Settings fixed at load time.
    package struct Options: Sendable {
        /// Ring buffer size in bytes: a power of two, at least one page.
        package var ringBufferBytes: Int
        /// 0: quiet, 1: libbpf warnings, 2: libbpf debug output (verifier logs).
        package var logLevel: Int
        /// Kernel BTF to relocate against, for kernels without /sys/kernel/btf/vmlinux.
        package var btfPath: String?
        /// Link the programs at once (trace, witness); node mode links when a window opens.
        package var link: Bool

        package init(
            ringBufferBytes: Int = WitnessProbe.defaultRingBufferBytes, logLevel: Int = 0, btfPath: String? = nil,
            link: Bool = true
        ) {
            self.ringBufferBytes = ringBufferBytes
            self.logLevel = logLevel
            self.btfPath = btfPath
            self.link = link
        }
    }

    /// Drop counters of the kernel side, summed over CPUs.
    package struct KernelDrops: Sendable, Equatable {
        package var ringBufferFull: UInt64 = 0
        package var subjectTableFull: UInt64 = 0
        package var total: UInt64 { ringBufferFull + subjectTableFull }

        package init(ringBufferFull: UInt64 = 0, subjectTableFull: UInt64 = 0) {
            self.ringBufferFull = ringBufferFull
            self.subjectTableFull = subjectTableFull
        }
    }

    private var object: OpaquePointer?
    private var links: [OpaquePointer] = []
    private var control: UnsafeMutablePointer<witness_control>?
    private let controlLength: Int
    /// The in-kernel syscall profile (witness_syscall_counts), mapped.
    private var profileCounts: UnsafeMutablePointer<UInt64>?
    private let profileLength: Int
    /// Names of the programs, linked while `isLinked`.
    package private(set) var programNames: [String] = []
    /// Syscalls reported as events (rows of SyscallTable with a number in some table),
    /// and rows that no table of this architecture has.
    package let reportedSyscalls: [String]
    package let missingSyscalls: [String]
    /// What this kernel does not let Witness see (e.g. io_uring operations on a kernel
    /// without their tracepoint), and Witness's own limits: the testimony's coverage.
    package let blindSpots: [Coverage.BlindSpot]
    var isLinked: Bool { !links.isEmpty }
    package let ringBufferBytes: Int
    /// The default ring buffer: 2 MiB. bench/run --ring-sizes runs the open and the
    /// mixed workloads at once in the subject, on both cores: 256K was the smallest
    /// size that kept up with their steady stream; the losses it saw at larger sizes
    /// came from the consumer stalling, rarer from 2M up. The ring's pages are mapped
    /// twice (its wrap-around trick) and counted in RSS: 4 MiB here, against 16 MiB
    /// at the former 8M.
    package static let defaultRingBufferBytes = 2 << 20
    let eventsFD: Int32
    private let subjectCgroupsFD: Int32
    private let subjectPidsFD: Int32
    private let armedCgroupsFD: Int32
    private let dropsFD: Int32
    private let subjectDropsFD: Int32
    private let emittedFD: Int32
    private let possibleCPUs: Int

    /// Opens, loads and attaches the embedded object.
    /// - Throws: `BPFError`; `isUsageError` when the cause is the environment
    ///   (no privileges, no BTF) rather than a fault of the agent.
    package init(options: Options = Options()) throws(BPFError) {
        guard options.ringBufferBytes >= 4096, options.ringBufferBytes & (options.ringBufferBytes - 1) == 0 else {
            throw BPFError(
                operation: "ring buffer size", errno: EINVAL,
                message:
                    "ring buffer size must be a power of two of at least 4096 bytes, got \(options.ringBufferBytes)",
                isUsageError: true)
        }
        ringBufferBytes = options.ringBufferBytes
        try Privileges.check()
        let btf = options.btfPath ?? "/sys/kernel/btf/vmlinux"
        if access(btf, R_OK) != 0 {
            let reason = errno == EACCES ? "is not readable" : "is missing"
            throw BPFError(
                operation: "BTF", errno: errno,
                message: options.btfPath == nil
                    ? "kernel BTF \(btf) \(reason): Witness needs a kernel built with CONFIG_DEBUG_INFO_BTF (or --btf FILE)"
                    : "BTF file \(btf) \(reason)",
                isUsageError: true)
        }
        cbpf_set_log_level(Int32(options.logLevel))

        let image = Base64.decode(embeddedBPFObjectBase64)  // a few hundred KiB, well under a millisecond
        guard
            let object = image.withUnsafeBytes({
                cbpf_object_open($0.baseAddress, $0.count, "witness", options.btfPath)
            })
        else {
            throw BPFError.lastError("open embedded BPF object")
        }
        controlLength = Int(sysconf(Int32(_SC_PAGESIZE)))
        profileLength = Self.profileEntries * MemoryLayout<UInt64>.size
        possibleCPUs = max(1, Int(libbpf_num_possible_cpus()))
        let entries = SyscallTable.kernelEntries()
        reportedSyscalls = SyscallTable.shapes.filter(\.existsHere).flatMap(\.kernelNames)
        missingSyscalls = SyscallTable.shapes.filter { !$0.existsHere }.map { "\($0.syscall.eventType)" }

        // Optional hooks: a kernel without one loads the rest, and says what it misses.
        blindSpots = Coverage.inherent + Self.skipMissingHooks(object, btfPath: options.btfPath)

        let maps: LoadedMaps
        do throws(BPFError) {
            maps = try Self.load(object, ringBufferBytes: options.ringBufferBytes, shapes: entries)
        } catch {
            bpf_object__close(object)
            throw error
        }
        self.object = object
        eventsFD = maps.events
        subjectCgroupsFD = maps.subjectCgroups
        subjectPidsFD = maps.subjectPids
        armedCgroupsFD = maps.armedCgroups
        dropsFD = maps.drops
        subjectDropsFD = maps.subjectDrops
        emittedFD = maps.emitted

        let mapped = mmap(nil, controlLength, PROT_READ | PROT_WRITE, MAP_SHARED, maps.control, 0)
        guard let mapped, mapped != MAP_FAILED else {
            let error = BPFError.lastError("mmap control map")
            close()
            throw error
        }
        control = mapped.bindMemory(to: witness_control.self, capacity: 1)
        control!.pointee.wake_watermark = UInt64(options.ringBufferBytes / 4)
        control!.pointee.consumer_state = UInt32(WITNESS_CONSUMER_LAZY.rawValue)
        let counts = mmap(nil, profileLength, PROT_READ | PROT_WRITE, MAP_SHARED, maps.profile, 0)
        guard let counts, counts != MAP_FAILED else {
            let error = BPFError.lastError("mmap syscall profile map")
            close()
            throw error
        }
        profileCounts = counts.bindMemory(to: UInt64.self, capacity: Self.profileEntries)
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            if bpf_program__autoload(current) { programNames.append(String(cString: bpf_program__name(current))) }
            program = bpf_object__next_program(object, current)
        }
        if options.link {
            do throws(BPFError) {
                try link()
            } catch {
                close()
                throw error
            }
        }
        // Loading parsed the kernel's BTF (megabytes) and freed it; give the pages back.
        malloc_trim(0)
    }

    /// Descriptors of the maps the agent uses, once the object is loaded.
    private struct LoadedMaps {
        var events, control, subjectCgroups, subjectPids, armedCgroups, drops, subjectDrops, emitted, profile: Int32
    }

    private static func load(
        _ object: OpaquePointer, ringBufferBytes: Int, shapes: [(index: UInt32, shape: UInt64)]
    )
        throws(BPFError) -> LoadedMaps
    {
        guard let events = bpf_object__find_map_by_name(object, "witness_events") else {
            throw BPFError(operation: "find map", errno: ENOENT, message: "embedded object has no ring buffer map")
        }
        if bpf_map__set_max_entries(events, UInt32(ringBufferBytes)) != 0 {
            throw BPFError.lastError("set ring buffer size")
        }
        if bpf_object__load(object) != 0 {
            throw loadError(errno: errno)
        }
        let shapesFD = try mapFD(object, "witness_syscall_shapes")
        for entry in shapes {
            try fill(shapesFD, key: entry.index, value: entry.shape, "fill syscall shapes")
        }
        let ringOperationsFD = try mapFD(object, "witness_io_uring_ops")
        for operation in SyscallTable.ioUringOperations {
            try fill(ringOperationsFD, key: operation.opcode, value: operation.shape.shape, "fill io_uring operations")
        }
        return LoadedMaps(
            events: try mapFD(object, "witness_events"),
            control: try mapFD(object, "witness_control_map"),
            subjectCgroups: try mapFD(object, "witness_subject_cgroups"),
            subjectPids: try mapFD(object, "witness_subject_pids"),
            armedCgroups: try mapFD(object, "witness_armed_cgroups"),
            drops: try mapFD(object, "witness_drops"),
            subjectDrops: try mapFD(object, "witness_subject_drops"),
            emitted: try mapFD(object, "witness_emitted"),
            profile: try mapFD(object, "witness_syscall_counts"))
    }

    deinit {
        close()
    }

    /// Detaches every program and frees every map. Idempotent.
    package func close() {
        unlink()
        if let profileCounts {
            munmap(profileCounts, profileLength)
            self.profileCounts = nil
        }
        if let control {
            munmap(control, controlLength)
            self.control = nil
        }
        if let object {
            bpf_object__close(object)
            self.object = nil
        }
    }

    // MARK: Subjects

    /// Adds subject `slot` to cgroup `id`: the cgroup and all its descendants, present
    /// and future, are witnessed for that slot.
    func addCgroupSubject(cgroupID: UInt64, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectCgroupsFD, key: cgroupID, set: 1 << UInt64(slot))
        control!.pointee.has_cgroup_subjects = 1
        bumpCgroupGeneration()
    }

    /// Removes subject `slot` from cgroup `id`.
    package func removeCgroupSubject(cgroupID: UInt64, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectCgroupsFD, key: cgroupID, clear: 1 << UInt64(slot))
        bumpCgroupGeneration()
    }

    /// Removes subject `slot` from every cgroup: an armed window's subject bit may
    /// have been set by the kernel on a cgroup the agent never named.
    package func removeCgroupSubjects(slot: Int) throws(BPFError) {
        for id in keys(subjectCgroupsFD, as: UInt64.self) {
            try updateBits(fd: subjectCgroupsFD, key: id, clear: 1 << UInt64(slot))
        }
        bumpCgroupGeneration()
    }

    /// Whether windows can be armed before their cgroup exists (the kernel has the
    /// cgroup_mkdir tracepoint).
    var canArm: Bool { programNames.contains("witness_cgroup_mkdir") }

    /// Arms subject `slot` for a cgroup not created yet, by the names or paths it may
    /// be created with (see `ArmedSubject`): the cgroup_mkdir program makes the first
    /// matching cgroup a subject the moment it exists, before any task can enter it.
    package func arm(names: [String], slot: Int) throws(BPFError) {
        guard canArm else {
            throw BPFError(
                operation: "arm window", errno: ENOTSUP,
                message:
                    "this kernel has no cgroup_mkdir tracepoint: a window cannot wait for a subject that does not exist yet",
                isUsageError: true)
        }
        for name in names {
            var key = witness_armed_name()
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count < Int(WITNESS_ARMED_NAME_MAX) else {
                throw BPFError(
                    operation: "arm window", errno: ENAMETOOLONG,
                    message: "cannot arm a window for '\(name)': longer than \(WITNESS_ARMED_NAME_MAX - 1) bytes",
                    isUsageError: true)
            }
            withUnsafeMutableBytes(of: &key.name) { $0.copyBytes(from: bytes) }
            try updateBits(fd: armedCgroupsFD, key: key, set: 1 << UInt64(slot))
        }
        control!.pointee.has_cgroup_subjects = 1
    }

    /// Disarms subject `slot`: no cgroup created from now on becomes its subject.
    package func disarm(slot: Int) throws(BPFError) {
        for key in keys(armedCgroupsFD, as: witness_armed_name.self) {
            try updateBits(fd: armedCgroupsFD, key: key, clear: 1 << UInt64(slot))
        }
    }

    /// Every key of the hash map `fd`.
    private func keys<Key: BitwiseCopyable>(_ fd: Int32, as: Key.Type) -> [Key] {
        var found: [Key] = []
        var key = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Key>.size, alignment: 8)
        var next = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Key>.size, alignment: 8)
        defer {
            key.deallocate()
            next.deallocate()
        }
        var previous: UnsafeMutableRawPointer? = nil
        while bpf_map_get_next_key(fd, previous, next) == 0 {
            found.append(next.loadUnaligned(as: Key.self))
            swap(&key, &next)
            previous = key
        }
        return found
    }

    /// Adds process `pid` (a thread group) to PID-tree subject `slot`; its children
    /// are followed from now on by the fork program.
    package func addPidSubject(pid: Int32, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectPidsFD, key: UInt32(bitPattern: pid), set: 1 << UInt64(slot))
        control!.pointee.has_pid_subjects = 1
    }

    /// Removes subject `slot` from every process of its tree.
    package func removePidSubject(slot: Int) throws(BPFError) {
        for pid in pidKeys() {
            try updateBits(fd: subjectPidsFD, key: pid, clear: 1 << UInt64(slot))
        }
    }

    /// The number of live processes in PID-tree subjects.
    func pidSubjectCount() -> Int {
        pidKeys().count
    }

    private func pidKeys() -> [UInt32] {
        var keys: [UInt32] = []
        var next: UInt32 = 0
        guard bpf_map_get_next_key(subjectPidsFD, nil, &next) == 0 else { return keys }
        keys.append(next)
        var current = next
        while bpf_map_get_next_key(subjectPidsFD, &current, &next) == 0 {
            keys.append(next)
            current = next
        }
        return keys
    }

    private func bumpCgroupGeneration() {
        // The programs compare generations; a new one makes every cached verdict stale.
        control!.pointee.cgroup_generation &+= 1
    }

    private func updateBits<Key: BitwiseCopyable>(
        fd: Int32, key: Key, set: UInt64 = 0, clear: UInt64 = 0
    ) throws(BPFError) {
        var key = key
        var bits: UInt64 = 0
        let found = bpf_map_lookup_elem(fd, &key, &bits) == 0
        bits = (bits | set) & ~clear
        if bits == 0 {
            if found && bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT {
                throw BPFError.lastError("delete subject")
            }
        } else if bpf_map_update_elem(fd, &key, &bits, UInt64(BPF_ANY)) != 0 {
            throw BPFError.lastError("update subject")
        }
    }

    // MARK: Counters

    /// Kernel-side losses since load, summed over CPUs.
    package func drops() -> KernelDrops {
        KernelDrops(
            ringBufferFull: perCPUSum(dropsFD, key: UInt32(WITNESS_DROP_RINGBUF_FULL.rawValue)),
            subjectTableFull: perCPUSum(dropsFD, key: UInt32(WITNESS_DROP_SUBJECT_FULL.rawValue)))
    }

    /// Events of subject `slot` lost in the kernel since load.
    package func drops(slot: Int) -> UInt64 {
        perCPUSum(subjectDropsFD, key: UInt32(slot))
    }

    /// How full the ring buffer is now, 0 to 1 (records written, not yet consumed).
    package func ringBufferFill() -> Double {
        let used = cbpf_ringbuf_unconsumed(eventsFD)
        return used < 0 ? 0 : min(1, Double(used) / Double(ringBufferBytes))
    }

    /// Records written to the ring buffer since load.
    package func emitted() -> UInt64 {
        perCPUSum(emittedFD, key: 0)
    }

    private func perCPUSum(_ fd: Int32, key: UInt32) -> UInt64 {
        var key = key
        var values = [UInt64](repeating: 0, count: possibleCPUs)
        guard bpf_map_lookup_elem(fd, &key, &values) == 0 else { return 0 }
        return values.reduce(0, &+)
    }

    /// The control block the consumer writes its state into.
    var controlBlock: UnsafeMutablePointer<witness_control> { control! }

    // MARK: Loading

    /// Programs on hooks a kernel may lack, by group: (program, tracepoint) pairs that
    /// work together, and what is not seen without them.
    private static let optionalPrograms = [
        (
            [("witness_cgroup_attach", "cgroup_attach_task")],
            Coverage.BlindSpot(
                "processes moved into a subject from outside (this kernel has no cgroup_attach_task tracepoint)",
                syscalls: [], makesIncomplete: false)
        ),
        (
            [("witness_cgroup_mkdir", "cgroup_mkdir")],
            Coverage.BlindSpot(
                "windows armed before their subject exists (this kernel has no cgroup_mkdir tracepoint)",
                syscalls: [], makesIncomplete: false)
        ),
        (
            [("witness_io_uring_submit", "io_uring_submit_req"), ("witness_io_uring_complete", "io_uring_complete")],
            Coverage.BlindSpot(
                "io_uring operations (this kernel has no io_uring_submit_req tracepoint)",
                syscalls: ["io_uring_setup", "io_uring_enter", "io_uring_register"], makesIncomplete: true)
        ),
    ]

    /// Turns off the programs of each optional group whose tracepoint this kernel
    /// lacks; returns what is then not seen.
    private static func skipMissingHooks(_ object: OpaquePointer, btfPath: String?) -> [Coverage.BlindSpot] {
        var blind: [Coverage.BlindSpot] = []
        let hooks = Self.optionalPrograms.flatMap { $0.0.map { "btf_trace_\($0.1)" } }
        var present = [Int32](repeating: 1, count: hooks.count)
        let cNames = hooks.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        cNames.map { UnsafePointer($0) }.withUnsafeBufferPointer { names in
            _ = cbpf_btf_find_types(btfPath, names.baseAddress, Int32(hooks.count), Int32(BTF_KIND_TYPEDEF), &present)
        }
        var next = 0  // `present` follows `hooks`, group by group
        for (programs, spot) in Self.optionalPrograms {
            let missing = present[next..<next + programs.count].contains(0)
            next += programs.count
            guard missing else { continue }
            for (program, _) in programs {
                if let found = bpf_object__find_program_by_name(object, program) {
                    bpf_program__set_autoload(found, false)
                }
            }
            blind.append(spot)
        }
        return blind
    }

    private static func fill(_ fd: Int32, key: UInt32, value: UInt64, _ what: String) throws(BPFError) {
        var key = key
        var value = value
        if bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY)) != 0 {
            throw BPFError.lastError(what)
        }
    }

    private static func mapFD(_ object: OpaquePointer, _ name: String) throws(BPFError) -> Int32 {
        guard let map = bpf_object__find_map_by_name(object, name) else {
            throw BPFError(operation: "find map", errno: ENOENT, message: "embedded object has no map \(name)")
        }
        return bpf_map__fd(map)
    }

    private static func loadError(errno error: Int32) -> BPFError {
        if error == EPERM || error == EACCES {
            // The capabilities were checked before loading: under a seccomp filter the
            // likelier refusal is the filter's (a runtime's default profile).
            let cause =
                Privileges.seccompFiltered()
                ? "a seccomp filter runs on this process and likely refuses bpf() (runtime default profiles allow it"
                    + " only with CAP_SYS_ADMIN): run under deploy/seccomp/witness-agent.json"
                : "run as root, or with CAP_BPF, CAP_PERFMON (and CAP_SYS_RESOURCE before kernel 5.11)"
            return BPFError(
                operation: "load BPF object", errno: error, message: "permission denied loading BPF programs: \(cause)",
                isUsageError: true)
        }
        let detail = String(cString: cbpf_last_message())
        return BPFError(
            operation: "load BPF object", errno: error,
            message: "loading the BPF object failed: \(String(cString: strerror(error)))"
                + (detail.isEmpty ? "" : " (libbpf: \(detail))"))
    }

    // MARK: Linking

    /// Links every program: from now on every syscall of every task passes the subject
    /// check. Idempotent.
    package func link() throws(BPFError) {
        guard let object, links.isEmpty else { return }
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            defer { program = bpf_object__next_program(object, current) }
            guard bpf_program__autoload(current) else { continue }
            let name = String(cString: bpf_program__name(current))
            guard let link = bpf_program__attach(current) else {
                let error = errno
                unlink()
                throw BPFError(
                    operation: "attach \(name)", errno: error,
                    message: "attaching \(name) failed: \(String(cString: strerror(error)))",
                    isUsageError: error == EPERM || error == EACCES)
            }
            links.append(link)
        }
    }

    /// Unlinks every program (they stay loaded and verified, the maps keep their
    /// contents): the kernel runs none of them until `link()`. Idempotent.
    package func unlink() {
        guard !links.isEmpty else { return }
        var pending: [OpaquePointer?] = links.reversed()
        cbpf_destroy_links(&pending, Int32(pending.count))
        links.removeAll()
    }

    // MARK: Syscall profile

    /// Counters in witness_syscall_counts: WITNESS_PROFILE_ENTRIES (a macro Swift does not import).
    private static let profileEntries =
        Int(WITNESS_MAX_SUBJECTS) * SyscallNumbers.Table.allCases.count * SyscallNumbers.slots

    /// Every syscall subject `slot` made since `resetProfile(slot:)`, by table and
    /// number, counted in the kernel whether or not it was reported.
    package func profile(slot: Int) -> [SyscallCount] {
        guard let profileCounts, slot >= 0, slot < Int(WITNESS_MAX_SUBJECTS) else { return [] }
        var counts: [SyscallCount] = []
        let base = slot * SyscallNumbers.Table.allCases.count * SyscallNumbers.slots
        for table in SyscallNumbers.Table.allCases {
            for number in 0..<SyscallNumbers.slots {
                let value = profileCounts[base + table.rawValue * SyscallNumbers.slots + number]
                if value != 0 { counts.append(SyscallCount(table: table, number: number, count: value)) }
            }
        }
        return counts
    }

    /// Zeroes subject `slot`'s profile, before the slot is given to a new subject.
    package func resetProfile(slot: Int) {
        guard let profileCounts, slot >= 0, slot < Int(WITNESS_MAX_SUBJECTS) else { return }
        let width = SyscallNumbers.Table.allCases.count * SyscallNumbers.slots
        (profileCounts + slot * width).update(repeating: 0, count: width)
    }
}

import CBPF
import Glibc
import WitnessCore

/// The Witness kernel object, loaded and attached: every program, its maps, and the
/// control block shared with the programs. It exists so that exactly one owner holds
/// the libbpf handles and releases them, in reverse order, exactly once — after
/// `close()` no program or link of ours is left in the kernel.
public final class WitnessProbe {
    /// Settings fixed at load time.
    public struct Options: Sendable {
        /// Ring buffer size in bytes: a power of two, at least one page.
        public var ringBufferBytes: Int
        /// 0: quiet, 1: libbpf warnings, 2: libbpf debug output (verifier logs).
        public var logLevel: Int
        /// Kernel BTF to relocate against, for kernels without /sys/kernel/btf/vmlinux.
        public var btfPath: String?

        public init(ringBufferBytes: Int = 8 << 20, logLevel: Int = 0, btfPath: String? = nil) {
            self.ringBufferBytes = ringBufferBytes
            self.logLevel = logLevel
            self.btfPath = btfPath
        }
    }

    /// Drop counters of the kernel side, summed over CPUs.
    public struct KernelDrops: Sendable, Equatable {
        public var ringBufferFull: UInt64 = 0
        public var pendingTableFull: UInt64 = 0
        public var subjectTableFull: UInt64 = 0
        public var total: UInt64 { ringBufferFull + pendingTableFull + subjectTableFull }

        public init(ringBufferFull: UInt64 = 0, pendingTableFull: UInt64 = 0, subjectTableFull: UInt64 = 0) {
            self.ringBufferFull = ringBufferFull
            self.pendingTableFull = pendingTableFull
            self.subjectTableFull = subjectTableFull
        }
    }

    private var object: OpaquePointer?
    private var links: [OpaquePointer] = []
    private var control: UnsafeMutablePointer<witness_control>?
    private let controlLength: Int
    /// Programs not loaded because this kernel lacks their tracepoint (e.g. open(2) on arm64).
    public let skippedPrograms: [String]
    /// Names of the attached programs.
    public private(set) var attachedPrograms: [String] = []
    /// Generic syscalls attached, and those this kernel has no tracepoint for.
    public private(set) var attachedSyscalls: [String] = []
    public private(set) var missingSyscalls: [String] = []
    private let tracefs: String
    public let ringBufferBytes: Int
    let eventsFD: Int32
    private let subjectCgroupsFD: Int32
    private let subjectPidsFD: Int32
    private let dropsFD: Int32
    private let subjectDropsFD: Int32
    private let emittedFD: Int32
    private let possibleCPUs: Int

    /// Opens, loads and attaches the embedded object.
    /// - Throws: `BPFError`; `isUsageError` when the cause is the environment
    ///   (no privileges, no BTF) rather than a fault of the agent.
    public init(options: Options = Options()) throws(BPFError) {
        guard options.ringBufferBytes >= 4096, options.ringBufferBytes & (options.ringBufferBytes - 1) == 0 else {
            throw BPFError(
                operation: "ring buffer size", errno: EINVAL,
                message: "ring buffer size must be a power of two of at least 4096 bytes, got \(options.ringBufferBytes)",
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
        tracefs = try Tracefs.ensureMounted()
        cbpf_set_log_level(Int32(options.logLevel))

        let image = Base64.decode(embeddedBPFObjectBase64)  // a few hundred KiB, well under a millisecond
        guard let object = image.withUnsafeBytes({ cbpf_object_open($0.baseAddress, $0.count, "witness", options.btfPath) })
        else {
            throw BPFError.lastError("open embedded BPF object")
        }
        controlLength = Int(sysconf(Int32(_SC_PAGESIZE)))
        possibleCPUs = max(1, Int(libbpf_num_possible_cpus()))

        let maps: LoadedMaps
        do throws(BPFError) {
            maps = try Self.load(object, ringBufferBytes: options.ringBufferBytes, tracefs: tracefs)
        } catch {
            bpf_object__close(object)
            throw error
        }
        self.object = object
        skippedPrograms = maps.skipped
        eventsFD = maps.events
        subjectCgroupsFD = maps.subjectCgroups
        subjectPidsFD = maps.subjectPids
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
        do throws(BPFError) {
            try attachAll()
        } catch {
            close()
            throw error
        }
        // Loading parsed the kernel's BTF (megabytes) and freed it; give the pages back.
        malloc_trim(0)
    }

    /// Descriptors of the maps the agent uses, once the object is loaded.
    private struct LoadedMaps {
        var events, control, subjectCgroups, subjectPids, drops, subjectDrops, emitted: Int32
        var skipped: [String]
    }

    private static func load(_ object: OpaquePointer, ringBufferBytes: Int, tracefs: String) throws(BPFError) -> LoadedMaps {
        guard let events = bpf_object__find_map_by_name(object, "witness_events") else {
            throw BPFError(operation: "find map", errno: ENOENT, message: "embedded object has no ring buffer map")
        }
        if bpf_map__set_max_entries(events, UInt32(ringBufferBytes)) != 0 {
            throw BPFError.lastError("set ring buffer size")
        }
        let skipped = disableProgramsWithoutTracepoint(object, tracefs: tracefs)
        if bpf_object__load(object) != 0 {
            throw loadError(errno: errno)
        }
        return LoadedMaps(
            events: try mapFD(object, "witness_events"),
            control: try mapFD(object, "witness_control_map"),
            subjectCgroups: try mapFD(object, "witness_subject_cgroups"),
            subjectPids: try mapFD(object, "witness_subject_pids"),
            drops: try mapFD(object, "witness_drops"),
            subjectDrops: try mapFD(object, "witness_subject_drops"),
            emitted: try mapFD(object, "witness_emitted"),
            skipped: skipped)
    }

    deinit {
        close()
    }

    /// Detaches every program and frees every map. Idempotent.
    public func close() {
        var pending: [OpaquePointer?] = links.reversed()
        cbpf_destroy_links(&pending, Int32(pending.count))
        links.removeAll()
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
    public func addCgroupSubject(cgroupID: UInt64, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectCgroupsFD, key: cgroupID, set: 1 << UInt64(slot))
        control!.pointee.has_cgroup_subjects = 1
        bumpCgroupGeneration()
    }

    /// Removes subject `slot` from cgroup `id`.
    public func removeCgroupSubject(cgroupID: UInt64, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectCgroupsFD, key: cgroupID, clear: 1 << UInt64(slot))
        bumpCgroupGeneration()
    }

    /// Adds process `pid` (a thread group) to PID-tree subject `slot`; its children
    /// are followed from now on by the fork program.
    public func addPidSubject(pid: Int32, slot: Int) throws(BPFError) {
        try updateBits(fd: subjectPidsFD, key: UInt32(bitPattern: pid), set: 1 << UInt64(slot))
        control!.pointee.has_pid_subjects = 1
    }

    /// Removes subject `slot` from every process of its tree.
    public func removePidSubject(slot: Int) throws(BPFError) {
        for pid in pidKeys() {
            try updateBits(fd: subjectPidsFD, key: pid, clear: 1 << UInt64(slot))
        }
    }

    /// The number of live processes in PID-tree subjects.
    public func pidSubjectCount() -> Int {
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

    private func updateBits<Key: BitwiseCopyable>(fd: Int32, key: Key, set: UInt64 = 0, clear: UInt64 = 0) throws(BPFError) {
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
    public func drops() -> KernelDrops {
        KernelDrops(
            ringBufferFull: perCPUSum(dropsFD, key: UInt32(WITNESS_DROP_RINGBUF_FULL.rawValue)),
            pendingTableFull: perCPUSum(dropsFD, key: UInt32(WITNESS_DROP_PENDING_FULL.rawValue)),
            subjectTableFull: perCPUSum(dropsFD, key: UInt32(WITNESS_DROP_SUBJECT_FULL.rawValue)))
    }

    /// Events of subject `slot` lost in the kernel since load.
    public func drops(slot: Int) -> UInt64 {
        perCPUSum(subjectDropsFD, key: UInt32(slot))
    }

    /// How full the ring buffer is now, 0 to 1 (records written, not yet consumed).
    public func ringBufferFill() -> Double {
        let used = cbpf_ringbuf_unconsumed(eventsFD)
        return used < 0 ? 0 : min(1, Double(used) / Double(ringBufferBytes))
    }

    /// Records written to the ring buffer since load.
    public func emitted() -> UInt64 {
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

    private static func mapFD(_ object: OpaquePointer, _ name: String) throws(BPFError) -> Int32 {
        guard let map = bpf_object__find_map_by_name(object, name) else {
            throw BPFError(operation: "find map", errno: ENOENT, message: "embedded object has no map \(name)")
        }
        return bpf_map__fd(map)
    }

    /// Turns autoload off for programs whose tracepoint this kernel does not have.
    private static func disableProgramsWithoutTracepoint(_ object: OpaquePointer, tracefs: String) -> [String] {
        var skipped: [String] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let section = String(cString: bpf_program__section_name(current))
            let parts = section.split(separator: "/").map(String.init)
            var present = true
            if parts.count == 3, parts[0] == "tracepoint" {
                present = Tracefs.hasTracepoint(tracefs, category: parts[1], name: parts[2])
            } else if parts.count == 2, parts[0] == "raw_tracepoint" {
                present = Tracefs.hasTracepoint(tracefs, category: "sched", name: parts[1])
            }
            if !present {
                bpf_program__set_autoload(current, false)
                skipped.append(String(cString: bpf_program__name(current)))
            }
            program = bpf_object__next_program(object, current)
        }
        return skipped
    }

    private static func loadError(errno error: Int32) -> BPFError {
        if error == EPERM || error == EACCES {
            return BPFError(
                operation: "load BPF object", errno: error,
                message: "permission denied loading BPF programs: run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE",
                isUsageError: true)
        }
        let detail = String(cString: cbpf_last_message())
        return BPFError(
            operation: "load BPF object", errno: error,
            message: "loading the BPF object failed: \(String(cString: strerror(error)))"
                + (detail.isEmpty ? "" : " (libbpf: \(detail))"))
    }

    /// The generic pair, attached once per syscall of `SyscallTable` below.
    private static let genericPrograms = ["witness_enter_syscall", "witness_exit_syscall"]

    private func attachAll() throws(BPFError) {
        guard let object else { return }
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let name = String(cString: bpf_program__name(current))
            if bpf_program__autoload(current) && !Self.genericPrograms.contains(name) {
                guard let link = bpf_program__attach(current) else {
                    let error = errno
                    throw BPFError(
                        operation: "attach \(name)", errno: error,
                        message: "attaching \(name) failed: \(String(cString: strerror(error)))",
                        isUsageError: error == EPERM || error == EACCES)
                }
                links.append(link)
                attachedPrograms.append(name)
            }
            program = bpf_object__next_program(object, current)
        }
        try attachGenericSyscalls(object)
    }

    /// Attaches the generic enter/exit programs to each syscall of the table, the
    /// enter with the cookie that tells the programs what the arguments are.
    private func attachGenericSyscalls(_ object: OpaquePointer) throws(BPFError) {
        guard let enter = bpf_object__find_program_by_name(object, Self.genericPrograms[0]),
            let exit = bpf_object__find_program_by_name(object, Self.genericPrograms[1])
        else { return }
        for shape in SyscallTable.shapes {
            let enterName = "sys_enter_\(shape.tracepoint)"
            let exitName = "sys_exit_\(shape.tracepoint)"
            guard Tracefs.hasTracepoint(tracefs, category: "syscalls", name: enterName),
                Tracefs.hasTracepoint(tracefs, category: "syscalls", name: exitName)
            else {
                missingSyscalls.append(shape.tracepoint)
                continue
            }
            var options = bpf_tracepoint_opts()
            options.sz = MemoryLayout<bpf_tracepoint_opts>.size
            options.bpf_cookie = shape.cookie
            for (program, tracepoint) in [(enter, enterName), (exit, exitName)] {
                guard let link = bpf_program__attach_tracepoint_opts(program, "syscalls", tracepoint, &options) else {
                    let error = errno
                    throw BPFError(
                        operation: "attach \(tracepoint)", errno: error,
                        message: "attaching to \(tracepoint) failed: \(String(cString: strerror(error)))")
                }
                links.append(link)
            }
            attachedSyscalls.append(shape.tracepoint)
        }
        attachedPrograms.append(contentsOf: Self.genericPrograms)
    }
}

import Glibc

/// What the agent knows of one process, kept from its exec (or a /proc read) until
/// its exit, so that an open or connect can name the program that made it.
package struct ProcessRecord: Sendable, Equatable {
    package var pid: Int32
    package var ppid: Int32
    /// The comm: the kernel's 15-byte task name (Falco's proc.name).
    package var name: [UInt8]
    /// Absolute path of the executable, when known (Falco's proc.exepath).
    package var exePath: [UInt8]
    /// The argument vector, NUL-separated, argv[0] first.
    package var argv: [UInt8]
    package var argvTruncated: Bool
    /// The controlling terminal (tty_nr), 0 when there is none (Falco's proc.tty).
    package var tty: Int32
    /// Audit login uid (user.loginuid); UInt32.max when unset.
    package var loginUID: UInt32
    /// Working directory at exec (proc.cwd).
    package var cwd: [UInt8]
    /// Effective capabilities after exec (thread.cap_effective); nil when unknown.
    package var capabilities: UInt64?
    /// Permitted and inheritable capabilities after exec (thread.cap_permitted,
    /// thread.cap_inheritable); nil when unknown.
    package var permittedCapabilities: UInt64?
    package var inheritableCapabilities: UInt64?
    /// The executable is a memfd: an exec that never touched a file system.
    package var executableIsMemfd: Bool
    /// The executable had no name left when it ran (unlinked, run through a descriptor).
    package var executableIsDeleted: Bool
    /// The executable is in an overlay's upper layer: written in the container, not
    /// shipped in its image (Falco's proc.is_exe_upper_layer); false when unknown.
    package var executableInUpperLayer = false
    /// Session id and process group id in its PID namespace, at exec (proc.sid,
    /// proc.vpgid); nil when unknown.
    package var sessionID: Int32?
    package var namespaceProcessGroupID: Int32?
    /// The environment at exec, NUL-separated (proc.env), and whether it was cut.
    package var environment: [UInt8] = []
    package var environmentTruncated = false
    /// The program is a script its #! interpreter runs (proc.exepath is the script's).
    package var executableIsScript = false
    /// What descriptors 0, 1 and 2 were at exec (`StdioType`, packed); 0 unknown.
    package var stdio: UInt32 = 0
    /// For the dynamic loader run as a program: the file it runs (`DynamicLoader`).
    package var loaderTarget: [UInt8] = []
    /// The program that wrote the executable (or the loader's target) during the
    /// subject's window: a dropped file; nil when none did, empty when unnamed.
    package var executableWriter: [UInt8]?
    /// When the process started (exec or fork), CLOCK_BOOTTIME ns; 0 when unknown.
    package var startTime: UInt64
    /// The pid in its own PID namespace (Falco's proc.vpid); nil when unknown.
    package var vpid: Int32?
    /// The subject slots whose windows saw this process (0: read from /proc).
    package var subjects: UInt64 = 0

    package init(
        pid: Int32, ppid: Int32, name: [UInt8], exePath: [UInt8], argv: [UInt8], argvTruncated: Bool = false,
        tty: Int32 = 0, loginUID: UInt32 = .max, cwd: [UInt8] = [], capabilities: UInt64? = nil,
        executableIsMemfd: Bool = false, executableIsDeleted: Bool = false, startTime: UInt64 = 0, vpid: Int32? = nil
    ) {
        self.pid = pid
        self.ppid = ppid
        self.name = name
        self.exePath = exePath
        self.argv = argv
        self.argvTruncated = argvTruncated
        self.tty = tty
        self.loginUID = loginUID
        self.cwd = cwd
        self.capabilities = capabilities
        self.executableIsMemfd = executableIsMemfd
        self.executableIsDeleted = executableIsDeleted
        self.startTime = startTime
        self.vpid = vpid
    }

    /// argv[0] (Falco's proc.exe).
    package var exe: ArraySlice<UInt8> {
        argv[..<(argv.firstIndex(of: 0) ?? argv.endIndex)]
    }

    /// Arguments after argv[0], NUL-separated (Falco's proc.args joins them with spaces).
    package var args: ArraySlice<UInt8> {
        guard let end = argv.firstIndex(of: 0) else { return [] }
        var tail = argv[(end + 1)...]
        while tail.last == 0 { tail = tail.dropLast() }
        return tail
    }
}

/// Per-process state built from exec/fork/exit events and, for processes that were
/// already running, from /proc. Entries go at exit; the table is bounded in entries
/// and in bytes (a subject with thousands of processes of long argv cannot push the
/// agent past its memory limit), and a record forgotten to make room is reported to
/// `onForget`: the windows that saw it lost evidence.
package final class ProcessTable {
    private var records: [Int32: ProcessRecord] = [:] {
        didSet { generation &+= 1 }
    }
    /// Changes whenever a record does (or who watches the table): a reader that keeps
    /// the record it looked up may keep using it while this stays the same.
    package private(set) var generation: UInt64 = 0
    /// Approximate bytes the records hold.
    package private(set) var bytes = 0
    package let byteBudget: Int
    /// Records forgotten to stay within the bounds, since start.
    package private(set) var forgotten: UInt64 = 0
    /// Told of each record forgotten to make room.
    package var onForget: ((ProcessRecord) -> Void)?
    /// Pids /proc had nothing for: not read again on every event that asks.
    private var gone: Set<Int32> = []
    /// Where /proc is read from (/host/proc inside a container).
    package let procRoot: String
    package let capacity: Int
    /// Lookups that had to read /proc because no event had described the process.
    package private(set) var procReads = 0
    /// Told of what the table hands out and reads (a recording keeps what replay needs);
    /// set only while a recording is written, so every other lookup pays one nil check
    /// (a strong reference: a weak one would cost an atomic load on every lookup).
    package var observer: (any ProcessTableObserver)? {
        didSet { generation &+= 1 }  // a new recording must hear of every record handed out
    }
    /// Answers instead of /proc (replay: the reads a recording holds).
    package var procSource: ((Int32) -> ProcessRecord?)? {
        didSet { generation &+= 1 }
    }

    package init(procRoot: String = "/proc", capacity: Int = 65_536, byteBudget: Int = 64 << 20) {
        self.procRoot = procRoot
        self.capacity = capacity
        self.byteBudget = byteBudget
        records.reserveCapacity(min(capacity, 4096))
    }

    package var count: Int { records.count }

    /// The record of `pid`, reading /proc the first time an unknown process is asked for.
    package func lookup(_ pid: Int32) -> ProcessRecord? {
        if let record = records[pid] {
            observer?.handedOut(record)
            return record
        }
        guard pid > 0, !gone.contains(pid) else { return nil }
        procReads += 1
        let read = procSource.map { $0(pid) } ?? readProc(pid)
        observer?.readFromProc(pid, read)
        guard let record = read else {
            if gone.count >= capacity { gone.removeAll(keepingCapacity: true) }
            gone.insert(pid)
            return nil
        }
        insert(record)
        return record
    }

    /// The record of `pid` if the table has it, without reading /proc.
    package func cached(_ pid: Int32) -> ProcessRecord? {
        let record = records[pid]
        if let record, let observer { observer.handedOut(record) }
        return record
    }

    package func insert(_ record: ProcessRecord) {
        gone.remove(record.pid)  // a pid comes back when it is reused
        let replacing = records[record.pid]
        if let replacing { bytes -= Self.cost(replacing) }
        let cost = Self.cost(record)
        while records.count - (replacing == nil ? 0 : 1) >= capacity || bytes + cost > byteBudget,
            let victim = records.first(where: { $0.key != record.pid })?.value
        {
            records.removeValue(forKey: victim.pid)
            bytes -= Self.cost(victim)
            forgotten &+= 1
            onForget?(victim)
            observer?.evicted(victim.pid)
        }
        records[record.pid] = record
        bytes += cost
        observer?.inserted(record.pid)
    }

    /// What a record holds, roughly: its arrays and the fixed part.
    static func cost(_ record: ProcessRecord) -> Int {
        160 + record.name.count + record.exePath.count + record.argv.count + record.cwd.count + record.environment.count
            + record.loaderTarget.count + (record.executableWriter?.count ?? 0)
    }

    /// A new process starts as a copy of its parent (same image until it execs).
    package func fork(parent: Int32, child: Int32, at time: UInt64 = 0, subjects: UInt64 = 0) {
        guard var record = lookup(parent) else { return }
        record.pid = child
        record.ppid = parent
        record.startTime = time
        record.subjects |= subjects
        record.vpid = nil  // its own, unknown until it execs
        insert(record)
    }

    package func exit(_ pid: Int32) {
        if let record = records.removeValue(forKey: pid) { bytes -= Self.cost(record) }
        observer?.removed(pid)
    }

    /// Reads what /proc says of `pid`: comm, exe link, cmdline and parent.
    package func readProc(_ pid: Int32) -> ProcessRecord? {
        let base = "\(procRoot)/\(pid)"
        guard var name = ProcFiles.read(base + "/comm", limit: 64, regularOnly: true) else { return nil }
        while name.last == 0x0A { name.removeLast() }
        let argv = ProcFiles.read(base + "/cmdline", limit: Int(4096), regularOnly: true) ?? []
        var exePath = ProcFiles.readLink(base + "/exe") ?? []
        // The kernel's mark on an executable whose last name was removed.
        let deletedMark = Array(" (deleted)".utf8)
        let deleted = exePath.count > deletedMark.count && exePath.suffix(deletedMark.count).elementsEqual(deletedMark)
        if deleted { exePath.removeLast(deletedMark.count) }
        let stat = ProcFiles.statFields(base + "/stat")
        let loginUID = ProcFiles.read(base + "/loginuid", limit: 16, regularOnly: true).flatMap { UInt32(String(decoding: $0, as: UTF8.self)) }
        return ProcessRecord(
            pid: pid, ppid: stat?.ppid ?? 0, name: name, exePath: exePath, argv: argv, tty: stat?.tty ?? 0,
            loginUID: loginUID ?? .max, cwd: ProcFiles.readLink(base + "/cwd") ?? [],
            executableIsMemfd: exePath.starts(with: Array("/memfd:".utf8)), executableIsDeleted: deleted, startTime: stat?.startTime ?? 0,
            vpid: ProcFiles.namespacePID(base + "/status"))
    }

    /// Marks the records of `pids` as seen by the window in `slot` (its processes at
    /// the start), so that forgetting one counts against that window.
    package func mark(_ pids: [Int32], slot: Int) {
        for pid in pids { records[pid]?.subjects |= 1 << UInt64(slot) }
    }

    /// A window ends in `slot`, or another begins there: no record is its any more.
    package func unmark(slot: Int) {
        let bit: UInt64 = 1 << UInt64(slot)
        for (pid, record) in records where record.subjects & bit != 0 { records[pid]?.subjects &= ~bit }
    }

    /// Records every process in `pids` (a subject's existing processes at start).
    package func scan(_ pids: [Int32]) {
        for pid in pids where records[pid] == nil {
            if let record = readProc(pid) { insert(record) }
        }
    }
}

/// What a recording needs to hear of the process table: each record handed out (the
/// first time, it is written as the table had it), each /proc read and its result,
/// and records the events themselves made or ended (replay makes them again).
package protocol ProcessTableObserver: AnyObject {
    func handedOut(_ record: ProcessRecord)
    func readFromProc(_ pid: Int32, _ record: ProcessRecord?)
    func inserted(_ pid: Int32)
    func removed(_ pid: Int32)
    /// Forgotten for room: no event says so, so every recording is told.
    func evicted(_ pid: Int32)
}

/// Small readers for /proc files: whole-file reads with a limit, readlink, the ppid
/// field of /proc/PID/stat, and the children of a process.
package enum ProcFiles {
    /// Reads a file, at most `limit` bytes. With `regularOnly` (what the consumer
    /// thread reads under proc_root) it is opened without blocking and read only when
    /// it is a regular file: a FIFO or a device put where /proc is expected makes this
    /// return nil instead of stopping the consumer.
    package static func read(_ path: String, limit: Int, regularOnly: Bool = false) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK | O_NOCTTY : 0))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if regularOnly {
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        }
        // In chunks, grown as the file is: a limit is a bound, not an allocation (a
        // zeroed 4 MiB buffer for /etc/passwd stayed resident in the heap).
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 64 << 10))
        while result.count < limit {
            let wanted = min(chunk.count, limit - result.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, wanted) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: chunk[..<n])
        }
        return result
    }

    package static func readLink(_ path: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) }
        guard n > 0 else { return nil }
        buffer.removeSubrange(n...)
        return buffer
    }

    /// The last pid of the `NSpid:` line of /proc/PID/status: the process's pid in
    /// its own PID namespace.
    package static func namespacePID(_ path: String) -> Int32? {
        guard let status = read(path, limit: 4096, regularOnly: true),
            let line = status.split(separator: 0x0A).first(where: { $0.starts(with: "NSpid:".utf8) })
        else { return nil }
        return line.dropFirst(6).split(whereSeparator: { $0 == 0x09 || $0 == 0x20 }).last
            .flatMap { Int32(String(decoding: $0, as: UTF8.self)) }
    }

    /// Fields 4 (ppid), 7 (tty_nr) and 22 (start time) of /proc/PID/stat, read after
    /// the last ')' since the comm before it may hold anything.
    package static func statFields(_ path: String) -> (ppid: Int32, tty: Int32, startTime: UInt64)? {
        guard let stat = read(path, limit: 1024, regularOnly: true), let close = stat.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let ppid = Int32(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) ?? 0
        let perSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return (ppid, Int32(String(decoding: fields[4], as: UTF8.self)) ?? 0, ticks * (1_000_000_000 / perSecond))
    }

    package static func parentPID(statusPath: String) -> Int32? {
        statFields(statusPath)?.ppid
    }

    /// Names in `directory` (not `.` and `..`); only subdirectories if asked.
    package static func entries(of directory: String, directoriesOnly: Bool = false) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            if directoriesOnly && entry.pointee.d_type != UInt8(DT_DIR) { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The regular files `pid` holds open for writing, by identity as the kernel
    /// numbers it, with their paths: fdinfo gives the access mode, the inode and the
    /// mount, mountinfo the mount's device (the superblock's, as the BPF side reads
    /// it, which stat's st_dev is not on btrfs subvolumes). Nothing here follows a
    /// descriptor to its file, so a file on a stuck FUSE or NFS mount cannot hang it.
    /// Needs CAP_SYS_PTRACE for other users' processes.
    package static func filesOpenForWriting(pid: Int32, procRoot: String = "/proc") -> [(FileID, [UInt8])] {
        let base = "\(procRoot)/\(pid)"
        var devices: [Int: UInt32]?
        var files: [(FileID, [UInt8])] = []
        for name in entries(of: base + "/fdinfo") {
            guard let info = read(base + "/fdinfo/" + name, limit: 4096, regularOnly: true) else { continue }
            var flags: UInt32?
            var mount: Int?
            var inode: UInt64?
            for line in info.split(separator: 0x0A) {
                let parts = line.split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
                guard parts.count >= 2 else { continue }
                let value = String(decoding: parts[1], as: UTF8.self)
                switch String(decoding: parts[0], as: UTF8.self) {
                case "flags:": flags = UInt32(value, radix: 8)
                case "mnt_id:": mount = Int(value)
                case "ino:": inode = UInt64(value)
                default: break
                }
            }
            guard let flags, flags & OpenFlags.accessMask != 0, let mount, let inode, inode != 0 else { continue }
            if devices == nil { devices = mountDevices(base + "/mountinfo") }
            guard let device = devices?[mount], let path = readLink(base + "/fd/" + name), path.first == UInt8(ascii: "/")
            else { continue }
            files.append((FileID(device: device, inode: inode), path))
        }
        return files
    }

    /// Mount id → the kernel's device number (major << 20 | minor), from mountinfo.
    static func mountDevices(_ path: String) -> [Int: UInt32] {
        var devices: [Int: UInt32] = [:]
        for line in (read(path, limit: 4 << 20, regularOnly: true) ?? []).split(separator: 0x0A) {
            let fields = line.split(separator: 0x20, maxSplits: 3)
            guard fields.count >= 3, let id = Int(String(decoding: fields[0], as: UTF8.self)) else { continue }
            let numbers = fields[2].split(separator: UInt8(ascii: ":")).compactMap { UInt32(String(decoding: $0, as: UTF8.self)) }
            guard numbers.count == 2 else { continue }
            devices[id] = numbers[0] << 20 | numbers[1]
        }
        return devices
    }

    /// Every pid in /proc.
    package static func allPIDs(procRoot: String = "/proc") -> [Int32] {
        entries(of: procRoot).compactMap { Int32($0) }
    }

    /// `root` and every live descendant of it, found by walking the ppid of every process.
    package static func descendants(of root: Int32, procRoot: String = "/proc") -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for pid in allPIDs(procRoot: procRoot) {
            if let ppid = parentPID(statusPath: "\(procRoot)/\(pid)/stat") {
                children[ppid, default: []].append(pid)
            }
        }
        var result: [Int32] = [root]
        var index = 0
        while index < result.count {
            result.append(contentsOf: children[result[index]] ?? [])
            index += 1
        }
        return result
    }
}

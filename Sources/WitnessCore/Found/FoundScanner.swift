import CBPF
import Glibc

/// Judges the subject as found: when a window becomes active on a subject that
/// already runs, every one of its processes (once per process, not per thread) and
/// every descriptor it holds are read from /proc and turned into found records
/// (`FoundRecords`) — a process as the exec of its image, a file as its open, a
/// socket as its connect or listen, a tracer as its ptrace — so the rules judge what
/// was started before the window exactly as they would have judged it live.
///
/// The subject bit is set in the kernel first, so whatever a process does while it
/// is being read is a live event too; a process that forks meanwhile is followed.
/// Bounded: past `maxProcesses` or `maxDescriptors` the scan stops and says so.
package struct FoundScanner {
    package var procRoot = "/proc"
    var maxProcesses = 4096
    var maxDescriptors = 65_536

    package init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// What a scan made: the records, in the order to handle them, and its summary.
    package struct Scan {
        package var records: [[UInt8]] = []
        package var summary = FoundSummary()
        /// Files found open for writing, by process: what the process writes through
        /// them during the window passes no open.
        var openForWriting: [Int32: [(FileID, [UInt8])]] = [:]
    }

    /// Scans `pids` (thread-group ids) of the window in `slot`, whose cgroup is `cgroupID`.
    package func scan(_ pids: [Int32], slot: Int, cgroupID: UInt64, now: UInt64) -> Scan {
        var scan = Scan()
        var tables: [String: SocketTable] = [:]
        var seen = Set<Int32>()
        var tracers: [(tracer: Int32, tracee: Int32)] = []
        var processes: [Int32: FoundRecords.Process] = [:]
        let mounts = MountDevices()
        for pid in pids where seen.insert(pid).inserted {
            guard scan.summary.processes < maxProcesses else {
                scan.summary.truncated = true
                break
            }
            guard let status = Status(BoundedFile.read("\(procRoot)/\(pid)/status", limit: 8192, regularOnly: true)),
                let statLine = StatLine(BoundedFile.read("\(procRoot)/\(pid)/stat", limit: 2048, regularOnly: true))
            else { continue }  // gone meanwhile
            scan.summary.processes += 1
            let process = FoundRecords.Process(
                pid: pid, ppid: statLine.ppid, uid: status.uid, gid: status.gid,
                comm: BoundedFile.read("\(procRoot)/\(pid)/comm", limit: 64, regularOnly: true).map(Self.chomp) ?? [],
                cgroupID: cgroupID, subjects: 1 << UInt64(slot), bootTime: now)
            processes[pid] = process
            if status.tracerPID > 0 { tracers.append((status.tracerPID, pid)) }
            // A process whose main thread exited shows no descriptors, image or network
            // at its own directory: a live thread's directory shows them.
            let base = liveTaskDirectory(of: pid)
            let netns = BoundedFile.readLink(base + "/ns/net").map { String(decoding: $0, as: UTF8.self) } ?? ""
            if tables[netns] == nil { tables[netns] = SocketTable(directory: base) }
            let descriptors = self.descriptors(
                of: base, sockets: tables[netns]!, mounts: mounts, budget: maxDescriptors - scan.summary.descriptors)
            if descriptors.truncated { scan.summary.truncated = true }
            scan.summary.descriptors += descriptors.count
            switch exec(base, status: status, statLine: statLine, stdio: descriptors.stdio) {
            case let .some(.some(exec)): scan.records.append(FoundRecords.exec(process, exec))
            case .some(.none): scan.summary.truncated = true  // a live image that could not be named
            case .none: break  // a kernel thread, or gone
            }
            for found in descriptors.found {
                switch found {
                case let .file(fd, name, flags, file):
                    scan.records.append(FoundRecords.open(process, fd: fd, name: name, flags: flags, file: file))
                    if flags & OpenFlags.accessMask != 0 && !file.isNone {
                        scan.openForWriting[pid, default: []].append((file, name))
                    }
                case let .socket(fd, entry):
                    let local =
                        entry.family == SocketAddress.familyUnix
                        ? nil : (family: entry.family, address: entry.localAddress, port: entry.localPort)
                    scan.records.append(
                        FoundRecords.socket(
                            process, fd: fd, listening: entry.listening,
                            remote: entry.listening && entry.family != SocketAddress.familyUnix
                                ? [] : entry.remoteSockaddr,
                            local: local, transport: entry.transport))
                }
            }
        }
        // A subject process attached with ptrace to another — in the subject or not:
        // as its attach.
        if !processes.isEmpty {
            for pid in ProcFS.allPIDs(procRoot: procRoot) where processes[pid] == nil {
                let traced = Status(BoundedFile.read("\(procRoot)/\(pid)/status", limit: 8192, regularOnly: true))
                if let tracer = traced?.tracerPID, processes[tracer] != nil { tracers.append((tracer, pid)) }
            }
        }
        for (tracer, tracee) in tracers {
            guard let process = processes[tracer] else { continue }
            scan.records.append(FoundRecords.syscall(process, .ptrace, args: [16, Int64(tracee)]))
        }
        return scan
    }

    /// `/proc/PID`, or a live thread's directory when the main thread has exited (a
    /// zombie leader keeps the process but shows nothing of it).
    private func liveTaskDirectory(of pid: Int32) -> String {
        let base = "\(procRoot)/\(pid)"
        guard BoundedFile.readLink(base + "/exe") == nil, BoundedFile.readLink(base + "/cwd") == nil else {
            return base
        }
        for tid in BoundedFile.entries(of: base + "/task") where tid != String(pid) {
            let task = base + "/task/" + tid
            if BoundedFile.readLink(task + "/exe") != nil { return task }
        }
        return base
    }

    /// A descriptor worth a found record.
    enum Found {
        case file(fd: Int32, name: [UInt8], flags: UInt32, file: FileID)
        case socket(fd: Int32, entry: SocketTable.Entry)
    }

    /// Devices every process holds: no evidence, and no record.
    private static let ordinaryDevices: [[UInt8]] = [
        "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full",
    ]
    .map { Array($0.utf8) }

    /// The descriptors at `base` (a process's or a thread's /proc directory) worth a
    /// record, what its standard streams are, and how many it holds.
    private func descriptors(
        of base: String, sockets: SocketTable, mounts: MountDevices, budget: Int
    )
        -> (found: [Found], stdio: UInt32, count: Int, truncated: Bool)
    {
        var found: [Found] = []
        var stdio: UInt32 = 0
        var count = 0
        var devices: [Int: UInt32]?
        for name in BoundedFile.entries(of: base + "/fd") {
            guard let fd = Int32(name) else { continue }
            guard count < budget else { return (found, stdio, count, true) }
            count += 1
            guard let link = BoundedFile.readLink(base + "/fd/" + name) else { continue }
            var type = StdioType.none
            if link.starts(with: "socket:[".utf8) {
                let inode = UInt64(String(decoding: link.dropFirst(8).dropLast(), as: UTF8.self)) ?? 0
                if let entry = sockets.entries[inode] {
                    switch entry.family {
                    case SocketAddress.familyInet: type = .ipv4
                    case SocketAddress.familyInet6: type = .ipv6
                    default: type = .unix
                    }
                    if entry.listening || entry.connected { found.append(.socket(fd: fd, entry: entry)) }
                } else {
                    type = .socket
                }
            } else if link.starts(with: "pipe:[".utf8) {
                type = .pipe
            } else if link.first == UInt8(ascii: "/") {
                var info = stat()
                let isFIFO = stat(base + "/fd/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
                type = isFIFO ? .pipe : (info.st_mode & S_IFMT == S_IFDIR ? .directory : .file)
                if !Self.ordinaryDevices.contains(link) && !link.starts(with: "/dev/pts/".utf8)
                    && !link.starts(with: "/dev/tty".utf8)
                {
                    let info = fdinfo(base + "/fdinfo/" + name)
                    guard info.flags & 0o10000000 == 0 else { continue }  // O_PATH: names a file, reads nothing
                    if devices == nil { devices = mounts.devices(of: base) }
                    let file = FileID(device: devices?[info.mount] ?? 0, inode: info.inode)
                    found.append(.file(fd: fd, name: Self.withoutDeletedMark(link), flags: info.flags, file: file))
                }
            }
            if fd <= 2 {
                var bits = UInt32(type.rawValue)
                if type == .pipe && link.first == UInt8(ascii: "/") {
                    bits |= UInt32(WITNESS_STDIO_NAMED_FIFO.rawValue)
                }
                stdio |= bits << UInt32(8 * fd)
            }
        }
        return (found, stdio, count, false)
    }

    /// Flags (as open(2) took them: O_LARGEFILE, which the kernel adds, taken out), mount and inode.
    private func fdinfo(_ path: String) -> (flags: UInt32, mount: Int, inode: UInt64) {
        var result: (flags: UInt32, mount: Int, inode: UInt64) = (0, 0, 0)
        for line in (BoundedFile.read(path, limit: 4096, regularOnly: true) ?? []).split(separator: 0x0A) {
            let parts = line.split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
            guard parts.count >= 2 else { continue }
            let value = String(decoding: parts[1], as: UTF8.self)
            switch String(decoding: parts[0], as: UTF8.self) {
            case "flags:": result.flags = (UInt32(value, radix: 8) ?? 0) & ~UInt32(0o100000)
            case "mnt_id:": result.mount = Int(value) ?? 0
            case "ino:": result.inode = UInt64(value) ?? 0
            default: break
            }
        }
        return result
    }

    /// The process at `base` as an exec record: its executable as the kernel names it.
    /// nil: no image (a kernel thread, or gone); `.some(nil)`: an image whose name
    /// could not be read (longer than a path may be).
    private func exec(_ base: String, status: Status, statLine: StatLine, stdio: UInt32) -> FoundRecords.Exec?? {
        guard let link = BoundedFile.readLink(base + "/exe") else {
            return errno == ENAMETOOLONG ? .some(nil) : nil
        }
        var exec = FoundRecords.Exec()
        let memfd = link.starts(with: "/memfd:".utf8)
        let deleted = link.count > 10 && link.suffix(10).elementsEqual(" (deleted)".utf8)
        exec.executable = deleted ? Array(link.dropLast(10)) : link
        if memfd { exec.flags |= UInt32(WITNESS_FLAG_EXE_MEMFD.rawValue) }
        if deleted && !memfd { exec.flags |= UInt32(WITNESS_FLAG_EXE_DELETED.rawValue) }
        exec.args = BoundedFile.read(base + "/cmdline", limit: Int(WITNESS_ARGS_MAX) + 1, regularOnly: true) ?? []
        exec.environment = BoundedFile.read(base + "/environ", limit: Int(WITNESS_ENV_MAX) + 1, regularOnly: true) ?? []
        exec.cwd = BoundedFile.readLink(base + "/cwd") ?? []
        exec.loginUID =
            BoundedFile.read(base + "/loginuid", limit: 16, regularOnly: true)
            .flatMap { UInt32(String(decoding: $0, as: UTF8.self)) } ?? .max
        exec.tty = UInt32(bitPattern: statLine.tty)
        exec.sessionID = UInt32(bitPattern: statLine.session)
        exec.vpid = UInt32(bitPattern: status.namespacePID)
        exec.namespaceProcessGroupID = UInt32(bitPattern: status.namespaceProcessGroup)
        exec.capabilities = (status.effective, status.permitted, status.inheritable)
        exec.stdio = stdio
        var info = stat()
        if stat(base + "/exe", &info) == 0 {
            exec.file = FileID(device: Self.kernelDevice(UInt64(info.st_dev)), inode: UInt64(info.st_ino))
            exec.changeTime = UInt64(info.st_ctim.tv_sec) * 1_000_000_000 + UInt64(info.st_ctim.tv_nsec)
        }
        return exec
    }

    /// stat's st_dev as the kernel numbers devices inside (major << 20 | minor).
    static func kernelDevice(_ encoded: UInt64) -> UInt32 {
        let major = (encoded >> 8) & 0xFFF
        let minor = (encoded & 0xFF) | ((encoded >> 12) & 0xFFF00)
        return UInt32(truncatingIfNeeded: major << 20 | minor)
    }

    private static func chomp(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == 0x0A ? Array(bytes.dropLast()) : bytes
    }

    private static func withoutDeletedMark(_ link: [UInt8]) -> [UInt8] {
        link.count > 10 && link.suffix(10).elementsEqual(" (deleted)".utf8) ? Array(link.dropLast(10)) : link
    }

    /// The fields of /proc/PID/status a found record needs.
    struct Status {
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var tracerPID: Int32 = 0
        var namespacePID: Int32 = 0
        var namespaceProcessGroup: Int32 = 0
        var effective: UInt64 = 0
        var permitted: UInt64 = 0
        var inheritable: UInt64 = 0

        init?(_ text: [UInt8]?) {
            guard let text else { return nil }
            for line in text.split(separator: 0x0A) {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let key = String(decoding: line[..<colon], as: UTF8.self)
                let values = line[(colon + 1)...].split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
                    .map { String(decoding: $0, as: UTF8.self) }
                switch key {
                case "Uid": uid = values.first.flatMap { UInt32($0) } ?? 0
                case "Gid": gid = values.first.flatMap { UInt32($0) } ?? 0
                case "TracerPid": tracerPID = values.first.flatMap { Int32($0) } ?? 0
                case "NSpid": namespacePID = values.last.flatMap { Int32($0) } ?? 0
                case "NSpgid": namespaceProcessGroup = values.last.flatMap { Int32($0) } ?? 0
                case "CapEff": effective = values.first.flatMap { UInt64($0, radix: 16) } ?? 0
                case "CapPrm": permitted = values.first.flatMap { UInt64($0, radix: 16) } ?? 0
                case "CapInh": inheritable = values.first.flatMap { UInt64($0, radix: 16) } ?? 0
                default: break
                }
            }
        }
    }

    /// Fields of /proc/PID/stat after the comm (which may hold anything up to the last ')').
    struct StatLine {
        var ppid: Int32
        var session: Int32
        var tty: Int32

        init?(_ text: [UInt8]?) {
            guard let text, let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            let fields = text[(close + 1)...].split(separator: UInt8(ascii: " ")).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard fields.count > 4, let ppid = Int32(fields[1]) else { return nil }
            self.ppid = ppid
            session = Int32(fields[3]) ?? 0
            tty = Int32(fields[4]) ?? 0
        }
    }
}

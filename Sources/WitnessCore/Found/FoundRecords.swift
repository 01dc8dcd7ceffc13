import CBPF

/// Records for found state, in the kernel's own layout (bpf/witness_event.h), so that
/// a process found running presents as its exec, a descriptor found open as its open,
/// a socket as its connect or listen — and the pipeline, the rules, the profile and a
/// recording take them exactly as they take live ones. Each carries
/// `WITNESS_FLAG_FOUND`: made by the agent from what it read, not by a syscall.
package enum FoundRecords {
    /// Who a found record is about.
    package struct Process {
        package var pid: Int32
        package var ppid: Int32
        package var uid: UInt32
        package var gid: UInt32
        package var comm: [UInt8]
        package var cgroupID: UInt64
        package var subjects: UInt64
        package var bootTime: UInt64

        package init(
            pid: Int32, ppid: Int32, uid: UInt32, gid: UInt32, comm: [UInt8], cgroupID: UInt64, subjects: UInt64,
            bootTime: UInt64
        ) {
            self.pid = pid
            self.ppid = ppid
            self.uid = uid
            self.gid = gid
            self.comm = comm
            self.cgroupID = cgroupID
            self.subjects = subjects
            self.bootTime = bootTime
        }
    }

    static func header(
        _ process: Process, kind: witness_event_kind, syscall: UInt16, size: Int, result: Int64, flags: UInt32
    ) -> witness_event_header {
        var header = witness_event_header()
        header.kind = UInt16(kind.rawValue)
        header.syscall = syscall
        header.size = UInt32(size)
        header.timestamp_ns = process.bootTime
        header.subjects = process.subjects
        header.cgroup_id = process.cgroupID
        header.result = result
        header.pid = UInt32(bitPattern: process.pid)
        header.tid = UInt32(bitPattern: process.pid)
        header.ppid = UInt32(bitPattern: process.ppid)
        header.uid = process.uid
        header.gid = process.gid
        header.flags = flags | UInt32(WITNESS_FLAG_FOUND.rawValue)
        withUnsafeMutableBytes(of: &header.comm) { raw in
            for (index, byte) in process.comm.prefix(Int(WITNESS_COMM_LEN) - 1).enumerated() { raw[index] = byte }
        }
        return header
    }

    /// What an exec record holds beyond its header.
    package struct Exec {
        package var executable: [UInt8] = []
        package var args: [UInt8] = []
        package var cwd: [UInt8] = []
        package var environment: [UInt8] = []
        package var loginUID: UInt32 = .max
        package var tty: UInt32 = 0
        package var vpid: UInt32 = 0
        var sessionID: UInt32 = 0
        var namespaceProcessGroupID: UInt32 = 0
        package var capabilities: (effective: UInt64, permitted: UInt64, inheritable: UInt64) = (0, 0, 0)
        package var file = FileID.none
        package var changeTime: UInt64 = 0
        package var stdio: UInt32 = 0
        package var flags: UInt32 = 0

        package init() {}
    }

    /// The process as the exec that made its image: named by the kernel's view of
    /// its executable, with its arguments, working directory and environment.
    package static func exec(_ process: Process, _ exec: Exec) -> [UInt8] {
        var flags = exec.flags
        let path = Array(exec.executable.prefix(Int(WITNESS_PATH_MAX)))
        let args = Array(exec.args.prefix(Int(WITNESS_ARGS_MAX)))
        if args.count < exec.args.count { flags |= UInt32(WITNESS_FLAG_ARGS_TRUNCATED.rawValue) }
        let environment = Array(exec.environment.prefix(Int(WITNESS_ENV_MAX)))
        if environment.count < exec.environment.count { flags |= UInt32(WITNESS_FLAG_ENV_TRUNCATED.rawValue) }
        let cwd = Array(exec.cwd.prefix(Int(WITNESS_PATH_MAX)))
        var event = witness_exec_event()
        let size = MemoryLayout<witness_exec_event>.size + 2 * path.count + args.count + cwd.count + environment.count
        event.header = header(
            process, kind: WITNESS_EVENT_EXEC, syscall: UInt16(WITNESS_SYS_EXECVE.rawValue),
            size: size, result: 0, flags: flags)
        event.filename_len = UInt32(path.count)
        event.args_len = UInt32(args.count)
        event.dir_len = UInt32(cwd.count)
        event.loginuid = exec.loginUID
        event.tty = exec.tty
        event.vpid = exec.vpid
        event.cap_effective = exec.capabilities.effective
        event.cap_permitted = exec.capabilities.permitted
        event.cap_inheritable = exec.capabilities.inheritable
        event.exe_len = UInt32(path.count)
        event.exe_dev = exec.file.device
        event.exe_ino = exec.file.inode
        event.stdio = exec.stdio
        event.env_len = UInt32(environment.count)
        event.sid = exec.sessionID
        event.vpgid = exec.namespaceProcessGroupID
        event.exe_ctime = exec.changeTime
        return withUnsafeBytes(of: event) { Array($0) } + path + args + cwd + path + environment
    }

    /// A descriptor `fd` found open on the file `name`, with the flags it was opened with.
    package static func open(_ process: Process, fd: Int32, name: [UInt8], flags: UInt32, file: FileID) -> [UInt8] {
        let path = Array(name.prefix(Int(WITNESS_PATH_MAX)))
        var event = witness_open_event()
        let size = MemoryLayout<witness_open_event>.size + 2 * path.count
        event.header = header(
            process, kind: WITNESS_EVENT_OPEN, syscall: UInt16(WITNESS_SYS_OPENAT.rawValue),
            size: size, result: Int64(fd), flags: 0)
        event.dirfd = -100  // AT_FDCWD: the name is absolute
        event.open_flags = flags
        event.path_len = UInt32(path.count)
        event.dir_len = 0
        event.resolved_len = UInt32(path.count)
        event.file_dev = file.device
        event.file_ino = file.inode
        return withUnsafeBytes(of: event) { Array($0) } + path + path
    }

    /// A socket found open: connected to `remote` (a connect), or listening (`remote`
    /// empty for an IP listener, the bound name for a unix one).
    package static func socket(
        _ process: Process, fd: Int32, listening: Bool, remote: [UInt8],
        local: (family: UInt16, address: [UInt8], port: UInt16)?,
        transport: UInt16
    ) -> [UInt8] {
        var event = witness_connect_event()
        let syscall = listening ? UInt16(WITNESS_SYS_LISTEN.rawValue) : UInt16(WITNESS_SYS_CONNECT.rawValue)
        event.header = header(
            process, kind: WITNESS_EVENT_CONNECT, syscall: syscall,
            size: MemoryLayout<witness_connect_event>.size, result: 0,
            flags: local == nil ? 0 : UInt32(WITNESS_FLAG_LOCAL_ADDR.rawValue))
        event.fd = fd
        let address = Array(remote.prefix(Int(WITNESS_SOCKADDR_MAX)))
        event.addr_len = UInt32(address.count)
        withUnsafeMutableBytes(of: &event.addr) { $0.copyBytes(from: address) }
        if let local {
            event.local_family = local.family
            event.local_port = local.port
            withUnsafeMutableBytes(of: &event.local_addr) { $0.copyBytes(from: local.address.prefix(16)) }
        }
        event.protocol = transport
        return withUnsafeBytes(of: event) { Array($0) }
    }

    /// A generic syscall record (a found tracer: ptrace attach), arguments as numbers.
    package static func syscall(_ process: Process, _ syscall: Syscall, args: [Int64]) -> [UInt8] {
        var event = witness_syscall_event()
        event.header = header(
            process, kind: WITNESS_EVENT_SYSCALL, syscall: syscall.rawValue,
            size: MemoryLayout<witness_syscall_event>.size, result: 0, flags: 0)
        withUnsafeMutableBytes(of: &event.args) { raw in
            for (index, value) in args.prefix(6).enumerated() {
                raw.storeBytes(of: value, toByteOffset: index * 8, as: Int64.self)
            }
        }
        return withUnsafeBytes(of: event) { Array($0) }
    }
}

import CBPF
import WitnessCore

/// Builds ring buffer records byte for byte, using the C layout from CBPF, so the
/// decoder is tested on exactly what the kernel programs write.
package struct RecordFixture {
    package var bytes: [UInt8]

    package init(bytes: [UInt8]) { self.bytes = bytes }

    package static func header(
        kind: witness_event_kind, syscall: witness_syscall, size: Int, result: Int64 = 0, pid: UInt32 = 4242,
        flags: UInt32 = 0, comm: String = "cat", subjects: UInt64 = 1
    ) -> witness_event_header {
        var header = witness_event_header()
        header.kind = UInt16(kind.rawValue)
        header.syscall = UInt16(syscall.rawValue)
        header.size = UInt32(size)
        header.timestamp_ns = 1_000_000_000
        header.subjects = subjects
        header.cgroup_id = 77
        header.result = result
        header.pid = pid
        header.tid = pid + 1
        header.ppid = 1
        header.uid = 1000
        header.gid = 100
        header.flags = flags
        withUnsafeMutableBytes(of: &header.comm) { raw in
            for (index, byte) in comm.utf8.prefix(15).enumerated() { raw[index] = byte }
        }
        return header
    }

    package static func open(
        path: [UInt8], directory: [UInt8] = [], dirfd: Int32 = -100, flags: UInt32 = 0, result: Int64 = 3,
        eventFlags: UInt32 = 0, resolved: [UInt8] = [], comm: String = "cat"
    ) -> RecordFixture {
        var event = witness_open_event()
        let size = MemoryLayout<witness_open_event>.size + path.count + directory.count + resolved.count
        event.header = header(
            kind: WITNESS_EVENT_OPEN, syscall: WITNESS_SYS_OPENAT, size: size, result: result, flags: eventFlags,
            comm: comm)
        event.dirfd = dirfd
        event.open_flags = flags
        event.mode = 0o644
        event.path_len = UInt32(path.count)
        event.dir_len = UInt32(directory.count)
        event.resolved_len = UInt32(resolved.count)
        return RecordFixture(bytes: withUnsafeBytes(of: event) { Array($0) } + path + directory + resolved)
    }

    package static func exec(filename: String, argv: [String], result: Int64 = 0) -> RecordFixture {
        var event = witness_exec_event()
        let args: [UInt8] = argv.flatMap { Array($0.utf8) + [UInt8(0)] }
        let name = Array(filename.utf8)
        event.header = header(
            kind: WITNESS_EVENT_EXEC, syscall: WITNESS_SYS_EXECVE,
            size: MemoryLayout<witness_exec_event>.size + name.count + args.count, result: result)
        event.filename_len = UInt32(name.count)
        event.args_len = UInt32(args.count)
        return RecordFixture(bytes: withUnsafeBytes(of: event) { Array($0) } + name + args)
    }

    package static func syscall(
        _ syscall: Syscall, args: [Int64], path: [UInt8] = [], path2: [UInt8] = [], result: Int64 = 0,
        socketFamily: UInt16 = 0, uid: UInt32 = 1000, pid: UInt32 = 4242, comm: String = "cat",
        directory: [UInt8] = [], directory2: [UInt8] = []
    ) -> RecordFixture {
        var event = witness_syscall_event()
        event.header = header(
            kind: WITNESS_EVENT_SYSCALL, syscall: witness_syscall(rawValue: UInt32(syscall.rawValue)),
            size: MemoryLayout<witness_syscall_event>.size + path.count + path2.count + directory.count
                + directory2.count,
            result: result, pid: pid,
            comm: comm)
        event.header.uid = uid
        withUnsafeMutableBytes(of: &event.args) { raw in
            for (index, value) in args.prefix(6).enumerated() {
                raw.storeBytes(of: value, toByteOffset: index * 8, as: Int64.self)
            }
        }
        event.path_len = UInt32(path.count)
        event.path2_len = UInt32(path2.count)
        event.dir_len = UInt32(directory.count)
        event.dir2_len = UInt32(directory2.count)
        event.fd_family = socketFamily
        return RecordFixture(bytes: withUnsafeBytes(of: event) { Array($0) } + path + path2 + directory + directory2)
    }

    package static func connect(
        sockaddr: [UInt8], local: [UInt8]? = nil, localPort: UInt16 = 0, result: Int64 = 0
    ) -> RecordFixture {
        var event = witness_connect_event()
        event.header = header(
            kind: WITNESS_EVENT_CONNECT, syscall: WITNESS_SYS_CONNECT, size: MemoryLayout<witness_connect_event>.size,
            result: result, flags: local == nil ? 0 : UInt32(WITNESS_FLAG_LOCAL_ADDR.rawValue))
        event.fd = 5
        event.addr_len = UInt32(sockaddr.count)
        event.local_port = localPort
        withUnsafeMutableBytes(of: &event.addr) { raw in
            for (index, byte) in sockaddr.enumerated() { raw[index] = byte }
        }
        if let local {
            withUnsafeMutableBytes(of: &event.local_addr) { raw in
                for (index, byte) in local.enumerated() { raw[index] = byte }
            }
        }
        return RecordFixture(bytes: withUnsafeBytes(of: event) { Array($0) })
    }

    package static func sockaddrIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) -> [UInt8] {
        [2, 0, UInt8(port >> 8), UInt8(port & 0xFF), a, b, c, d] + [UInt8](repeating: 0, count: 8)
    }

    package static func sockaddrIPv6(_ address: [UInt8], port: UInt16) -> [UInt8] {
        [10, 0, UInt8(port >> 8), UInt8(port & 0xFF), 0, 0, 0, 0] + address + [0, 0, 0, 0]
    }

    package func withEvent<T>(_ body: (KernelEvent) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { raw in
            guard let event = try EventDecoder.decode(raw) else { throw FixtureError.noEvent }
            return try body(event)
        }
    }

    /// The record resolved as the pipeline resolves it, against `processes` (the
    /// records given, in a table that reads no /proc).
    package func withResolved<T>(
        processes records: [ProcessRecord] = [], clock: WallClock = WallClock(offset: 0),
        _ body: (ResolvedEvent) throws -> T
    ) throws -> T {
        let table = ProcessTable(procRoot: "/nonexistent")
        for record in records { table.insert(record) }
        let resolved = ResolvedEvent(processes: table, clock: clock)
        return try withEvent { event in
            resolved.begin(event)
            defer { resolved.end() }
            return try body(resolved)
        }
    }

    package enum FixtureError: Error { case noEvent }
}

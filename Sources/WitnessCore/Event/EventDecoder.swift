import CBPF

/// Why a record could not be decoded. A record that fails is counted as lost by the
/// agent; the kernel and the agent share one layout header, so this means a bug or
/// a corrupted buffer, never a normal condition.
package enum EventDecodingError: Error, Equatable, Sendable {
    case tooShort(size: Int)
    case sizeMismatch(declared: Int, available: Int)
    case unknownKind(UInt16)
    case badLength(field: String)
}

/// Turns one ring buffer record into a `KernelEvent`, checking every length against
/// the record's bounds before reading. Offsets come from the C layout imported
/// through CBPF, never from numbers written again in Swift.
package enum EventDecoder {
    static let headerSize = MemoryLayout<witness_event_header>.size
    static let commOffset = MemoryLayout<witness_event_header>.offset(of: \.comm)!
    static let execSize = MemoryLayout<witness_exec_event>.size
    static let openSize = MemoryLayout<witness_open_event>.size
    static let forkSize = MemoryLayout<witness_fork_event>.size
    static let connectSize = MemoryLayout<witness_connect_event>.size
    static let connectAddressOffset = MemoryLayout<witness_connect_event>.offset(of: \.addr)!
    static let connectLocalOffset = MemoryLayout<witness_connect_event>.offset(of: \.local_addr)!
    static let syscallSize = MemoryLayout<witness_syscall_event>.size

    /// What a record about the windows rather than a syscall says: an armed window's
    /// cgroup was created (ACTIVATE), or a process entered a subject from outside
    /// (ENTER). One look at the kind for every other record.
    enum WindowRecord {
        case activation(WindowActivation)
        case entry(SubjectEntry)
        case escape(SubjectEscape)
    }

    /// `record` as a window record, or nil for every other kind.
    static func windowRecord(_ record: UnsafeRawBufferPointer) -> WindowRecord? {
        guard record.count >= headerSize else { return nil }
        let kind = record.loadUnaligned(as: UInt16.self)
        guard
            kind == UInt16(WITNESS_EVENT_ACTIVATE.rawValue) || kind == UInt16(WITNESS_EVENT_ENTER.rawValue)
                || kind == UInt16(WITNESS_EVENT_ESCAPE.rawValue)
        else { return nil }
        let raw = record.loadUnaligned(as: witness_event_header.self)
        if kind == UInt16(WITNESS_EVENT_ACTIVATE.rawValue) {
            return .activation(
                WindowActivation(subjects: raw.subjects, cgroupID: raw.cgroup_id, bootTime: raw.timestamp_ns))
        }
        guard raw.result > 0, raw.result <= Int64(Int32.max) else { return nil }
        if kind == UInt16(WITNESS_EVENT_ESCAPE.rawValue) {
            return .escape(
                SubjectEscape(
                    subjects: raw.subjects, cgroupID: raw.cgroup_id, pid: Int32(raw.result),
                    mover: Int32(bitPattern: raw.pid), bootTime: raw.timestamp_ns))
        }
        return .entry(
            SubjectEntry(
                subjects: raw.subjects, cgroupID: raw.cgroup_id, pid: Int32(raw.result),
                mover: Int32(bitPattern: raw.pid), bySubject: raw.flags & UInt32(WITNESS_FLAG_BY_SUBJECT.rawValue) != 0,
                bootTime: raw.timestamp_ns)
        )
    }

    /// Decodes `record`; returns nil for records that carry no event (wake-ups, and
    /// window records: `windowRecord(_:)`).
    package static func decode(_ record: UnsafeRawBufferPointer) throws(EventDecodingError) -> KernelEvent? {
        guard record.count >= MemoryLayout<witness_wake_record>.size else {
            throw .tooShort(size: record.count)
        }
        let kindValue = record.loadUnaligned(as: UInt16.self)
        if kindValue == UInt16(WITNESS_EVENT_WAKE.rawValue) || kindValue == UInt16(WITNESS_EVENT_ACTIVATE.rawValue)
            || kindValue == UInt16(WITNESS_EVENT_ENTER.rawValue) || kindValue == UInt16(WITNESS_EVENT_ESCAPE.rawValue)
        {
            return nil
        }
        guard record.count >= headerSize else { throw .tooShort(size: record.count) }
        let raw = record.loadUnaligned(as: witness_event_header.self)
        let declared = Int(raw.size)
        guard declared >= headerSize, declared <= record.count else {
            throw .sizeMismatch(declared: declared, available: record.count)
        }
        // A kernel result is a value or -errno (-4095 at most): anything below comes
        // from no kernel (a crafted recording), and negating it could trap.
        guard raw.result >= -4095 else { throw .badLength(field: "result") }
        let bytes = UnsafeRawBufferPointer(rebasing: record[..<declared])
        guard let kind = EventKind(rawValue: raw.kind) else { throw .unknownKind(raw.kind) }

        var header = headerFields(raw, bytes, kind: kind)

        switch kind {
        case .syscall:
            return try decodeSyscall(bytes, header: header)
        case .exit:
            return KernelEvent(header: header, payload: .exit)
        case .fork:
            try require(bytes, forkSize, "fork")
            let fork = bytes.loadUnaligned(as: witness_fork_event.self)
            return KernelEvent(
                header: header, payload: .fork(childPID: Int32(bitPattern: fork.child_pid), flags: fork.clone_flags))
        case .exec:
            try require(bytes, execSize, "exec")
            let exec = bytes.loadUnaligned(as: witness_exec_event.self)
            let filename = try slice(bytes, from: execSize, count: Int(exec.filename_len), "filename")
            let args = try slice(bytes, from: execSize + filename.count, count: Int(exec.args_len), "args")
            let directory = try slice(
                bytes, from: execSize + filename.count + args.count, count: Int(exec.dir_len), "directory")
            let executable = try slice(
                bytes, from: execSize + filename.count + args.count + directory.count, count: Int(exec.exe_len),
                "executable")
            let environment = try slice(
                bytes, from: execSize + filename.count + args.count + directory.count + executable.count,
                count: Int(exec.env_len), "environment")
            var identity = ExecIdentity(
                loginUID: exec.loginuid, tty: exec.tty, capabilities: exec.cap_effective, vpid: exec.vpid,
                stdio: exec.stdio)
            identity.permitted = exec.cap_permitted
            identity.inheritable = exec.cap_inheritable
            identity.sessionID = exec.sid
            identity.namespaceProcessGroupID = exec.vpgid
            identity.changeTime = exec.exe_ctime
            header.file = FileID(device: exec.exe_dev, inode: exec.exe_ino)
            return KernelEvent(
                header: header,
                payload: .exec(
                    filename: filename, args: args, directory: directory, identity: identity, executable: executable,
                    environment: environment))
        case .open:
            try require(bytes, openSize, "open")
            let open = bytes.loadUnaligned(as: witness_open_event.self)
            let path = try slice(bytes, from: openSize, count: Int(open.path_len), "path")
            let directory = try slice(bytes, from: openSize + path.count, count: Int(open.dir_len), "directory")
            let resolved = try slice(
                bytes, from: openSize + path.count + directory.count, count: Int(open.resolved_len), "resolved")
            let named = resolved.isEmpty ? (path, directory) : (resolved, UnsafeRawBufferPointer(start: nil, count: 0))
            header.file = FileID(device: open.file_dev, inode: open.file_ino)
            return KernelEvent(
                header: header,
                payload: .open(
                    dirfd: open.dirfd, flags: open.open_flags, mode: open.mode, path: named.0, directory: named.1,
                    raw: path))
        case .connect:
            try require(bytes, connectSize, "connect")
            let connect = bytes.loadUnaligned(as: witness_connect_event.self)
            let addressLength = min(Int(connect.addr_len), Int(WITNESS_SOCKADDR_MAX))
            let remote = SocketAddress(
                sockaddr: UnsafeRawBufferPointer(
                    rebasing: bytes[connectAddressOffset..<connectAddressOffset + addressLength]))
            var local: SocketAddress?
            if header.flags.contains(.localAddress) {
                // The socket's own family; the remote's for a kernel that did not say.
                var isIPv6 = connect.local_family == UInt16(SocketAddress.familyInet6)
                if connect.local_family == 0, case .ipv6 = remote { isIPv6 = true }
                local = SocketAddress.local(
                    ipv6: isIPv6,
                    bytes: UnsafeRawBufferPointer(rebasing: bytes[connectLocalOffset..<connectLocalOffset + 16]),
                    port: connect.local_port)
            }
            return KernelEvent(
                header: header,
                payload: .connect(
                    fd: connect.fd, remote: remote, local: local, transport: Transport(number: connect.protocol)))
        }
    }

    private static func headerFields(
        _ raw: witness_event_header, _ bytes: UnsafeRawBufferPointer, kind: EventKind
    )
        -> EventHeader
    {
        let commField = UnsafeRawBufferPointer(rebasing: bytes[commOffset..<commOffset + Int(WITNESS_COMM_LEN)])
        let commEnd = commField.firstIndex(of: 0) ?? commField.endIndex
        return EventHeader(
            kind: kind,
            syscall: Syscall(rawValue: raw.syscall) ?? .none,
            timestamp: raw.timestamp_ns,
            subjects: raw.subjects,
            cgroupID: raw.cgroup_id,
            result: raw.result,
            pid: Int32(bitPattern: raw.pid),
            tid: Int32(bitPattern: raw.tid),
            ppid: Int32(bitPattern: raw.ppid),
            uid: raw.uid,
            gid: raw.gid,
            flags: EventFlags(rawValue: raw.flags),
            comm: UnsafeRawBufferPointer(rebasing: commField[..<commEnd]))
    }

    private static func decodeSyscall(
        _ bytes: UnsafeRawBufferPointer, header: EventHeader
    ) throws(EventDecodingError)
        -> KernelEvent
    {
        var header = header
        try require(bytes, syscallSize, "syscall")
        guard SyscallTable.shape(of: header.syscall) != nil else { throw .unknownKind(header.syscall.rawValue) }
        let event = bytes.loadUnaligned(as: witness_syscall_event.self)
        var offset = syscallSize
        let path = try slice(bytes, from: offset, count: Int(event.path_len), "path")
        offset += path.count
        let path2 = try slice(bytes, from: offset, count: Int(event.path2_len), "path2")
        offset += path2.count
        let directory = try slice(bytes, from: offset, count: Int(event.dir_len), "directory")
        offset += directory.count
        let directory2 = try slice(bytes, from: offset, count: Int(event.dir2_len), "directory2")
        let record = SyscallRecord(
            arguments: event.args, path: path, path2: path2, directory: directory, directory2: directory2,
            socketFamily: event.fd_family, socketProtocol: event.fd_protocol)
        header.file = FileID(device: event.file_dev, inode: event.file_ino)
        return KernelEvent(header: header, payload: .syscall(record))
    }

    private static func require(_ bytes: UnsafeRawBufferPointer, _ size: Int, _ what: String) throws(EventDecodingError)
    {
        guard bytes.count >= size else { throw .badLength(field: what) }
    }

    private static func slice(
        _ bytes: UnsafeRawBufferPointer, from start: Int, count: Int, _ field: String
    ) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        guard count >= 0, start + count <= bytes.count else { throw .badLength(field: field) }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + count])
    }
}

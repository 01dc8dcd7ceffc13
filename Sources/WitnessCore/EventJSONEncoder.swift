import Glibc

/// Encodes a witnessed event as one line of Falco-shaped JSON:
/// `{"time":…,"source":"syscall","output":…,"output_fields":{…},"hostname":…}`, with
/// Falco's field names in `output_fields`, plus `rule`/`priority`/`tags` when a rule
/// fired. Writes into a reusable `JSONWriter`: no allocation per event.
package struct EventJSONEncoder {
    package let hostname: [UInt8]
    package let clock: WallClock
    /// Labels of subject slots, written in `subjects`.
    package var subjectLabels = SubjectLabels()
    /// Container and pod of the event's cgroup; nil: every event is `host`.
    package var identities: CgroupIdentities?

    package init(hostname: [UInt8], clock: WallClock) {
        self.hostname = hostname
        self.clock = clock
    }

    /// Appends the line for `event` (and its newline) to `writer`.
    /// - Parameters:
    ///   - process: the process that made the event, as the process table knows it.
    ///   - parent: its parent, for proc.pname.
    ///   - mark: the most severe rule the event fired, written as `rule` and `priority`.
    package func encode(
        _ event: KernelEvent, process: ProcessRecord?, parent: ProcessRecord?, mark: AlertMark? = nil,
        into writer: inout JSONWriter
    ) {
        let header = event.header
        let epoch = clock.epochNanoseconds(boot: header.timestamp)
        writer.byte(UInt8(ascii: "{"))
        writer.key("time")
        WallClock.appendQuotedRFC3339(epoch, to: &writer)
        if let mark {
            writer.key("rule")
            writer.string(mark.rule)
            writer.raw(",")
            writer.key("priority")
            writer.string(mark.priority)
            writer.raw(",")
            if mark.count > 1 {
                writer.key("rulesFired")
                writer.integer(mark.count)
                writer.raw(",")
            }
        }
        writer.key("source")
        writer.raw("\"syscall\",")
        writer.key("output")
        writer.byte(UInt8(ascii: "\""))
        appendSummary(event, process: process, to: &writer)
        writer.raw("\",")

        writer.key("output_fields")
        writer.byte(UInt8(ascii: "{"))
        writer.key("evt.time")
        writer.integer(epoch)
        writer.raw(",")
        writer.key("evt.type")
        writer.string(header.syscall.eventType)
        if !header.flags.isDisjoint(with: [.compat, .x32, .ioUring]) {
            writer.raw(",")
            writer.key("evt.gate")
            writer.string(header.flags.gate)
        }
        if header.kind != .exit {
            writer.raw(",")
            writer.key("evt.res")
            appendResult(header.result, to: &writer)
            writer.raw(",")
            writer.key("evt.rawres")
            writer.integer(header.result)
        }
        appendProcessFields(header, process: process, parent: parent, to: &writer)
        appendPayloadFields(event, to: &writer)
        let identity = identities?.identity(of: header.cgroupID)
        writer.raw(",")
        writer.key("container.id")
        if let container = identity?.containerID { writer.string(container) } else { writer.raw("\"host\"") }
        if let pod = identity?.podUID {
            writer.raw(",")
            writer.key("k8s.pod.uid")
            writer.string(pod)
            if let known = identities?.pod(of: header.cgroupID) {
                writer.raw(",")
                writer.key("k8s.ns.name")
                writer.string(known.pod.namespace)
                writer.raw(",")
                writer.key("k8s.pod.name")
                writer.string(known.pod.name)
                if let container = known.container {
                    writer.raw(",")
                    writer.key("container.name")
                    writer.string(container.name)
                }
            }
        }
        writer.byte(UInt8(ascii: "}"))

        appendTruncation(header.flags, to: &writer)
        writer.raw(",")
        subjectLabels.append(header.subjects, to: &writer)
        writer.raw(",")
        writer.key("hostname")
        writer.string(hostname)
        writer.raw("}\n")
    }

    // MARK: Fields

    private func appendResult(_ result: Int64, to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "\""))
        ErrnoNames.appendResult(result, to: &writer)
        writer.byte(UInt8(ascii: "\""))
    }

    private func appendProcessFields(
        _ header: EventHeader, process: ProcessRecord?, parent: ProcessRecord?, to writer: inout JSONWriter
    ) {
        writer.raw(",")
        writer.key("proc.pid")
        writer.integer(header.pid)
        writer.raw(",")
        writer.key("thread.tid")
        writer.integer(header.tid)
        writer.raw(",")
        writer.key("proc.ppid")
        writer.integer(header.ppid)
        writer.raw(",")
        writer.key("proc.name")
        writer.string(header.comm)
        writer.raw(",")
        writer.key("proc.exepath")
        if let process, !process.exePath.isEmpty { writer.string(process.exePath) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("proc.exe")
        if let process, !process.argv.isEmpty {
            process.argv.withUnsafeBytes { writer.string(UnsafeRawBufferPointer(rebasing: $0[..<process.exe.count])) }
        } else {
            writer.raw("null")
        }
        writer.raw(",")
        writer.key("proc.cmdline")
        writer.byte(UInt8(ascii: "\""))
        Self.appendCommandLine(name: header.comm, process: process, to: &writer)
        writer.raw("\",")
        writer.key("proc.pname")
        if let parent { writer.string(parent.name) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("user.uid")
        writer.integer(header.uid)
        writer.raw(",")
        writer.key("group.gid")
        writer.integer(header.gid)
    }

    /// Falco's proc.cmdline: the name, then the arguments after argv[0], space-separated.
    static func appendCommandLine(name: UnsafeRawBufferPointer, process: ProcessRecord?, to writer: inout JSONWriter) {
        writer.escaped(UnsafeBufferPointer(start: name.baseAddress?.assumingMemoryBound(to: UInt8.self), count: name.count))
        guard let process else { return }
        let args = process.args
        guard !args.isEmpty else { return }
        writer.byte(UInt8(ascii: " "))
        args.withUnsafeBufferPointer { writer.escapedJoined($0) }
    }

    private func appendPayloadFields(_ event: KernelEvent, to writer: inout JSONWriter) {
        let header = event.header
        switch event.payload {
        case let .exec(filename, args, _, identity, _, _):
            writer.raw(",")
            writer.key("user.loginuid")
            writer.integer(identity.loginUID == .max ? -1 : Int64(identity.loginUID))
            writer.raw(",")
            writer.key("evt.arg.filename")
            writer.string(filename)
            writer.raw(",")
            writer.key("proc.args")
            writer.byte(UInt8(ascii: "\""))
            if let end = args.firstIndex(of: 0) {
                writer.escapedJoined(EventTextFormatter.buffer(UnsafeRawBufferPointer(rebasing: args[(end + 1)...])))
            }
            writer.byte(UInt8(ascii: "\""))
        case .exit:
            let status = header.result
            writer.raw(",")
            writer.key("evt.arg.status")
            writer.integer((status >> 8) & 0xFF)
            if status & 0x7F != 0 {
                writer.raw(",")
                writer.key("evt.arg.signal")
                writer.integer(status & 0x7F)
            }
        case let .fork(childPID, flags):
            writer.raw(",")
            writer.key("evt.arg.child_pid")
            writer.integer(childPID)
            if header.syscall == .clone || header.syscall == .clone3 {
                writer.raw(",")
                writer.key("evt.arg.flags")
                writer.byte(UInt8(ascii: "\""))
                SyscallFormatter.appendCloneFlags(flags, to: &writer)
                writer.byte(UInt8(ascii: "\""))
            }
        case let .open(dirfd, flags, mode, path, directory, raw):
            writer.raw(",")
            writer.key("fd.name")
            writer.byte(UInt8(ascii: "\""))
            PathResolver.appendJoined(directory: directory, path: path, to: &writer)
            writer.raw("\",")
            let rawBytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            let sameBytes =
                raw.count == path.count
                && (raw.baseAddress == path.baseAddress || memcmp(raw.baseAddress!, path.baseAddress!, raw.count) == 0)
            let shownAsPassed =
                (raw.count == 0 || sameBytes) && (directory.isEmpty || raw.first == UInt8(ascii: "/"))
                && PathResolver.isNormal(rawBytes)
            if !shownAsPassed {
                // The kernel (or normalisation) named the file otherwise than the process did.
                writer.key("fd.nameraw")
                writer.string(raw)
                writer.raw(",")
            }
            writer.key("fd.num")
            writer.integer(header.result >= 0 ? header.result : -1)
            writer.raw(",")
            writer.key("fd.typechar")
            writer.raw("\"f\",")
            writer.key("evt.arg.flags")
            writer.byte(UInt8(ascii: "\""))
            OpenFlags.append(flags, to: &writer)
            writer.raw("\",")
            writer.key("evt.arg.mode")
            writer.byte(UInt8(ascii: "\""))
            SyscallFormatter.appendMode(mode, to: &writer)
            writer.byte(UInt8(ascii: "\""))
            writer.raw(",")
            writer.key("evt.arg.dirfd")
            writer.integer(dirfd)
        case let .syscall(record):
            appendSyscallFields(header.syscall, record, to: &writer)
        case let .connect(fd, remote, local, transport):
            writer.raw(",")
            writer.key("fd.num")
            writer.integer(fd)
            if let name = transport.name {
                writer.raw(",")
                writer.key("fd.l4proto")
                writer.string(name)
            }
            writer.raw(",")
            writer.key("fd.typechar")
            writer.string(remote.typeChar)
            writer.raw(",")
            writer.key("fd.name")
            writer.byte(UInt8(ascii: "\""))
            if case let .unix(path) = remote {
                appendUnixPath(path, to: &writer)
            } else {
                if let local {
                    SocketAddressFormatter.append(local, to: &writer)
                    writer.raw("->")
                }
                SocketAddressFormatter.append(remote, to: &writer)
            }
            writer.byte(UInt8(ascii: "\""))
            if remote.port != nil {
                writer.raw(",")
                writer.key("fd.connected")
                writer.boolean(header.result == 0)
                writer.raw(",")
                writer.key("fd.sip")
                writer.byte(UInt8(ascii: "\""))
                SocketAddressFormatter.appendHost(remote, to: &writer)
                writer.raw("\",")
                writer.key("fd.sport")
                writer.integer(remote.port ?? 0)
                if let local {
                    writer.raw(",")
                    writer.key("fd.cip")
                    writer.byte(UInt8(ascii: "\""))
                    SocketAddressFormatter.appendHost(local, to: &writer)
                    writer.raw("\",")
                    writer.key("fd.cport")
                    writer.integer(local.port ?? 0)
                }
            }
        }
    }

    /// Every named argument as evt.arg.<name>, and fd.name for the first path.
    private func appendSyscallFields(_ syscall: Syscall, _ record: SyscallRecord, to writer: inout JSONWriter) {
        guard let shape = SyscallTable.shape(of: syscall) else { return }
        if record.path.count > 0 || shape.path != nil {
            writer.raw(",")
            writer.key("fd.name")
            writer.byte(UInt8(ascii: "\""))
            PathResolver.appendJoined(directory: record.directory, path: record.path, to: &writer)
            writer.byte(UInt8(ascii: "\""))
        }
        for (index, name) in shape.arguments.enumerated() {
            writer.raw(",\"evt.arg.")
            writer.escaped(name)
            writer.raw("\":\"")
            SyscallFormatter.appendArgument(syscall, shape, record, index, to: &writer)
            writer.byte(UInt8(ascii: "\""))
        }
        if record.socketFamily != 0 {
            writer.raw(",")
            writer.key("fd.type")
            writer.raw(record.socketFamily == 10 ? "\"ipv6\"" : record.socketFamily == 2 ? "\"ipv4\"" : "\"unix\"")
        }
    }

    /// A pathname socket as is; an abstract one (leading NUL) as `@name`, like ss(8).
    private func appendUnixPath(_ path: UnsafeRawBufferPointer, to writer: inout JSONWriter) {
        SocketAddressFormatter.append(.unix(path: path), to: &writer)
    }

    /// Which strings of the event were cut or unreadable, named in `truncated`.
    private static let truncationNames: [(EventFlags, StaticString)] = [
        (.pathTruncated, "path"), (.argsTruncated, "args"), (.addressTruncated, "address"),
        (.pathUnreadable, "path-unreadable"), (.argsUnreadable, "args-unreadable"),
        (.addressUnreadable, "address-unreadable"), (.directoryTruncated, "directory"),
    ]
    private static let truncationFlags = EventFlags(truncationNames.map(\.0))

    private func appendTruncation(_ flags: EventFlags, to writer: inout JSONWriter) {
        guard !flags.isDisjoint(with: Self.truncationFlags) else { return }
        writer.raw(",")
        writer.key("truncated")
        writer.byte(UInt8(ascii: "["))
        var first = true
        for (flag, name) in Self.truncationNames where flags.contains(flag) {
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            writer.string(name)
        }
        writer.byte(UInt8(ascii: "]"))
    }

    /// The `output` text: what happened, to what, with what result, by whom.
    private func appendSummary(_ event: KernelEvent, process: ProcessRecord?, to writer: inout JSONWriter) {
        let header = event.header
        writer.raw(header.syscall.eventType)
        writer.byte(UInt8(ascii: " "))
        switch event.payload {
        case let .exec(filename, _, directory, _, _, _):
            PathResolver.appendJoined(directory: directory, path: filename, to: &writer)
        case let .syscall(record):
            SyscallFormatter.appendSummary(header.syscall, record, to: &writer)
        case .exit:
            writer.raw("status=")
            writer.integer((header.result >> 8) & 0xFF)
        case let .fork(childPID, flags):
            writer.raw("child=")
            writer.integer(childPID)
            if header.syscall == .clone || header.syscall == .clone3 {
                writer.raw(" flags=")
                SyscallFormatter.appendCloneFlags(flags, to: &writer)
            }
        case let .open(_, _, _, path, directory, _):
            PathResolver.appendJoined(directory: directory, path: path, to: &writer)
        case let .connect(_, remote, _, _):
            if case let .unix(path) = remote { appendUnixPath(path, to: &writer) } else { SocketAddressFormatter.append(remote, to: &writer) }
        }
        if header.kind != .exit {
            writer.raw(" res=")
            ErrnoNames.appendResult(header.result, to: &writer)
        }
        writer.raw(" proc=")
        writer.escaped(UnsafeBufferPointer(start: header.comm.baseAddress?.assumingMemoryBound(to: UInt8.self), count: header.comm.count))
        writer.raw(" pid=")
        writer.integer(header.pid)
    }
}

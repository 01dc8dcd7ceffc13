import Glibc

/// Encodes Witness's JSON lines in Falco's shape — an event's own line and a rule's
/// alert line — from the resolved event, whose field catalogue gives every value:
/// `{"time":…,"source":"syscall","output":…,"output_fields":{…},"hostname":…}`, with
/// `rule`/`priority`/`tags` when a rule fired. Writes into a reusable `JSONWriter`:
/// no allocation per event.
package struct EventJSONEncoder {
    package let hostname: [UInt8]
    package let clock: WallClock
    /// The `uuid` of each alert line.
    private var identifiers = LineUUIDs()

    package init(hostname: [UInt8], clock: WallClock) {
        self.hostname = hostname
        self.clock = clock
    }

    /// Appends the line for `event` (and its newline) to `writer`.
    /// - Parameters:
    ///   - labels: how `subjects` names the windows (`WindowSlots.labels`).
    ///   - mark: the most severe rule the event fired, written as `rule` and `priority`.
    package func encode(
        _ event: ResolvedEvent, labels: SubjectLabels, mark: AlertMark? = nil, into writer: inout JSONWriter
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
        appendSummary(event, to: &writer)
        writer.raw("\",")

        writer.key("output_fields")
        writer.byte(UInt8(ascii: "{"))
        writer.key("evt.time")
        writer.integer(epoch)
        Self.always(.evtType, event, &writer)
        if !header.flags.isDisjoint(with: [.compat, .x32, .ioUring]) { Self.always(.evtGate, event, &writer) }
        if header.kind != .exit {
            Self.always(.evtRes, event, &writer)
            Self.always(.evtRawres, event, &writer)
        }
        for id in Self.processFields { Self.always(id, event, &writer) }
        appendPayloadFields(event, to: &writer)
        Self.always(.containerId, event, &writer)
        for id in Self.podFields { Self.known(id, event, &writer) }
        if header.flags.contains(.found) { AlertLine.appendFoundField(to: &writer) }
        writer.byte(UInt8(ascii: "}"))
        if header.flags.contains(.found) { writer.raw(",\"found\":true") }

        appendTruncation(header.flags, to: &writer)
        writer.raw(",")
        labels.append(header.subjects, to: &writer)
        writer.raw(",")
        writer.key("hostname")
        writer.string(hostname)
        writer.raw("}\n")
    }

    /// Appends the alert line of rule `rule` of `classifier` for `event`, in Falco's
    /// alert shape (`AlertLine`): the rule's output and its fields.
    package mutating func encodeAlert(
        _ event: ResolvedEvent, rule: Int, of classifier: any EventClassifier, labels: SubjectLabels,
        into writer: inout JSONWriter
    ) {
        let summary = classifier.rule(rule)
        AlertLine.appendHead(
            epoch: clock.epochNanoseconds(boot: event.header.timestamp), rule: summary.name, priority: summary.priority,
            to: &writer)
        classifier.appendOutput(rule: rule, of: event, to: &writer)
        AlertLine.closeOutput(to: &writer)
        classifier.appendOutputFields(rule: rule, of: event, to: &writer)
        AlertLine.appendTail(
            tags: summary.tags, subjects: event.header.subjects, labels: labels, hostname: hostname,
            identifiers: &identifiers, found: event.header.flags.contains(.found), to: &writer)
    }

    private static let processFields: [FieldID] = [
        .procPid, .threadTid, .procPpid, .procName, .procExepath, .procExe, .procCmdline, .procPname, .userUid,
        .groupGid,
    ]
    private static let podFields: [FieldID] = [.k8sPodUid, .k8sNsName, .k8sPodName, .containerName]
    private static let connectionFields: [FieldID] = [.fdConnected, .fdSip, .fdSport, .fdCip, .fdCport]

    /// `,"name":value` in output_fields, the value from the catalogue: null when it has none.
    private static func always(_ id: FieldID, _ event: ResolvedEvent, _ writer: inout JSONWriter) {
        append(FieldRef(id: id), event.value(FieldRef(id: id)), to: &writer)
    }

    /// The field only when it has a value.
    private static func known(_ id: FieldID, _ event: ResolvedEvent, _ writer: inout JSONWriter) {
        let value = event.value(FieldRef(id: id))
        if !value.isNone { append(FieldRef(id: id), value, to: &writer) }
    }

    /// `evt.arg.<name>` when the event has that argument: a number for the events
    /// that are not generic syscalls (exit status, child pid, an open's dirfd), as
    /// Falco writes them, else its text.
    private static func argument(_ name: String, _ event: ResolvedEvent, _ writer: inout JSONWriter) {
        let isSyscall: Bool
        if case .syscall = event.payload { isSyscall = true } else { isSyscall = false }
        let value = event.argument(name, asNumber: !isSyscall)
        guard !value.isNone else { return }
        writer.raw(",\"evt.arg.")
        writer.escaped(name)
        writer.raw("\":")
        value.appendJSON(to: &writer)
    }

    private static func append(_ field: FieldRef, _ value: FieldValue, to writer: inout JSONWriter) {
        // The catalogue's own names: plain ASCII, nothing to escape.
        writer.raw(",\"")
        writer.bytes.append(contentsOf: field.id.rawValue.utf8)
        writer.raw("\":")
        value.appendJSON(to: &writer)
    }

    /// The fields of each kind of event.
    private func appendPayloadFields(_ event: ResolvedEvent, to writer: inout JSONWriter) {
        let header = event.header
        switch event.payload {
        case .exec:
            Self.always(.userLoginuid, event, &writer)
            Self.always(.evtArgFilename, event, &writer)
            Self.always(.procArgs, event, &writer)
        case .exit:
            Self.argument("status", event, &writer)
            Self.argument("signal", event, &writer)
        case .fork:
            Self.argument("child_pid", event, &writer)
            Self.known(.evtArgFlags, event, &writer)
        case let .open(_, _, _, path, directory, raw):
            Self.always(.fdName, event, &writer)
            let sameBytes =
                raw.count == path.count
                && (raw.baseAddress == path.baseAddress || memcmp(raw.baseAddress!, path.baseAddress!, raw.count) == 0)
            let rawBytes = UnsafeBufferPointer(
                start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            let shownAsPassed =
                (raw.count == 0 || sameBytes) && (directory.isEmpty || raw.first == UInt8(ascii: "/"))
                && PathResolver.isNormal(rawBytes)
            // The kernel (or normalisation) named the file otherwise than the process did.
            if !shownAsPassed { Self.always(.fdNameraw, event, &writer) }
            Self.always(.fdNum, event, &writer)
            Self.always(.fdTypechar, event, &writer)
            Self.always(.evtArgFlags, event, &writer)
            Self.always(.evtArgMode, event, &writer)
            Self.argument("dirfd", event, &writer)
        case .syscall:
            guard let shape = SyscallTable.shape(of: header.syscall) else { return }
            if shape.path != nil { Self.always(.fdName, event, &writer) }
            for name in shape.arguments { Self.argument(name, event, &writer) }
            Self.known(.fdType, event, &writer)
        case let .connect(_, remote, _, _):
            Self.always(.fdNum, event, &writer)
            Self.known(.fdL4proto, event, &writer)
            Self.always(.fdTypechar, event, &writer)
            Self.always(.fdName, event, &writer)
            if remote.port != nil {
                for id in Self.connectionFields { Self.known(id, event, &writer) }
            }
        }
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
    private func appendSummary(_ event: ResolvedEvent, to writer: inout JSONWriter) {
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
        case .open:
            event.value(FieldRef(id: .fdName)).appendText(of: .fdName, to: &writer)
        case let .connect(_, remote, _, _):
            SocketAddressFormatter.append(remote, to: &writer)
        }
        if header.kind != .exit {
            writer.raw(" res=")
            ErrnoNames.appendResult(header.result, to: &writer)
        }
        writer.raw(" proc=")
        writer.escaped(
            UnsafeBufferPointer(
                start: header.comm.baseAddress?.assumingMemoryBound(to: UInt8.self), count: header.comm.count))
        writer.raw(" pid=")
        writer.integer(header.pid)
    }
}

/// Formats a witnessed event as one readable line for a terminal, like opensnoop or
/// sysdig: `TIME PID COMM EVENT RESULT TARGET`. Nothing from the kernel reaches the
/// terminal raw: targets are escaped as in JSON (`\n`, `\u001b`, U+FFFD for invalid
/// UTF-8) and the comm column shows such bytes as `\xNN`.
package struct EventTextFormatter {
    package let clock: WallClock
    private var scratch = JSONWriter(capacity: 8192)

    package init(clock: WallClock) {
        self.clock = clock
    }

    static let headerLine = "TIME(UTC)     PID     COMM             EVENT     RESULT     TARGET\n"

    /// Whether rule marks are coloured (a terminal).
    package var colour = false

    package mutating func format(
        _ event: KernelEvent, mark: AlertMark? = nil, into writer: inout JSONWriter
    ) {
        let header = event.header
        WallClock.appendTimeOfDay(clock.epochNanoseconds(boot: header.timestamp), digits: 3, to: &writer)
        writer.byte(UInt8(ascii: " "))
        column(&writer, width: 7) { $0.integer(header.pid) }
        writer.byte(UInt8(ascii: " "))
        column(&writer, width: 16) { Self.appendSafe(header.comm, to: &$0) }
        writer.byte(UInt8(ascii: " "))
        column(&writer, width: 9) { $0.raw(header.syscall.eventType) }
        writer.byte(UInt8(ascii: " "))
        column(&writer, width: 10) { out in
            if header.kind == .exit {
                out.raw("status=")
                out.integer((header.result >> 8) & 0xFF)
            } else if header.result >= 0 {
                out.integer(header.result)
            } else if let name = ErrnoNames.name(-header.result) {
                out.raw(name)
            } else {
                out.integer(header.result)
            }
        }
        writer.byte(UInt8(ascii: " "))
        // The target goes through the JSON escaper first, then is made terminal-safe.
        scratch.reset()
        switch event.payload {
        case let .exec(filename, args, _, _, _, _):
            if args.isEmpty {
                scratch.escaped(Self.buffer(filename))
            } else {
                scratch.escapedJoined(Self.buffer(args))
            }
        case .exit:
            break
        case let .fork(childPID, flags):
            scratch.raw("child ")
            scratch.integer(childPID)
            if flags & SyscallFormatter.namespaceMask != 0 {
                scratch.byte(UInt8(ascii: " "))
                SyscallFormatter.appendFlags(
                    flags & SyscallFormatter.namespaceMask, SyscallFormatter.namespaceFlags, to: &scratch)
            }
        case let .open(_, flags, _, path, directory, _):
            PathResolver.appendJoined(directory: directory, path: path, to: &scratch)
            scratch.byte(UInt8(ascii: " "))
            OpenFlags.append(flags, to: &scratch)
        case let .connect(_, remote, _, _):
            SocketAddressFormatter.append(remote, to: &scratch)
        case let .syscall(record):
            SyscallFormatter.appendSummary(header.syscall, record, to: &scratch)
        }
        scratch.bytes.withUnsafeBytes { Self.appendSafe($0, to: &writer) }
        if let mark {
            writer.raw("  ")
            if colour { writer.raw(Self.colourCode(mark.severity)) }
            writer.byte(UInt8(ascii: "["))
            writer.raw(mark.priority)
            writer.byte(UInt8(ascii: " "))
            writer.escaped(mark.rule)
            writer.byte(UInt8(ascii: "]"))
            if colour { writer.raw("\u{1B}[0m") }
        }
        writer.byte(UInt8(ascii: "\n"))
    }

    /// Rule `rule`'s alert for `event`: `TIME PRIORITY output (rule: NAME)`, coloured by
    /// class on a terminal.
    func formatAlert(
        _ event: ResolvedEvent, rule: Int, of classifier: any EventClassifier, into writer: inout JSONWriter
    ) {
        let summary = classifier.rule(rule)
        AlertLine.appendTextHead(
            epoch: clock.epochNanoseconds(boot: event.header.timestamp), priority: summary.priority, colour: colour,
            to: &writer)
        classifier.appendOutput(rule: rule, of: event, to: &writer)
        AlertLine.appendTextTail(rule: summary.name, to: &writer)
    }

    /// ANSI colour of a severity class: bold red, red, yellow, cyan.
    static func colourCode(_ severity: SeverityClass) -> StaticString {
        switch severity {
        case .critical: return "\u{1B}[1;31m"
        case .high: return "\u{1B}[31m"
        case .medium: return "\u{1B}[33m"
        case .low: return "\u{1B}[36m"
        }
    }

    private func column(_ writer: inout JSONWriter, width: Int, _ body: (inout JSONWriter) -> Void) {
        let start = writer.bytes.count
        body(&writer)
        let used = writer.bytes.count - start
        if used < width { writer.bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - used)) }
    }

    static func buffer(_ raw: UnsafeRawBufferPointer) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
    }

    /// Appends `bytes` with control characters and invalid UTF-8 as `\xNN`.
    static func appendSafe(_ bytes: UnsafeRawBufferPointer, to writer: inout JSONWriter) {
        let input = buffer(bytes)
        let hex: StaticString = "0123456789abcdef"
        var index = 0
        while index < input.count {
            let byte = input[index]
            var length = 0
            if byte >= 0x20 && byte < 0x7F {
                length = 1
            } else if byte >= 0x80 {
                length = JSONWriter.validSequenceLength(input, at: index)
            }
            if length > 0 {
                writer.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<index + length]))
                index += length
            } else {
                writer.raw("\\x")
                hex.withUTF8Buffer { digits in
                    writer.byte(digits[Int(byte >> 4)])
                    writer.byte(digits[Int(byte & 0xF)])
                }
                index += 1
            }
        }
    }
}

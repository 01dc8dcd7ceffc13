/// Writes a `DriftFinding` as an alert line in Falco's shape — the same envelope
/// as a rule's alert (time, rule, priority, source, output, output_fields, tags,
/// subjects, hostname, uuid) — so that every consumer of alerts takes drift too.
/// The rule name is fixed (`Drift from baseline profile`); its priority is the
/// window's (default Warning).
public struct DriftAlertWriter {
    public static let ruleName = "Drift from baseline profile"

    private let hostname: [UInt8]
    private let clock: WallClock
    private var identifiers = LineIdentifiers()

    public init(hostname: [UInt8], clock: WallClock) {
        self.hostname = hostname
        self.clock = clock
    }

    /// One line for `finding` of the window in `slot`, seen at `timestamp` (boot time).
    public mutating func write(
        _ finding: DriftFinding, priority: Priority, timestamp: UInt64, slot: Int, process: ProcessRecord?,
        labels: SubjectLabels, format: OutputFormat, colour: Bool = false, into writer: inout JSONWriter
    ) {
        let epoch = clock.epochNanoseconds(boot: timestamp)
        let seconds = epoch / 1_000_000_000
        if format == .text {
            WallClock.appendClock(
                secondOfDay: Int(seconds % 86_400), nanos: Int(epoch % 1_000_000_000), fractionDigits: 3, to: &writer)
            writer.byte(UInt8(ascii: " "))
            if colour { writer.raw(EventTextFormatter.colourCode(priority.severity)) }
            writer.raw(priority.name)
            if colour { writer.raw("\u{1B}[0m") }
            writer.byte(UInt8(ascii: " "))
            appendMessage(finding, process: process, to: &writer)
            writer.raw(" (rule: ")
            writer.escaped(Self.ruleName)
            writer.raw(")\n")
            return
        }
        writer.byte(UInt8(ascii: "{"))
        writer.key("time")
        WallClock.appendQuotedRFC3339(epoch, to: &writer)
        writer.key("rule")
        writer.string(Self.ruleName)
        writer.raw(",")
        writer.key("priority")
        writer.string(priority.name)
        writer.raw(",\"source\":\"syscall\",")
        writer.key("output")
        writer.byte(UInt8(ascii: "\""))
        WallClock.appendClock(
            secondOfDay: Int(seconds % 86_400), nanos: Int(epoch % 1_000_000_000), fractionDigits: 9, to: &writer)
        writer.raw(": ")
        writer.raw(priority.name)
        writer.byte(UInt8(ascii: " "))
        appendMessage(finding, process: process, to: &writer)
        writer.raw("\",")
        writer.key("output_fields")
        writer.raw("{\"drift.kind\":")
        writer.string(finding.kind.rawValue)
        writer.raw(",\"drift.item\":")
        writer.string(finding.item)
        writer.raw(",\"evt.type\":")
        if finding.syscall == .none { writer.raw("null") } else { writer.string(finding.syscall.eventType) }
        writer.raw(",\"proc.pid\":")
        if finding.pid > 0 { writer.integer(finding.pid) } else { writer.raw("null") }
        writer.raw(",\"proc.exepath\":")
        if let process { writer.string(process.exePath) } else { writer.raw("null") }
        writer.raw(",\"proc.cmdline\":")
        if let process { appendCommandLine(process, to: &writer, quoted: true) } else { writer.raw("null") }
        writer.raw("},\"tags\":[\"drift\",\"witness\"],")
        labels.append(1 << UInt64(slot), to: &writer)
        writer.raw(",")
        writer.key("hostname")
        writer.string(hostname)
        writer.raw(",")
        writer.key("uuid")
        identifiers.appendNext(to: &writer)
        writer.raw("}\n")
    }

    /// `Drift from baseline profile: new executable /tmp/x (proc.pid=12 proc.exepath=/tmp/x)`, escaped.
    private func appendMessage(_ finding: DriftFinding, process: ProcessRecord?, to writer: inout JSONWriter) {
        writer.escaped(Self.ruleName)
        writer.raw(": new ")
        writer.escaped(finding.kind.rawValue)
        writer.byte(UInt8(ascii: " "))
        writer.escaped(finding.item)
        if finding.pid > 0 {
            writer.raw(" (proc.pid=")
            writer.integer(finding.pid)
            if let process {
                writer.raw(" proc.exepath=")
                process.exePath.withUnsafeBufferPointer { writer.escaped($0) }
                writer.raw(" proc.cmdline=")
                appendCommandLine(process, to: &writer, quoted: false)
            }
            writer.byte(UInt8(ascii: ")"))
        }
    }

    private func appendCommandLine(_ process: ProcessRecord, to writer: inout JSONWriter, quoted: Bool) {
        if quoted { writer.byte(UInt8(ascii: "\"")) }
        process.name.withUnsafeBufferPointer { writer.escaped($0) }
        let args = Array(process.args)
        if !args.isEmpty {
            writer.byte(UInt8(ascii: " "))
            args.withUnsafeBufferPointer { writer.escapedJoined($0) }
        }
        if quoted { writer.byte(UInt8(ascii: "\"")) }
    }
}

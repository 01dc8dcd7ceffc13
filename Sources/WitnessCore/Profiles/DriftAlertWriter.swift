/// Writes a `DriftFinding` as an alert line in Falco's shape — the same envelope
/// as a rule's alert (time, rule, priority, source, output, output_fields, tags,
/// subjects, hostname, uuid) — so that every consumer of alerts takes drift too.
/// The rule name is fixed (`Drift from baseline profile`); its priority is the
/// window's (default Warning).
package struct DriftAlertWriter {
    package static let ruleName = "Drift from baseline profile"

    /// Adds a window's `count` drift alerts to its alerts by class and by rule, as a
    /// testimony counts them.
    package static func tally(
        _ count: Int, priority: Priority, alerts: inout [SeverityClass: Int], rules: inout [(String, Int)]
    ) {
        guard count > 0 else { return }
        alerts[SeverityClass(priority), default: 0] += count
        rules.append((ruleName, count))
    }

    private let hostname: [UInt8]
    private let clock: WallClock
    private var identifiers = LineUUIDs()

    package init(hostname: [UInt8], clock: WallClock) {
        self.hostname = hostname
        self.clock = clock
    }

    /// One line for `finding` of the window in `slot`, seen at `timestamp` (boot time).
    package mutating func write(
        _ finding: DriftFinding, priority: Priority, timestamp: UInt64, slot: Int, process: ProcessRecord?,
        labels: SubjectLabels, format: OutputFormat, colour: Bool = false, into writer: inout JSONWriter
    ) {
        var identifiers = self.identifiers  // the closures below read self
        defer { self.identifiers = identifiers }
        AlertLine.appendOwn(
            epoch: clock.epochNanoseconds(boot: timestamp), rule: Self.ruleName, priority: priority, format: format,
            colour: colour, tags: ["drift", "witness"], subjects: 1 << UInt64(slot), labels: labels,
            hostname: hostname, identifiers: &identifiers, to: &writer,
            message: { appendMessage(finding, process: process, to: &$0) },
            fields: { writer in
                writer.raw("\"drift.kind\":")
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
            })
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

    /// proc.cmdline as the field catalogue spells it.
    private func appendCommandLine(_ process: ProcessRecord, to writer: inout JSONWriter, quoted: Bool) {
        var commandLine: [UInt8] = []
        ResolvedEvent.buildCommandLine(name: process.name, process: process, into: &commandLine)
        if quoted { writer.byte(UInt8(ascii: "\"")) }
        commandLine.withUnsafeBufferPointer { writer.escaped($0) }
        if quoted { writer.byte(UInt8(ascii: "\"")) }
    }
}

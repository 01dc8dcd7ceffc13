/// Writes a `SubjectEscape` as an alert line of Witness's own rule, in the shape of
/// every alert line (`AlertLine`).
struct EscapeAlertWriter {
    private let hostname: [UInt8]
    private let clock: WallClock
    private var identifiers = LineUUIDs()

    init(hostname: [UInt8], clock: WallClock) {
        self.hostname = hostname
        self.clock = clock
    }

    /// One line for `escape` as the window in `slot` saw it.
    mutating func write(
        _ escape: SubjectEscape, slot: Int, process: ProcessRecord?, labels: SubjectLabels, format: OutputFormat,
        colour: Bool, into writer: inout JSONWriter
    ) {
        let destination = escape.destination ?? "cgroup id \(escape.cgroupID)"
        AlertLine.appendOwn(
            epoch: clock.epochNanoseconds(boot: escape.bootTime), rule: SubjectEscape.ruleName,
            priority: SubjectEscape.priority, format: format, colour: colour,
            tags: ["escape", "cgroup", "witness", "mitre_defense_evasion"], subjects: 1 << UInt64(slot), labels: labels,
            hostname: hostname, identifiers: &identifiers, to: &writer,
            message: { writer in
                writer.raw("A process left the subject's cgroup and is followed (proc.pid=")
                writer.integer(escape.pid)
                writer.raw(" to=")
                writer.escaped(destination)
                if let process {
                    writer.raw(" proc.exepath=")
                    process.exePath.withUnsafeBufferPointer { writer.escaped($0) }
                }
                writer.raw(" moved_by=")
                writer.integer(escape.mover)
                writer.byte(UInt8(ascii: ")"))
            },
            fields: { writer in
                writer.raw("\"proc.pid\":")
                writer.integer(escape.pid)
                writer.raw(",\"proc.exepath\":")
                if let process { writer.string(process.exePath) } else { writer.raw("null") }
                writer.raw(",\"cgroup.to\":")
                writer.string(destination)
                writer.raw(",\"cgroup.to_id\":")
                writer.integer(escape.cgroupID)
                writer.raw(",\"moved_by.pid\":")
                writer.integer(escape.mover)
            })
    }
}

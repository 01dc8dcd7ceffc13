/// How lines are written: JSON lines for programs, columns for people.
package enum OutputFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// Where the pipeline's lines go: the encoders for the chosen format, one reusable
/// buffer flushed to the sink at the end of each drained batch (or when it grows
/// past `flushThreshold`), and the alert tap (node mode's outputs and streams), which
/// hears every alert line. It knows nothing of the kernel, the process table or the
/// rules' state: the pipeline hands it a resolved event and what fired.
final class EventOutput {
    let format: OutputFormat
    private let sink: OutputSink
    var writer = JSONWriter(capacity: 512 * 1024)
    var json: EventJSONEncoder
    var text: EventTextFormatter
    /// Also receives every alert line (node mode outputs); JSON format only.
    var alertTap: (any AlertTap)?
    /// Lines that could not be written because the output went away.
    private(set) var unwrittenLines: UInt64 = 0
    private let flushThreshold = 256 * 1024

    init(sink: OutputSink, format: OutputFormat, hostname: [UInt8], clock: WallClock, colour: Bool, header: Bool) {
        self.sink = sink
        self.format = format
        json = EventJSONEncoder(hostname: hostname, clock: clock)
        text = EventTextFormatter(clock: clock)
        text.colour = colour
        if format == .text && header {
            writer.bytes.append(contentsOf: EventTextFormatter.headerLine.utf8)
        }
    }

    /// One alert line per rule `classifier` matched; returns the lines the tap lost.
    func writeAlerts(
        _ resolved: ResolvedEvent, of classifier: any EventClassifier, labels: SubjectLabels, subjects: UInt64
    ) -> Int {
        let start = writer.bytes.count
        for rule in classifier.matchedRules {
            switch format {
            case .json: json.encodeAlert(resolved, rule: rule, of: classifier, labels: labels, into: &writer)
            case .text: text.formatAlert(resolved, rule: rule, of: classifier, into: &writer)
            }
        }
        return tap(from: start, subjects: subjects)
    }

    /// The event line of `event` (`trace`, `--events`), marked with the most severe rule it fired.
    func writeEvent(_ resolved: ResolvedEvent, _ event: KernelEvent, mark: AlertMark?, labels: SubjectLabels) {
        switch format {
        case .json: json.encode(resolved, labels: labels, mark: mark, into: &writer)
        case .text: text.format(event, mark: mark, into: &writer)
        }
    }

    /// Hands the alert lines written since `start` to the tap; returns the lines it lost.
    func tap(from start: Int, subjects: UInt64) -> Int {
        guard let alertTap, format == .json else { return 0 }
        return writer.bytes.withUnsafeBytes {
            alertTap.alerts(UnsafeRawBufferPointer(rebasing: $0[start...]), subjects: subjects)
        }
    }

    /// Writes out the buffer once it has grown past the threshold; returns lines lost.
    func flushIfFull() -> UInt64 {
        writer.bytes.count >= flushThreshold ? flush() : 0
    }

    /// Writes what is buffered, the tap's too; returns the lines that could not be written.
    func flush() -> UInt64 {
        var lost: UInt64 = 0
        if let tapLost = alertTap?.flush(), tapLost > 0 { lost += UInt64(tapLost) }
        if !writer.bytes.isEmpty {
            let written = writer.bytes.withUnsafeBytes { sink.write($0) }
            if !written { lost += UInt64(writer.bytes.lineCount) }
            writer.reset()
        }
        unwrittenLines &+= lost
        return lost
    }

    /// Writes one line of our own (a testimony, a summary) after the buffered lines.
    func writeLine(_ line: String) -> UInt64 {
        let lost = flush()
        var copy = line + "\n"
        copy.withUTF8 { _ = sink.write(UnsafeRawBufferPointer($0)) }
        return lost
    }
}

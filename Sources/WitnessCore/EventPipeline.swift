/// How lines are written: JSON lines for programs, columns for people.
public enum OutputFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// The user-space path of every ring buffer record: decode → process table →
/// format → sink. It runs on the consumer thread, record by record, writing into
/// one reusable buffer that is flushed at the end of each drained batch (or when
/// it grows past `flushThreshold`), so the common path allocates nothing.
public final class EventPipeline {
    public private(set) var counts = EventCounts()
    public let processes: ProcessTable
    /// Whether every event is printed (`trace`, `witness --events`).
    public var printsEvents: Bool
    private let format: OutputFormat
    private let sink: OutputSink
    private var writer = JSONWriter(capacity: 512 * 1024)
    private var json: EventJSONEncoder
    private var text: EventTextFormatter
    private let flushThreshold = 256 * 1024

    public init(
        sink: OutputSink, format: OutputFormat, printsEvents: Bool, hostname: [UInt8],
        clock: WallClock = WallClock(), processes: ProcessTable = ProcessTable()
    ) {
        self.sink = sink
        self.format = format
        self.printsEvents = printsEvents
        self.processes = processes
        json = EventJSONEncoder(hostname: hostname, clock: clock)
        text = EventTextFormatter(clock: clock)
        if format == .text && printsEvents {
            writer.bytes.append(contentsOf: EventTextFormatter.headerLine.utf8)
        }
    }

    /// Names subject slots in the JSON output.
    public func label(slot: Int, as label: String) {
        json.subjectLabels[slot] = label
    }

    /// Handles one record from the ring buffer (valid only during this call).
    public func handle(_ record: UnsafeRawBufferPointer) {
        let decoded: KernelEvent?
        do {
            decoded = try EventDecoder.decode(record)
        } catch {
            counts.undecodable &+= 1
            return
        }
        guard let event = decoded else { return }
        handle(event)
    }

    public func handle(_ event: KernelEvent) {
        let header = event.header
        counts.record(header.syscall)

        // An exec changes the process before anything is said about it.
        if case let .exec(filename, args, directory) = event.payload, header.result == 0 {
            processes.insert(
                ProcessRecord(
                    pid: header.pid, ppid: header.ppid, name: Array(header.comm),
                    exePath: PathResolver.joined(directory: directory, path: filename),
                    argv: Array(args), argvTruncated: header.flags.contains(.argsTruncated)))
        }

        if printsEvents {
            let process = processes.lookup(header.pid)
            switch format {
            case .json:
                json.encode(event, process: process, parent: processes.lookup(header.ppid), into: &writer)
            case .text:
                text.format(event, process: process, into: &writer)
            }
        }

        switch event.payload {
        case let .fork(childPID): processes.fork(parent: header.pid, child: childPID)
        case .exit: processes.exit(header.pid)
        default: break
        }
        if writer.bytes.count >= flushThreshold { flush() }
    }

    /// Writes what is buffered.
    public func flush() {
        guard !writer.bytes.isEmpty else { return }
        writer.bytes.withUnsafeBytes { _ = sink.write($0) }
        writer.reset()
    }

    /// Writes one line of our own (a testimony, a summary) after the buffered events.
    public func writeLine(_ line: String) {
        flush()
        var copy = line + "\n"
        copy.withUTF8 { _ = sink.write(UnsafeRawBufferPointer($0)) }
    }
}

/// How lines are written: JSON lines for programs, columns for people.
package enum OutputFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// The user-space path of every ring buffer record: decode → process table →
/// rules → format → sink. When every event is asked for (`trace`, `--events`),
/// each is written with the most severe rule it fired marked on it; otherwise
/// only the Falco alert lines of fired rules are written. It runs on the consumer thread, record by record, writing into
/// one reusable buffer that is flushed at the end of each drained batch (or when
/// it grows past `flushThreshold`), so the common path allocates nothing.
package final class EventPipeline {
    package private(set) var counts = EventCounts()
    /// Events that fired at least one rule.
    package private(set) var alertedEvents: UInt64 = 0
    /// Lines that could not be written because the output went away: lost by the agent.
    package private(set) var unwrittenLines: UInt64 = 0
    package let processes: ProcessTable
    /// What the subjects wrote during their windows, for `proc.exe_writer` and `fd.writer`.
    package let droppedFiles = DroppedFiles()
    /// The rules engine, if rules are loaded.
    package let classifier: (any EventClassifier)?
    /// Whether every event is printed (`trace`, `witness --events`).
    package var printsEvents: Bool
    /// Every window's counts, name and kernel-side state, by subject slot.
    package let windows: WindowSlots
    /// Also receives every alert line (node mode outputs); JSON format only.
    package var alertTap: (any AlertTap)?
    /// The runtime profiles of the windows that gather one.
    package let profiles = WindowProfiles()
    // Internal, not private: the profile half of the pipeline (EventPipeline+Profiles) writes through them.
    var drift: DriftAlertWriter
    /// The recordings being written (`witness --record`, a window's `record`).
    package let recordings = Recordings()
    var pathScratch: [UInt8] = []
    let format: OutputFormat
    private let sink: OutputSink
    var writer = JSONWriter(capacity: 512 * 1024)
    var json: EventJSONEncoder
    var text: EventTextFormatter
    /// The record being handled, resolved once for the rules, the lines and the profile.
    package let resolved: ResolvedEvent
    private let flushThreshold = 256 * 1024

    package init(
        sink: OutputSink, format: OutputFormat, printsEvents: Bool, hostname: [UInt8],
        clock: WallClock = WallClock(), processes: ProcessTable = ProcessTable(),
        classifier: (any EventClassifier)? = nil, colour: Bool = false, identities: CgroupIdentities? = nil
    ) {
        self.classifier = classifier
        windows = WindowSlots(ruleCount: classifier?.ruleCount ?? 0)
        self.sink = sink
        self.format = format
        self.printsEvents = printsEvents
        self.processes = processes
        json = EventJSONEncoder(hostname: hostname, clock: clock)
        resolved = ResolvedEvent(processes: processes, clock: clock, identities: identities, droppedFiles: droppedFiles)
        // With rules, user and group names are read now, not by the first event that asks.
        if classifier != nil { _ = resolved.users }
        drift = DriftAlertWriter(hostname: hostname, clock: clock)
        pathScratch.reserveCapacity(4096)
        text = EventTextFormatter(clock: clock)
        text.colour = colour
        if format == .text && printsEvents {
            writer.bytes.append(contentsOf: EventTextFormatter.headerLine.utf8)
        }
        // A process record forgotten for room is evidence lost for the windows that saw it.
        processes.onForget = { [unowned self] victim in
            if victim.subjects != 0 { self.windows.recordAgentDrops(1, subjects: victim.subjects) }
        }
    }

    /// Names subject slots in the JSON output (nil: the slot's window closed).
    package func label(slot: Int, as label: String?) {
        windows.label(slot: slot, as: label)
    }

    /// Handles one record from the ring buffer (valid only during this call).
    package func handle(_ record: UnsafeRawBufferPointer) {
        if !recordings.isEmpty { recordings.context = Recordings.subjects(of: record) }
        let decoded: KernelEvent?
        do {
            decoded = try EventDecoder.decode(record)
        } catch {
            counts.undecodable &+= 1
            windows.recordAgentDrops(1)
            return
        }
        if let event = decoded { handle(event) }
        if !recordings.isEmpty { recordings.record(record) }
    }

    /// Starts feeding `writer`: the process table and cgroup identities are observed
    /// from now on.
    package func startRecording(_ writer: RecordingWriter) {
        recordings.add(writer)
        processes.observer = recordings
        resolved.identities?.onIdentity = { [recordings] id, identity in recordings.identity(id, identity) }
    }

    /// Stops feeding `writer`; with the last one, nothing is observed any more.
    package func stopRecording(_ writer: RecordingWriter) {
        recordings.remove(writer)
        guard recordings.isEmpty else { return }
        processes.observer = nil
        resolved.identities?.onIdentity = nil
    }

    package func handle(_ event: KernelEvent) {
        let header = event.header
        counts.record(header.syscall)
        windows.recordEvent(header.syscall, subjects: header.subjects)

        // An exec changes the process before anything is said about it.
        if case let .exec(filename, args, directory, identity, executable, environment) = event.payload, header.result == 0 {
            let previous = processes.cached(header.pid)
            var record = ProcessRecord(
                pid: header.pid, ppid: header.ppid, name: Array(header.comm),
                // A script's name is as it was run: collapsing a `..` over a symlink
                // could make it an exempt program's path.
                exePath: executable.isEmpty
                    ? PathResolver.joinedAsWritten(directory: directory, path: filename) : Array(executable),
                argv: Array(args), argvTruncated: header.flags.contains(.argsTruncated), tty: Int32(bitPattern: identity.tty),
                loginUID: identity.loginUID, cwd: Array(directory), capabilities: identity.capabilities,
                executableIsMemfd: header.flags.contains(.executableIsMemfd),
                executableIsDeleted: header.flags.contains(.executableIsDeleted),
                startTime: previous?.startTime ?? header.timestamp,
                vpid: identity.vpid > 0 ? Int32(bitPattern: identity.vpid) : nil)
            record.executableInUpperLayer = header.flags.contains(.executableInUpperLayer)
            record.executableIsScript = header.flags.contains(.executableIsScript)
            record.subjects = header.subjects | (previous?.subjects ?? 0)
            record.permittedCapabilities = identity.permitted
            record.inheritableCapabilities = identity.inheritable
            record.sessionID = identity.sessionID > 0 ? Int32(bitPattern: identity.sessionID) : nil
            record.namespaceProcessGroupID =
                identity.namespaceProcessGroupID > 0 ? Int32(bitPattern: identity.namespaceProcessGroupID) : nil
            record.stdio = identity.stdio
            record.environment = Array(environment)
            record.environmentTruncated = header.flags.contains(.environmentTruncated)
            if DynamicLoader.isLoader(record.exePath) {
                record.loaderTarget = DynamicLoader.target(argv: record.argv, cwd: record.cwd)
            }
            // Who wrote what runs: the file by identity (a script's interpreter), else by
            // name — a script's normalised path, a program renamed or linked into place
            // (which gives it a new name, not new content) — and the loader's target.
            record.executableWriter = droppedFiles.writer(of: header.file, subjects: header.subjects)
                ?? droppedWriter(
                    of: executable.isEmpty ? PathResolver.joined(directory: directory, path: filename) : record.exePath,
                    subjects: header.subjects)
                ?? droppedWriter(of: record.loaderTarget, subjects: header.subjects)
            processes.insert(record)
            if header.subjects & profiles.mask != 0 {
                noteProfiles(event, exec: (record, previous, executable.isEmpty ? .none : header.file))
            }
        } else {
            noteWrite(event)
            if header.subjects & profiles.mask != 0 { noteProfiles(event, exec: nil) }
        }

        var mark: AlertMark?
        resolved.begin(event, number: counts.total)
        // The resolved event points into the record: let go of it however this ends.
        defer { resolved.end() }
        if let classifier, classifier.classify(resolved) > 0 {
            alertedEvents &+= 1
            windows.recordAlerts(classifier.matchedRules, subjects: header.subjects)
            if printsEvents {
                mark = classifier.lastMark
            } else {
                let start = writer.bytes.count
                for rule in classifier.matchedRules {
                    switch format {
                    case .json: json.encodeAlert(resolved, rule: rule, of: classifier, labels: windows.labels, into: &writer)
                    case .text: text.formatAlert(resolved, rule: rule, of: classifier, into: &writer)
                    }
                }
                if let alertTap {
                    let lost = writer.bytes.withUnsafeBytes {
                        alertTap.alerts(UnsafeRawBufferPointer(rebasing: $0[start...]), subjects: header.subjects)
                    }
                    if lost > 0 { windows.recordAgentDrops(UInt64(lost), subjects: header.subjects) }
                }
            }
        }
        if printsEvents {
            switch format {
            case .json: json.encode(resolved, labels: windows.labels, mark: mark, into: &writer)
            case .text: text.format(event, mark: mark, into: &writer)
            }
        }

        switch event.payload {
        case let .fork(childPID, _) where childPID > 0 && childPID != header.pid:
            processes.fork(parent: header.pid, child: childPID, at: header.timestamp, subjects: header.subjects)
        case .exit: processes.exit(header.pid)
        default: break
        }
        if writer.bytes.count >= flushThreshold { flush() }
    }

    /// Remembers a file a subject wrote or created — by identity, and by name — and
    /// the names it gave files by renaming and linking (a script runs by its name).
    /// Attempts through io_uring count: their result is not seen.
    private func noteWrite(_ event: KernelEvent) {
        let header = event.header
        guard header.subjects != 0, header.result >= 0 || header.flags.contains(.ioUring) else { return }
        switch event.payload {
        case let .open(_, flags, _, path, directory, _):
            guard OpenFlags.modifies(flags) else { return }
            noteWritten(header.file, directory: directory, path: path, by: header)
        case let .syscall(record):
            switch header.syscall {
            case .truncate, .ftruncate:
                noteWritten(header.file, directory: record.directory, path: record.path, by: header)
            case .rename, .renameat, .renameat2, .link, .linkat, .symlink, .symlinkat:
                noteWritten(.none, directory: record.directory2, path: record.path2, by: header)
            default: return
            }
        default: return
        }
    }

    /// One written file into `droppedFiles`; a forgotten entry is a loss for its windows.
    private func noteWritten(
        _ file: FileID, directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, by header: EventHeader
    ) {
        let writer = processes.cached(header.pid)?.exePath ?? []
        // One name: a relative path comes from the join in pieces (directory, `/`, name).
        let lost = withJoinedName(directory: directory, path: path) { name in
            droppedFiles.record(file: file, path: name, writer: writer, subjects: header.subjects)
        }
        if lost != 0 { windows.recordAgentDrops(1, subjects: lost) }
    }

    /// `path` joined with `directory` and normalised, as one buffer: the join hands a
    /// relative name over in pieces; `pathScratch` gathers them (no allocation).
    func withJoinedName<Result>(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        pathScratch.removeAll(keepingCapacity: true)
        PathResolver.join(directory: directory, path: path) { pathScratch.append(contentsOf: $0) }
        return pathScratch.withUnsafeBufferPointer(body)
    }

    private func droppedWriter(of path: [UInt8], subjects: UInt64) -> [UInt8]? {
        path.withUnsafeBufferPointer { droppedFiles.writer(of: $0, subjects: subjects) }
    }

    /// The subject's processes as its window in `slot` begins: their records are
    /// marked as the window's, and the files they hold open for writing count as
    /// written by them from the start (what they write through those descriptors
    /// during the window passes no open).
    package func noteSubjectProcesses(_ pids: [Int32], slot: Int) {
        recordings.context = 1 << UInt64(slot)
        processes.mark(pids, slot: slot)
        var lost: UInt64 = 0
        for pid in pids {
            let writer = processes.cached(pid)?.exePath ?? []
            for (file, path) in ProcFiles.filesOpenForWriting(pid: pid, procRoot: processes.procRoot) {
                if !recordings.isEmpty { recordings.written(file: file, path: path, writer: writer, slot: slot) }
                lost |= path.withUnsafeBufferPointer {
                    droppedFiles.record(file: file, path: $0, writer: writer, subjects: 1 << UInt64(slot))
                }
            }
        }
        if lost != 0 { windows.recordAgentDrops(1, subjects: lost) }
    }

    /// A window begins in `slot`: nothing its subject writes from now on was dropped
    /// by an earlier window there.
    package func beginWindow(slot: Int) {
        droppedFiles.forget(slot: slot)
        processes.unmark(slot: slot)
    }

    /// Writes what is buffered.
    /// The end of a drained batch (or a wake-up): the hashes that arrived, then the output.
    package func endBatch() {
        applyProfileArrivals()
        flush()
    }

    package func flush() {
        if let lost = alertTap?.flush(), lost > 0 { countUnwritten(UInt64(lost)) }
        guard !writer.bytes.isEmpty else { return }
        let written = writer.bytes.withUnsafeBytes { sink.write($0) }
        if !written { countUnwritten(UInt64(writer.bytes.lineCount)) }
        writer.reset()
    }

    /// Lines an output could not take: lost for every open window.
    private func countUnwritten(_ lines: UInt64) {
        unwrittenLines &+= lines
        windows.recordAgentDrops(lines)
    }

    /// Writes one line of our own (a testimony, a summary) after the buffered events.
    package func writeLine(_ line: String) {
        flush()
        var copy = line + "\n"
        copy.withUTF8 { _ = sink.write(UnsafeRawBufferPointer($0)) }
    }
}

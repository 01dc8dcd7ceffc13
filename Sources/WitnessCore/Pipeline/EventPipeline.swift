/// The user-space path of every record, as a conductor of its stages: decode →
/// state (`ProcessTable.applyExec`, `WrittenFiles.note`) and profiles → rules →
/// lines (`EventOutput`) → what a fork or exit changes. When every event is asked for
/// (`trace`, `--events`), each is written with the most severe rule it fired marked
/// on it; otherwise only the Falco alert lines of fired rules are written. It runs on
/// the consumer thread, record by record, and the common path allocates nothing.
package final class EventPipeline {
    package private(set) var counts = EventCounts()
    /// Events that fired at least one rule.
    package private(set) var alertedEvents: UInt64 = 0
    package let processes: ProcessTable
    /// What the subjects wrote during their windows, for `proc.exe_writer` and `fd.writer`.
    package let writtenFiles = WrittenFiles()
    /// The rules engine, if rules are loaded.
    package let classifier: (any EventClassifier)?
    /// Whether every event is printed (`trace`, `witness --events`).
    package var printsEvents: Bool
    /// Every window's counts, name and kernel-side state, by subject slot.
    package let windows: WindowSlots
    /// The runtime profiles of the windows that gather one.
    package let profiles = WindowProfiles()
    // Internal, not private: the profile half of the pipeline (EventPipeline+Profiles) writes through it.
    var drift: DriftAlertWriter
    var escapeAlerts: EscapeAlertWriter
    /// The recordings being written (`witness --record`, a window's `record`).
    package let recordings = RecordingTap()
    var pathScratch: [UInt8] = []
    /// Encoders, buffer, sink and alert tap.
    let output: EventOutput
    /// The record being handled, resolved once for the rules, the lines and the profile.
    package let resolved: ResolvedEvent

    /// Also receives every alert line (node mode outputs); JSON format only.
    package var alertTap: (any AlertTap)? {
        get { output.alertTap }
        set { output.alertTap = newValue }
    }
    /// Lines that could not be written because the output went away: lost by the agent.
    package var unwrittenLines: UInt64 { output.unwrittenLines }

    package init(
        sink: OutputSink, format: OutputFormat, printsEvents: Bool, hostname: [UInt8],
        clock: WallClock = WallClock(), processes: ProcessTable = ProcessTable(),
        classifier: (any EventClassifier)? = nil, colour: Bool = false, identities: CgroupIdentities? = nil
    ) {
        self.classifier = classifier
        windows = WindowSlots(ruleCount: classifier?.ruleCount ?? 0)
        self.printsEvents = printsEvents
        self.processes = processes
        output = EventOutput(
            sink: sink, format: format, hostname: hostname, clock: clock, colour: colour, header: printsEvents)
        resolved = ResolvedEvent(processes: processes, clock: clock, identities: identities, writtenFiles: writtenFiles)
        // With rules, user and group names are read now, not by the first event that asks.
        if classifier != nil { _ = resolved.users }
        drift = DriftAlertWriter(hostname: hostname, clock: clock)
        escapeAlerts = EscapeAlertWriter(hostname: hostname, clock: clock)
        pathScratch.reserveCapacity(4096)
        // A process record forgotten for room is evidence lost for the windows that saw it.
        processes.onForget = { [unowned self] victim in
            if victim.subjects != 0 { self.windows.recordAgentDrops(1, subjects: victim.subjects) }
        }
    }

    /// Names subject slots in the JSON output (nil: the slot's window closed).
    package func label(slot: Int, as label: String?) {
        windows.label(slot: slot, as: label)
    }

    /// Alerts of found events (`FoundScanner`), per subject slot, by rule index, and
    /// what was found, merged (EventPipeline+Found).
    var foundMatched = [[Int: Int]](repeating: [:], count: WindowSlots.slotCount)
    var foundTotals = [FoundSummary?](repeating: nil, count: WindowSlots.slotCount)
    /// Processes a container runtime put into a subject, not judged until they exec.
    var runtimeSetup = RuntimeSetup()

    /// Hears each armed window's activation (on the consumer thread, in order with
    /// the records around it).
    package var onActivation: ((WindowActivation) -> Void)?

    /// Handles one record from the ring buffer (valid only during this call).
    package func handle(_ record: UnsafeRawBufferPointer) {
        switch EventDecoder.windowRecord(record) {
        case let .activation(activation)?:
            onActivation?(activation)
            return
        case let .entry(entry)?:
            noteEntry(entry)
            return
        case let .escape(escape)?:
            noteEscape(escape)
            return
        case nil: break
        }
        if !recordings.isEmpty { recordings.context = RecordingTap.subjects(of: record) }
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

    /// One event through the stages: state (an exec changes the process before
    /// anything is said about it), written files and profiles, rules, lines, then
    /// what a fork or exit changes. Events that do not come from the ring buffer
    /// (replayed, found) enter here too.
    package func handle(_ event: KernelEvent) {
        let header = event.header
        counts.record(header.syscall)
        windows.recordEvent(header.syscall, subjects: header.subjects)
        if case let .exec(filename, args, directory, identity, executable, environment) = event.payload,
            header.result == 0
        {
            let (record, previous) = processes.applyExec(
                header, filename: filename, args: args, directory: directory, identity: identity,
                executable: executable, environment: environment, writtenFiles: writtenFiles)
            // The image's program starts: the runtime's setup is over. Not when the
            // runtime re-executes a sealed copy of itself through a descriptor (runc
            // runs its memfd clone as /dev/fd/N, early).
            if !runtimeSetup.isEmpty && !header.flags.contains(.found) && !RuntimeSetup.runsADescriptor(filename) {
                runtimeSetup.end(Int32(header.pid))
            }
            if header.subjects & profiles.mask != 0 {
                noteProfiles(event, exec: (record, previous, executable.isEmpty ? .none : header.file))
            }
        } else {
            let lost = writtenFiles.note(event, processes: processes)
            if lost != 0 { windows.recordAgentDrops(1, subjects: lost) }
            if header.subjects & profiles.mask != 0 { noteProfiles(event, exec: nil) }
        }
        resolved.begin(event, number: counts.total)
        // The resolved event points into the record: let go of it however this ends.
        defer { resolved.end() }
        let mark = runtimeSetup.isEmpty || !settingUp(event) ? classify(header) : nil
        if printsEvents { output.writeEvent(resolved, event, mark: mark, labels: windows.labels) }
        processes.applyAfter(event)
        if !runtimeSetup.isEmpty { followSetup(event) }
        countUnwritten(output.flushIfFull())
    }

    /// Whether `event` is a container runtime's setup (`RuntimeSetup`): a syscall of a
    /// process it put into the subject, or the program found running in it; not what
    /// that process holds.
    private func settingUp(_ event: KernelEvent) -> Bool {
        let header = event.header
        guard header.flags.contains(.found) else {
            return runtimeSetup.covers(
                Int32(header.pid), subjects: header.subjects, syscall: header.syscall, at: header.timestamp)
        }
        if case .exec = event.payload {
            return runtimeSetup.covers(Int32(header.pid), subjects: header.subjects, at: header.timestamp)
        }
        return false
    }

    /// Children of a setup process are setup; an exit ends it.
    private func followSetup(_ event: KernelEvent) {
        switch event.payload {
        case let .fork(child, flags) where child > 0 && flags & 0x10000 == 0:  // not CLONE_THREAD
            runtimeSetup.forked(parent: Int32(event.header.pid), child: child)
        case .exit: runtimeSetup.end(Int32(event.header.pid))
        default: break
        }
    }

    /// Runs the rules on the resolved event; writes the alert lines of what fired
    /// (or, when every event is printed, returns the mark its line carries).
    private func classify(_ header: EventHeader) -> AlertMark? {
        guard let classifier, classifier.classify(resolved) > 0 else { return nil }
        alertedEvents &+= 1
        windows.recordAlerts(classifier.matchedRules, subjects: header.subjects)
        if header.flags.contains(.found) { noteFound(classifier.matchedRules, subjects: header.subjects) }
        if printsEvents { return classifier.lastMark }
        let lost = output.writeAlerts(resolved, of: classifier, labels: windows.labels, subjects: header.subjects)
        if lost > 0 { windows.recordAgentDrops(UInt64(lost), subjects: header.subjects) }
        return nil
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

    /// The subject's processes as its window in `slot` begins: their records are
    /// marked as the window's, and the files they hold open for writing count as
    /// written by them from the start (what they write through those descriptors
    /// during the window passes no open).
    func noteSubjectProcesses(_ pids: [Int32], slot: Int, known: [Int32: [(FileID, [UInt8])]]? = nil) {
        recordings.context = 1 << UInt64(slot)
        processes.mark(pids, slot: slot)
        let lost = writtenFiles.noteOpenForWriting(pids, slot: slot, processes: processes, known: known) {
            file, path, writer in
            if !recordings.isEmpty { recordings.written(file: file, path: path, writer: writer, slot: slot) }
        }
        if lost != 0 { windows.recordAgentDrops(1, subjects: lost) }
    }

    /// A window begins in `slot`: nothing its subject writes from now on was dropped
    /// by an earlier window there.
    package func beginWindow(slot: Int) {
        writtenFiles.forget(slot: slot)
        processes.unmark(slot: slot)
        forgetFound(slot: slot)
        runtimeSetup.forget(slot: slot)
    }

    /// The end of a drained batch (or a wake-up): the hashes that arrived, then the output.
    package func endBatch() {
        applyProfileArrivals()
        flush()
    }

    /// Writes what is buffered.
    package func flush() {
        countUnwritten(output.flush())
    }

    /// Lines an output could not take: lost for every open window.
    private func countUnwritten(_ lines: UInt64) {
        if lines > 0 { windows.recordAgentDrops(lines) }
    }

    /// Writes one line of our own (a testimony, a summary) after the buffered events.
    package func writeLine(_ line: String) {
        countUnwritten(output.writeLine(line))
    }
}

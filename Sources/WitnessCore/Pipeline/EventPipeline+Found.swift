/// The found half of the pipeline: state read from /proc (`FoundScanner`) handled as
/// found records, the rules they fired, and processes that enter a subject from
/// outside after its window began — judged as found when they enter.
extension EventPipeline {
    /// Handles the records a scan of the window in `slot` found, and adds its counts
    /// to the window's.
    func handleFound(_ scan: FoundScanner.Scan, slot: Int) {
        var total = foundTotals[slot] ?? FoundSummary()
        total.processes += scan.summary.processes
        total.descriptors += scan.summary.descriptors
        total.truncated = total.truncated || scan.summary.truncated
        foundTotals[slot] = total
        for record in scan.records { record.withUnsafeBytes { handle($0) } }
    }

    /// The subject's processes as the window in `slot` begins (`noteSubjectProcesses`),
    /// and with `judge`, what they run and hold read once and judged as found; returns
    /// what the window found (nil: not judged, or no process).
    @discardableResult
    package func noteRunningSubject(_ members: [Int32], slot: Int, cgroupID: UInt64?, judge: Bool) -> FoundSummary? {
        guard judge, !members.isEmpty else {
            noteSubjectProcesses(members, slot: slot)
            return nil
        }
        let scan = FoundScanner(procRoot: processes.procRoot).scan(
            members, slot: slot, cgroupID: cgroupID ?? 0, now: WallClock.bootNow())
        noteSubjectProcesses(members, slot: slot, known: scan.openForWriting)
        handleFound(scan, slot: slot)
        return found(slot: slot)
    }

    /// What the window in `slot` found so far, with the rules its found events fired
    /// (by name, most first); nil when it found nothing.
    package func found(slot: Int) -> FoundSummary? {
        foundTotals[slot].map { foundSummary(of: $0, slot: slot) }
    }

    /// `summary` with the rules found events of `slot` fired so far, by name.
    package func foundSummary(of summary: FoundSummary, slot: Int) -> FoundSummary {
        var result = summary
        if let classifier {
            result.matched = foundMatched[slot].map { (classifier.rule($0.key).name, $0.value) }
                .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        }
        return result
    }

    func noteFound(_ rules: [Int], subjects: UInt64) {
        var bits = subjects
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            for rule in rules { foundMatched[slot][rule, default: 0] += 1 }
        }
    }

    func forgetFound(slot: Int) {
        foundMatched[slot] = [:]
        foundTotals[slot] = nil
    }

    /// A process moved into a subject from outside (or was made into it by an
    /// outsider): what it holds is judged as found, once per window; one the window
    /// already knows (a move inside the subject's own tree) is not. One a container
    /// runtime put there is the runtime's until it execs (`RuntimeSetup`). The window stays
    /// witnessed from its start if it was: that is about what ran before activation.
    func noteEntry(_ entry: SubjectEntry) {
        var bits = entry.subjects
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            let bit = UInt64(1) << UInt64(slot)
            // Put there by a process of no window (the kernel's word, and the table's):
            // the runtime's until it execs. Otherwise whatever it was before, it is not now.
            if entry.mover != entry.pid && !entry.bySubject && (processes.cached(entry.mover)?.subjects ?? 0) == 0 {
                runtimeSetup.begin(entry.pid, slots: bit, at: entry.bootTime)
            } else {
                runtimeSetup.end(entry.pid)
            }
            if let known = processes.cached(entry.pid), known.subjects & bit != 0 { continue }
            let scan = FoundScanner(procRoot: processes.procRoot).scan(
                [entry.pid], slot: slot, cgroupID: entry.cgroupID, now: WallClock.bootNow())
            processes.mark([entry.pid], slot: slot)
            handleFound(scan, slot: slot)
        }
    }

    /// A subject process left the cgroup of the windows in `escape.subjects` (the
    /// kernel follows it now): an alert of each window, listed in its testimony.
    func noteEscape(_ escape: SubjectEscape) {
        var bits = escape.subjects
        let process = processes.cached(escape.pid)
        var escape = escape
        escape.destination = resolved.identities?.path(of: escape.cgroupID)
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            windows.noteEscape(escape, slot: slot)
            let start = output.writer.bytes.count
            escapeAlerts.write(
                escape, slot: slot, process: process, labels: windows.labels, format: output.format,
                colour: output.text.colour, into: &output.writer)
            let lost = output.tap(from: start, subjects: 1 << UInt64(slot))
            if lost > 0 { windows.recordAgentDrops(UInt64(lost), subjects: 1 << UInt64(slot)) }
        }
    }
}

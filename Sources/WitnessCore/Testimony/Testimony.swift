/// The end-of-window statement for the controller, in the JSON shape of DESIGN.md.
package struct Testimony: Sendable {
    package var trialID: String?
    /// Subject as `{"kind": "...", "value": "..."}` pairs (cgroup path, pid, ...).
    package var subjectKind: String
    package var subjectValue: String
    package var startEpochNanoseconds: Int64
    package var endEpochNanoseconds: Int64
    package var sostle: SostleLevel?
    package var events: EventCounts
    package var alerts: [SeverityClass: Int]
    package var rules: [(String, Int)]
    package var kernelDrops: UInt64
    package var agentDrops: UInt64
    /// How the window ended, and the length the controller asked for.
    package var end: WindowEnd
    package var requestedMilliseconds: Int64?
    /// Ended before its requested length.
    package var cutShort: Bool { end != .elapsed }
    /// The node-mode window this testimony closes.
    package var windowID: String?
    /// What the subject did: its syscalls (counted in the kernel), programs, files,
    /// endpoints and identities (nil: not collected).
    package var profile: RuntimeProfile?
    /// What could not be seen, and what of it the subject used.
    package var coverage: Coverage?
    /// The window's recording, when it was recorded.
    package var recording: RecordingWriter.Summary?
    /// Kernel evidence that no process of the subject existed before the window
    /// became active: the cgroup_mkdir program set its subject bit, or its cgroup
    /// tree held no task at activation (or `trace` started the command itself).
    package var witnessedFromStart = false
    /// When an armed window was armed (nil: opened on a subject that existed).
    package var armedEpochNanoseconds: Int64?
    /// What the subject was found running as the window became active.
    package var found: FoundSummary?
    /// Processes that left the subject's cgroup (followed since), the first few, and how many.
    package var escapes: [SubjectEscape] = []
    package var escapeCount = 0
    /// This testimony's identity, the same in every delivery of it (receivers de-duplicate by it).
    package var uuid = LineUUIDs.random()

    package init(
        trialID: String?, subjectKind: String, subjectValue: String, startEpochNanoseconds: Int64,
        endEpochNanoseconds: Int64, sostle: SostleLevel?, events: EventCounts, alerts: [SeverityClass: Int] = [:],
        rules: [(String, Int)] = [], kernelDrops: UInt64, agentDrops: UInt64, end: WindowEnd = .elapsed,
        requestedMilliseconds: Int64? = nil, windowID: String? = nil, profile: RuntimeProfile? = nil,
        coverage: Coverage? = nil, recording: RecordingWriter.Summary? = nil
    ) {
        self.coverage = coverage
        self.recording = recording
        self.windowID = windowID
        self.profile = profile
        self.trialID = trialID
        self.subjectKind = subjectKind
        self.subjectValue = subjectValue
        self.startEpochNanoseconds = startEpochNanoseconds
        self.endEpochNanoseconds = endEpochNanoseconds
        self.sostle = sostle
        self.events = events
        self.alerts = alerts
        self.rules = rules
        self.kernelDrops = kernelDrops
        self.agentDrops = agentDrops
        self.end = end
        self.requestedMilliseconds = requestedMilliseconds
    }

    package var drops: UInt64 { kernelDrops + agentDrops }
    package var complete: Bool { gate.complete }
    package var gate: GateAssessment {
        GateAssessment(
            alerts: alerts, lost: drops, sostle: sostle, end: end, unobserved: coverage?.usedUnobserved ?? [],
            witnessedFromStart: witnessedFromStart, foundTruncated: found?.truncated ?? false)
    }
}

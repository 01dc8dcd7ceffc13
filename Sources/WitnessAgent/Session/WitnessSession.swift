import ArgumentParser
import Glibc
import WitnessCore
import WitnessKernel
import WitnessRules

/// One run of the agent: the kernel object loaded, the ring buffer wired to the
/// event pipeline, subjects registered, the loop run until something ends it, and
/// the accounting of what was seen and lost. `trace` and `witness` differ only in
/// which subjects they register and how the run ends.
final class WitnessSession {
    let probe: WitnessProbe
    let pipeline: EventPipeline
    let consumer: RingBufferConsumer
    let sink: OutputSink
    let clock = WallClock()
    let rules: RuleEngine?
    let assembly: PipelineAssembly
    private let rulesSummary: String
    /// The rules files as read, for an attestation's monitor.
    let rulesSources: [RulesSource]
    private(set) var startBootTime: UInt64 = 0

    init(options: CommonOptions, rules rulesOptions: RulesOptions, printsEvents: Bool) throws {
        let loaded = try rulesOptions.load()
        rulesSources = loaded?.sources ?? []
        sink = try options.makeSink()
        let format = options.format(for: sink)
        let colour = format == .text && isatty(sink.fd) == 1
        probe = try WitnessProbe(
            options: .init(ringBufferBytes: options.ringBufferBytes, logLevel: options.verbose, btfPath: options.btf))
        let assembly = PipelineAssembly(
            loaded: loaded, sink: sink, format: format, colour: colour, printsEvents: printsEvents,
            hostname: HostName.current(), clock: clock, processes: ProcessTable(),
            identities: CgroupIdentities(mountPoint: (try? CgroupFS.detect())?.mountPoint))
        self.assembly = assembly
        rules = assembly.rules
        rulesSummary = assembly.rulesSummary
        let pipeline = assembly.pipeline
        self.pipeline = pipeline
        let consumer = try RingBufferConsumer(
            probe: probe, onRecord: { pipeline.handle($0) }, onBatchEnd: { pipeline.endBatch() })
        self.consumer = consumer
        // Executable hashes arrive from the hasher's thread: applied on this one.
        consumer.onWake = { pipeline.endBatch() }
        let wake = ConsumerWake(consumer)
        pipeline.profiles.wake = { wake.ring() }
        try consumer.watchTerminationSignals()
        sink.onClosed = { [weak consumer] in consumer?.requestStop() }
    }

    /// Makes `subject` subject `slot`: a process tree (children followed in the
    /// kernel) or a cgroup and every cgroup below it, now or later. With `judgeFound`,
    /// what the subject already runs is read and judged (found events). Returns the
    /// subject's processes as it was watched, and what was found.
    @discardableResult
    func watch(
        _ subject: ResolvedSubject, slot: Int, profile: WindowProfiles.Settings? = nil, judgeFound: Bool = false
    ) throws -> (members: [Int32], found: FoundSummary?) {
        if let profile { pipeline.beginProfile(slot: slot, profile) }
        let cgroups = subject.cgroupDirectory == nil ? nil : try CgroupFS.detect()
        let watched = try probe.watch(subject, slot: slot, cgroups: cgroups, processes: pipeline.processes)
        pipeline.label(slot: slot, as: Self.label(subject))
        let scanStart = WallClock.bootNow()
        let found = pipeline.noteRunningSubject(
            watched.members, slot: slot, cgroupID: watched.cgroupID, judge: judgeFound)
        if let found {
            let milliseconds = Double(WallClock.bootNow() &- scanStart) / 1e6
            let matched = found.matched.reduce(0) { $0 + $1.1 }
            FileHandleWriter.standardError(
                "witness-agent: found \(found.processes) processes and \(found.descriptors) descriptors running, judged in \((milliseconds * 10).rounded() / 10) ms (\(matched) alerts)\n"
            )
        }
        return (watched.members, found)
    }

    /// Arms subject `slot` for a subject not created yet: the kernel makes its cgroup
    /// the subject as it is created (`pipeline.onActivation` hears when).
    func arm(_ subject: ArmedSubject, slot: Int, profile: WindowProfiles.Settings? = nil) throws {
        if let profile { pipeline.beginProfile(slot: slot, profile) }
        try probe.arm(names: subject.names, slot: slot)
        pipeline.label(slot: slot, as: "\(subject.kind):\(subject.value)")
    }

    /// How lines name `subject` (`"subjects":["cgroup:/trial"]`).
    static func label(_ subject: ResolvedSubject) -> String { "\(subject.kind):\(subject.value)" }

    /// Says on stderr that the programs are attached and what is watched.
    func announceAttached(_ what: String) {
        startBootTime = WallClock.bootNow()
        let elapsed = StartupClock.elapsedMilliseconds()
        var note = ""
        if !probe.missingSyscalls.isEmpty {
            note = " (no syscall number here: \(probe.missingSyscalls.joined(separator: ", ")))"
        }
        let missing = probe.blindSpots.filter(\.makesIncomplete)
        if !missing.isEmpty {
            note += " (not visible on this kernel: \(missing.map(\.description).joined(separator: "; ")))"
        }
        FileHandleWriter.standardError(
            "witness-agent: attached \(probe.programNames.count) programs (every syscall, \(probe.reportedSyscalls.count) reported) in \((elapsed * 10).rounded() / 10) ms\(note), \(rulesSummary); \(what)\n"
        )
    }

    func run() -> StopReason {
        // A test hook: holds user space back before the first drain, to show that what
        // the kernel decides (an armed window's activation) does not wait for it.
        if let hold = getenv("WITNESS_TEST_HOLD_CONSUMER_MS").flatMap({ UInt32(String(cString: $0)) }), hold <= 10_000 {
            usleep(hold * 1000)
        }
        return consumer.run()
    }

    /// What was seen and lost, after the loop ended.
    struct Accounting {
        var counts: EventCounts
        var alerts: UInt64
        var kernelDrops: UInt64
        var agentDrops: UInt64
        var records: UInt64
        var syscalls: SyscallProfile
        /// The window's runtime profile, when one was gathered.
        var profile: RuntimeProfile?
        var driftAlerts: Int
        /// Processes that left the subject's cgroup (the first few), and how many.
        var escapes: [SubjectEscape]
        var escapeCount: Int
        var detachMilliseconds: Double
    }

    /// Flushes output, reads the drop counters for `slot`, and detaches everything.
    func finish(slot: Int, at end: UInt64 = WallClock.bootNow()) -> Accounting {
        pipeline.endBatch()
        let syscalls = SyscallProfile(counts: probe.profile(slot: slot))
        let profile = pipeline.finishProfile(slot: slot, syscalls: syscalls, at: end)
        pipeline.flush()
        let drift = pipeline.windows[slot].driftAlerts
        let escapes = pipeline.windows[slot].escapeCount
        let accounting = Accounting(
            counts: pipeline.counts,
            alerts: (rules?.firedByRule.reduce(0) { $0 + UInt64($1) } ?? 0) + UInt64(drift) + UInt64(escapes),
            kernelDrops: probe.drops(slot: slot), agentDrops: pipeline.counts.undecodable + pipeline.unwrittenLines,
            records: consumer.recordsConsumed, syscalls: syscalls, profile: profile, driftAlerts: drift,
            escapes: pipeline.windows[slot].escapes, escapeCount: escapes, detachMilliseconds: 0)
        consumer.close()
        var finished = accounting
        let detachStart = WallClock.bootNow()
        probe.close()
        finished.detachMilliseconds = Double(WallClock.bootNow() - detachStart) / 1e6
        return finished
    }

    /// The closing line on stderr; loudly says when anything was lost.
    static func report(_ accounting: Accounting) {
        let types = accounting.counts.byType.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        var line = "witness-agent: \(accounting.counts.total) events"
        if !types.isEmpty { line += " (\(types))" }
        line += ", \(accounting.alerts) alert\(accounting.alerts == 1 ? "" : "s")"
        line +=
            "; lost \(accounting.kernelDrops) in kernel, \(accounting.agentDrops) in agent; detached in \((accounting.detachMilliseconds * 10).rounded() / 10) ms\n"
        FileHandleWriter.standardError(line)
        let lost = accounting.kernelDrops + accounting.agentDrops
        if lost > 0 {
            FileHandleWriter.standardError(
                "witness-agent: WARNING: \(lost) events were lost; this record is incomplete (a larger --ring-buffer may help)\n"
            )
        }
    }
}

/// The user-space half of a run — the rules engine and the event pipeline over one
/// process table — as `witness` and `trace` build it live and `replay` builds it
/// from a recording.
struct PipelineAssembly {
    let pipeline: EventPipeline
    let rules: RuleEngine?
    let rulesSummary: String

    init(
        loaded: LoadedRules?, sink: OutputSink, format: OutputFormat, colour: Bool, printsEvents: Bool,
        hostname: [UInt8], clock: WallClock, processes: ProcessTable, identities: CgroupIdentities
    ) {
        if let loaded {
            rules = RuleEngine(rules: loaded.rules)
            rulesSummary =
                "\(loaded.rules.count) rules" + (loaded.skipped.isEmpty ? "" : " (\(loaded.skipped.count) skipped)")
        } else {
            rules = nil
            rulesSummary = "no rules"
        }
        pipeline = EventPipeline(
            sink: sink, format: format, printsEvents: printsEvents, hostname: hostname, clock: clock,
            processes: processes, classifier: rules, colour: colour, identities: identities)
    }

    /// A window's alerts by class and by rule: the rules', the drift alerts and the escapes.
    func alerts(driftAlerts: Int, driftPriority: Priority, escapes: Int = 0) -> ([SeverityClass: Int], [(String, Int)])
    {
        var bySeverity = rules?.alertsBySeverity ?? [:]
        var byRule = rules?.alertsByRule ?? []
        DriftAlertWriter.tally(driftAlerts, priority: driftPriority, alerts: &bySeverity, rules: &byRule)
        SubjectEscape.tally(escapes, alerts: &bySeverity, rules: &byRule)
        return (bySeverity, byRule)
    }
}

/// Checks of subjects that `validate()` runs before any BPF is loaded, so that a
/// wrong PID or cgroup is one quick line, not a second of loading and detaching.
enum SubjectChecks {
    static func process(_ pid: Int32) throws {
        guard pid > 0 else { throw ValidationError("--pid must be a positive process id, got \(pid)") }
        guard kill(pid, 0) == 0 || errno == EPERM else { throw ValidationError("no process with pid \(pid)") }
    }

    /// Finds cgroups, pods and containers on this host.
    static func resolver() throws(AgentError) -> SubjectResolver {
        SubjectResolver(cgroups: try CgroupFS.detect())
    }
}

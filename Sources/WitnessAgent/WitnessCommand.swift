import ArgumentParser
import Glibc
import WitnessCore
import WitnessKernel
import WitnessRules

/// `witness-agent witness`: one witness window over a subject. Alerts stream while
/// it runs (every event too, with --events); the testimony is the last line.
struct WitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Witness a cgroup or process tree for one window and print the testimony.")

    @Option(name: .long, help: "The subject cgroup (v2): a path under the cgroup mount, or as /proc/PID/cgroup shows it.")
    var cgroup: String?

    @Option(name: .long, help: "The subject process tree: this live process and every descendant.")
    var pid: Int32?

    @Option(name: .customLong("pod-uid"), help: "The subject Kubernetes pod, by UID: every container of it, now or later.")
    var podUID: String?

    @Option(name: .customLong("container-id"), help: "The subject container, by id (12 to 64 hex digits, containerd:// allowed).")
    var containerID: String?

    @Option(name: .long, help: "How long the window stays open: 60s, 5m, 500ms.")
    var window: String = "60s"

    @Option(name: .customLong("trial-id"), help: "The trial this window testifies for.")
    var trialID: String?

    @Option(name: .long, help: "SOSTLE level L0..L7 of the trial: tightens hard denies.")
    var sostle: String?

    @Flag(name: .long, help: "Also print every witnessed event, as trace does.")
    var events = false

    @Option(name: .long, help: "Also write the testimony to FILE.")
    var testimony: String?

    @OptionGroup var common: CommonOptions

    @OptionGroup var rules: RulesOptions

    /// The one subject the flags name.
    var subject: SubjectSpec? {
        let given: [SubjectSpec?] = [cgroup.map { .cgroup($0) }, pid.map { .pid($0) }, podUID.map { .podUID($0) }, containerID.map { .containerID($0) }]
        let named = given.compactMap { $0 }
        return named.count == 1 ? named[0] : nil
    }

    func validate() throws {
        guard let subject else {
            throw ValidationError("witness needs exactly one subject: --cgroup PATH, --pod-uid UID, --container-id ID or --pid PID")
        }
        if let pid { try SubjectChecks.process(pid) }
        if case .pid = subject {} else { _ = try SubjectChecks.resolver().resolve(subject) }
        _ = try DurationParser.milliseconds(window)
        if let sostle { _ = try SostleLevel(sostle) }
    }

    func run() throws {
        let milliseconds = try DurationParser.milliseconds(window)
        let level = try sostle.map { (text) throws(AgentError) in try SostleLevel(text) }
        let session = try WitnessSession(options: common, rules: rules, printsEvents: events)
        let slot = 0
        let resolved = try SubjectChecks.resolver().resolve(subject!)
        let subjectKind = resolved.kind
        var subjectValue = resolved.value
        try session.watch(resolved, slot: slot)
        if resolved.kind == "cgroup", let directory = resolved.cgroupDirectory { subjectValue = directory }
        try session.consumer.stop(afterMilliseconds: milliseconds)
        session.announceAttached("witnessing \(subjectKind) \(subjectValue) for \(window)")
        let start = session.clock.epochNanoseconds(boot: session.startBootTime)
        let reason = session.run()
        let end = session.clock.epochNanoseconds(boot: WallClock.bootNow())
        let accounting = session.finish(slot: slot)
        let statement = Testimony(
            trialID: trialID, subjectKind: subjectKind, subjectValue: subjectValue,
            startEpochNanoseconds: start, endEpochNanoseconds: end, sostle: level, events: accounting.counts,
            alerts: session.rules?.alertsBySeverity ?? [:], rules: session.rules?.alertsByRule ?? [],
            kernelDrops: accounting.kernelDrops, agentDrops: accounting.agentDrops,
            end: reason == .timerExpired ? .elapsed : .shutdown, requestedMilliseconds: Int64(milliseconds),
            profile: accounting.profile, coverage: Coverage.assess(session.probe.blindSpots, profile: accounting.profile))
        let line = statement.json()
        session.pipeline.writeLine(line)
        if let testimony {
            let file = try OutputSink.appending(to: testimony)
            var copy = line + "\n"
            copy.withUTF8 { _ = file.write(UnsafeRawBufferPointer($0)) }
            file.sync()
        }
        WitnessSession.report(accounting)
    }
}

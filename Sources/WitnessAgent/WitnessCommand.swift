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

    func validate() throws {
        if (cgroup == nil) == (pid == nil) {
            throw ValidationError("witness needs exactly one subject: --cgroup PATH or --pid PID")
        }
        if let pid { try SubjectChecks.process(pid) }
        if let cgroup { try SubjectChecks.cgroup(cgroup) }
        _ = try DurationParser.milliseconds(window)
        if let sostle { _ = try SostleLevel(sostle) }
    }

    func run() throws {
        let milliseconds = try DurationParser.milliseconds(window)
        let level = try sostle.map { (text) throws(AgentError) in try SostleLevel(text) }
        let session = try WitnessSession(options: common, rules: rules, printsEvents: events)
        let slot = 0
        let subjectKind: String
        let subjectValue: String
        if let cgroup {
            let directory = try session.watchCgroup(cgroup, slot: slot)
            subjectKind = "cgroup"
            subjectValue = directory
        } else {
            let root = pid!
            try session.watchProcessTree(root: root, slot: slot)
            subjectKind = "pid"
            subjectValue = String(root)
        }
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
            cutShort: reason != .timerExpired)
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

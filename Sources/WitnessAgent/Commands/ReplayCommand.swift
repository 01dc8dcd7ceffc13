import ArgumentParser
import Glibc
import WitnessCore
import WitnessRules

/// `witness-agent replay FILE`: runs a recording's records through the pipeline a
/// live window uses — with the rules it was recorded with, the same alerts in the
/// same order; with other rules, the window re-scored — and prints the alerts (every
/// event with --events) and the testimony. Loads no BPF: needs no privilege.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a recording (witness --record) through the rules again and print alerts and the testimony.")

    @Argument(help: "A recording written by witness --record or a node window with record: true.")
    var file: String

    @Flag(name: .long, help: "Also print every recorded event, as trace does.")
    var events = false

    @Option(name: .long, help: "Output format: json or text (default: text on a terminal, json otherwise).")
    var output: OutputFormat?

    @Option(name: .long, help: "Hold the replayed window to this profile instead of the one it was recorded with.")
    var baseline: String?

    @OptionGroup var rules: RulesOptions

    func run() throws {
        let player = try RecordingPlayer(path: file)
        player.baselineOverride = try baseline.map { (path) throws(AgentError) in try ProfileReader.read(file: path) }
        let meta = player.metadata
        let format = output ?? (isatty(1) == 1 ? .text : .json)
        let clock = player.clock
        let identities = CgroupIdentities(mountPoint: nil)
        let assembly = PipelineAssembly(
            loaded: try rules.load(), sink: OutputSink(fd: 1), format: format,
            colour: format == .text && isatty(1) == 1, printsEvents: events,
            hostname: Array((meta["hostname"] ?? "").utf8), clock: clock, processes: player.makeProcessTable(),
            identities: identities)
        let pipeline = assembly.pipeline
        let slot = player.slot
        pipeline.label(
            slot: slot, as: meta["label"] ?? "\(meta["subjectKind"] ?? "subject"):\(meta["subjectValue"] ?? "")")
        pipeline.profiles.replaying()
        player.beginProfile(pipeline)
        let started = WallClock.bootNow()
        try player.play(into: pipeline, identities: identities)
        let seconds = Double(WallClock.bootNow() - started) / 1e9
        guard let end = player.end else { return }
        pipeline.flush()
        let syscalls = SyscallProfile(counts: end.syscalls)
        let profile = pipeline.finishProfile(slot: slot, syscalls: syscalls, at: end.endBootTime)
        pipeline.flush()
        let (alerts, byRule) = assembly.alerts(
            driftAlerts: pipeline.windows[slot].driftAlerts, driftPriority: player.driftPriority)
        var statement = Testimony(
            trialID: (meta["trialId"] ?? "").isEmpty ? nil : meta["trialId"], subjectKind: meta["subjectKind"] ?? "",
            subjectValue: meta["subjectValue"] ?? "",
            startEpochNanoseconds: clock.epochNanoseconds(boot: end.startBootTime),
            endEpochNanoseconds: clock.epochNanoseconds(boot: end.endBootTime),
            sostle: (meta["sostle"] ?? "").isEmpty ? nil : try SostleLevel(meta["sostle"] ?? ""),
            events: pipeline.counts,
            alerts: alerts, rules: byRule, kernelDrops: end.kernelDrops,
            agentDrops: end.agentDrops + end.skipped + pipeline.counts.undecodable,
            end: WindowEnd(rawValue: end.endReason) ?? .failed,
            requestedMilliseconds: Int64(meta["requestedMilliseconds"] ?? ""), windowID: meta["windowId"],
            profile: profile, coverage: end.coverage)
        statement.witnessedFromStart = end.witnessedFromStart
        statement.armedEpochNanoseconds = end.armedBootTime.map { clock.epochNanoseconds(boot: $0) }
        statement.found = end.found.map { pipeline.foundSummary(of: $0, slot: 0) }
        pipeline.writeLine(statement.json())
        var note = "witness-agent: replayed \(player.records) records in \((seconds * 1000).rounded() / 1000) s"
        if seconds > 0 { note += " (\(Int(Double(player.records) / seconds)) records/s)" }
        note += " from \(file)"
        if end.skipped > 0 {
            note +=
                "; \(end.skipped) records were left out when it was recorded (size limit): the testimony is incomplete"
        }
        FileHandleWriter.standardError(note + "\n")
    }
}

import ArgumentParser
import Glibc
import WitnessAttestation
import WitnessCore
import WitnessKernel
import WitnessRules

/// `witness-agent witness`: one witness window over a subject. Alerts stream while
/// it runs (every event too, with --events); the testimony is the last line.
struct WitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Witness a cgroup or process tree for one window and print the testimony.")

    @Option(
        name: .long, help: "The subject cgroup (v2): a path under the cgroup mount, or as /proc/PID/cgroup shows it.")
    var cgroup: String?

    @Option(name: .long, help: "The subject process tree: this live process and every descendant.")
    var pid: Int32?

    @Option(
        name: .customLong("pod-uid"), help: "The subject Kubernetes pod, by UID: every container of it, now or later.")
    var podUID: String?

    @Option(
        name: .customLong("container-id"),
        help: "The subject container, by id (12 to 64 hex digits, containerd:// allowed).")
    var containerID: String?

    @Option(name: .long, help: "How long the window stays open: 60s, 5m, 500ms.")
    var window: String = "60s"

    @Option(
        name: .customLong("arm-deadline"),
        help:
            "A subject that does not exist yet is waited for this long (the window arms and opens the moment its cgroup is created); then the window ends neverStarted."
    )
    var armDeadline: String = "5m"

    @Option(name: .customLong("trial-id"), help: "The trial this window testifies for.")
    var trialID: String?

    @Option(name: .long, help: "SOSTLE level L0..L7 of the trial: tightens hard denies.")
    var sostle: String?

    @Flag(name: .long, help: "Also print every witnessed event, as trace does.")
    var events = false

    @Option(name: .long, help: "Also write the testimony to FILE.")
    var testimony: String?

    @Option(
        name: .long,
        help:
            "Also write the testimony as a signed in-toto attestation (a DSSE envelope) to FILE; needs --signing-key.")
    var attestation: String?

    @Option(
        name: .customLong("signing-key"),
        help: "The Ed25519 private key (PKCS#8 PEM, mode 0400 or 0440) that signs --attestation.")
    var signingKey: String?

    @Option(
        name: .long,
        help: "Hold the window to this profile (a testimony or a profile JSON): anything new is a drift alert.")
    var baseline: String?

    @Option(name: .customLong("drift-priority"), help: "The Falco priority of drift alerts (default: warning).")
    var driftPriority: String = "warning"

    @Option(name: .long, help: "Also record the window's raw records to FILE (a new file), for `witness-agent replay`.")
    var record: String?

    @Option(
        name: .customLong("record-limit"),
        help: "Largest recording file: 64M, 1G (default 256M); later records are left out.")
    var recordLimit: String = "256M"

    @OptionGroup var common: CommonOptions

    @OptionGroup var rules: RulesOptions

    /// The one subject the flags name.
    var subject: SubjectSpec? {
        let given: [SubjectSpec?] = [
            cgroup.map { .cgroup($0) }, pid.map { .pid($0) }, podUID.map { .podUID($0) },
            containerID.map { .containerID($0) },
        ]
        let named = given.compactMap { $0 }
        return named.count == 1 ? named[0] : nil
    }

    func validate() throws {
        guard let subject else {
            throw ValidationError(
                "witness needs exactly one subject: --cgroup PATH, --pod-uid UID, --container-id ID or --pid PID")
        }
        if let pid { try SubjectChecks.process(pid) }
        if case .pid = subject {
        } else {
            let resolver = try SubjectChecks.resolver()
            // Not here yet: armed, when it can be (a cgroup path, a pod UID, a full container id).
            if (try? resolver.resolve(subject)) == nil {
                _ = try ArmedSubject.arming(subject, cgroups: resolver.cgroups)
            }
        }
        _ = try DurationParser.milliseconds(window)
        _ = try DurationParser.milliseconds(armDeadline)
        if let sostle { _ = try SostleLevel(sostle) }
        guard Priority(falcoName: driftPriority) != nil else {
            throw ValidationError(
                "bad --drift-priority '\(driftPriority)': use a Falco priority such as warning or error")
        }
        if let baseline { _ = try ProfileReader.read(file: baseline) }
        _ = try DurationParser.bytes(recordLimit)
        if let record, access(record, F_OK) == 0 {
            throw ValidationError("--record: '\(record)' exists; give a new file")
        }
        _ = try attestationKey()
    }

    /// The key --attestation is signed with, loaded before the window opens: a
    /// window never ends unsigned because of a key that could not be used.
    private func attestationKey() throws -> SigningKey? {
        switch (attestation, signingKey) {
        case (nil, nil): return nil
        case (.some, nil): throw ValidationError("--attestation needs --signing-key FILE")
        case (nil, .some): throw ValidationError("--signing-key is used only with --attestation FILE")
        case (.some, .some(let file)):
            do { return try SigningKey.load(file: file) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        let signer = try attestationKey()
        let milliseconds = try DurationParser.milliseconds(window)
        let level = try sostle.map { (text) throws(AgentError) in try SostleLevel(text) }
        let session = try WitnessSession(options: common, rules: rules, printsEvents: events)
        let slot = 0
        let resolver = try SubjectChecks.resolver()
        let resolved = try? resolver.resolve(subject!)
        let armed = resolved == nil ? try ArmedSubject.arming(subject!, cgroups: resolver.cgroups) : nil
        let subjectKind = resolved?.kind ?? armed!.kind
        var subjectValue = resolved?.value ?? armed!.value
        var settings = WindowProfiles.Settings(driftPriority: Priority(falcoName: driftPriority) ?? .warning)
        let lockedProfile = try baseline.map { (path) throws(AgentError) in try ProfileReader.read(file: path) }
        settings.baseline = lockedProfile.map(ProfileBaseline.init)
        if resolved?.kind == "cgroup", let directory = resolved?.cgroupDirectory { subjectValue = directory }
        var recording: RecordingWriter?
        if let record {
            let writer = try RecordingWriter(
                path: record, subjects: ~0, maxBytes: UInt64(try DurationParser.bytes(recordLimit)),
                metadata: RecordingMetadata.live(
                    clock: session.clock, subjectKind: subjectKind, subjectValue: subjectValue,
                    label: "\(subjectKind):\(resolved?.value ?? armed!.value)", trialID: trialID, sostle: level,
                    requestedMilliseconds: milliseconds, rules: rules.files))
            if let lockedProfile { writer.baseline(lockedProfile, priority: settings.driftPriority) }
            session.pipeline.startRecording(writer)
            recording = writer
        }
        let opening = try open(
            session, slot: slot, resolver: resolver, resolved: resolved, armed: armed, settings: settings,
            milliseconds: milliseconds)
        session.announceAttached(
            opening.activeAt == nil
                ? "armed for \(subjectKind) \(subjectValue), waiting up to \(armDeadline) for it to be created"
                : "witnessing \(subjectKind) \(subjectValue) for \(window)")
        let reason = session.run()
        let endBootTime = WallClock.bootNow()
        let startBootTime = opening.activeAt ?? opening.armedAt ?? session.startBootTime
        let start = session.clock.epochNanoseconds(boot: startBootTime)
        let end = session.clock.epochNanoseconds(boot: endBootTime)
        let accounting = session.finish(slot: slot, at: endBootTime)
        let (alerts, rules) = session.assembly.alerts(
            driftAlerts: accounting.driftAlerts, driftPriority: settings.driftPriority, escapes: accounting.escapeCount)
        let endReason: WindowEnd =
            opening.activeAt == nil ? .neverStarted : (reason == .timerExpired ? .elapsed : .shutdown)
        let coverage = Coverage.assess(session.probe.blindSpots, profile: accounting.syscalls)
        let witnessedFromStart = opening.witnessedFromStart
        let found = session.pipeline.found(slot: slot)
        var recorded: RecordingWriter.Summary?
        if let recording {
            var ending = RecordingWriter.Ending(
                startBootTime: startBootTime, endBootTime: endBootTime, endReason: endReason.rawValue,
                kernelDrops: accounting.kernelDrops, agentDrops: accounting.agentDrops,
                syscalls: accounting.syscalls.counts, coverage: coverage)
            ending.witnessedFromStart = witnessedFromStart
            ending.armedBootTime = opening.armedAt
            ending.found = found
            let summary = recording.finish(ending)
            var line = "witness-agent: recorded \(summary.records) records in \(summary.bytes) bytes to \(summary.path)"
            if summary.truncated { line += " (cut at --record-limit: later records left out)" }
            if let error = summary.error { line += "; WARNING: the recording is incomplete: \(error)" }
            FileHandleWriter.standardError(line + "\n")
            recorded = summary
        }
        var statement = Testimony(
            trialID: trialID, subjectKind: subjectKind, subjectValue: subjectValue,
            startEpochNanoseconds: start, endEpochNanoseconds: end, sostle: level, events: accounting.counts,
            alerts: alerts, rules: rules, kernelDrops: accounting.kernelDrops, agentDrops: accounting.agentDrops,
            end: endReason, requestedMilliseconds: Int64(milliseconds),
            profile: accounting.profile, coverage: coverage, recording: recorded)
        statement.witnessedFromStart = witnessedFromStart
        statement.armedEpochNanoseconds = opening.armedAt.map { session.clock.epochNanoseconds(boot: $0) }
        statement.found = found
        statement.escapes = accounting.escapes
        statement.escapeCount = accounting.escapeCount
        let line = statement.json()
        session.pipeline.writeLine(line)
        if let testimony { try Self.append(line, to: testimony) }
        if let attestation, let signer {
            let context = AttestationContext(
                nodeName: String(decoding: HostName.current(), as: UTF8.self), agentVersion: WitnessVersion.current,
                rules: RulesDigest(session.rulesSources.map { ($0.name, $0.text) }))
            let payload = RuntimeTraceStatement.json(testimony: statement, testimonyJSON: line, context: context)
            let envelope = try signer.envelope(statement: payload)
            try Self.append(envelope.json(), to: attestation)
        }
        WitnessSession.report(accounting)
        if endReason == .neverStarted {
            throw AgentError.runtime(
                "\(subjectKind) \(subjectValue) was not created within --arm-deadline \(armDeadline)")
        }
    }

    /// Appends `line` and a newline to `path`, synced; a write that fails (a full
    /// disk) is an error naming the file, never a testimony silently cut.
    private static func append(_ line: String, to path: String) throws {
        let file = try OutputSink.appending(to: path)
        var copy = line + "\n"
        guard copy.withUTF8({ file.write(UnsafeRawBufferPointer($0)) }) else {
            throw AgentError.runtime("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        file.sync()
    }

    /// Opens the window: armed for a subject not created yet (active when the kernel
    /// sees its cgroup made), or watching one that exists (what it runs judged as
    /// found); the consumer's timer set to the deadline or the window's length.
    private func open(
        _ session: WitnessSession, slot: Int, resolver: SubjectResolver, resolved found: ResolvedSubject?,
        armed: ArmedSubject?, settings: WindowProfiles.Settings, milliseconds: Int
    ) throws -> WindowOpening {
        let opening = WindowOpening()
        var resolved = found
        if let armed {
            try session.arm(armed, slot: slot, profile: settings)
            opening.armedAt = WallClock.bootNow()
            session.pipeline.onActivation = { [session] activation in
                guard activation.subjects & (1 << UInt64(slot)) != 0, opening.activeAt == nil else { return }
                opening.activeAt = activation.bootTime
                opening.witnessedFromStart = true
                let late = Int((WallClock.bootNow() &- activation.bootTime) / 1_000_000)
                try? session.consumer.stop(afterMilliseconds: max(0, milliseconds - late))
                FileHandleWriter.standardError(
                    "witness-agent: \(armed.kind) \(armed.value) created: witnessed from birth for \(self.window)\n")
            }
            try session.consumer.stop(afterMilliseconds: try DurationParser.milliseconds(armDeadline))
            // Created between the first look and the arming: the kernel did not see it
            // made; a record of an activation already made is taken first.
            resolved = try? resolver.resolve(subject!)
            if resolved != nil { session.consumer.drainNow() }
        }
        if let resolved, opening.activeAt == nil {
            let watched = try session.watch(
                resolved, slot: slot, profile: armed == nil ? settings : nil, judgeFound: true)
            opening.activeAt = WallClock.bootNow()
            // Kernel evidence only: the cgroup held no task once its bit was set.
            opening.witnessedFromStart = watched.members.isEmpty
            try session.consumer.stop(afterMilliseconds: milliseconds)
        }
        return opening
    }

}

/// How a `witness` window began: armed for a subject not created yet (when), active
/// (when, and whether from the subject's birth).
final class WindowOpening {
    var armedAt: UInt64?
    var activeAt: UInt64?
    var witnessedFromStart = false
}

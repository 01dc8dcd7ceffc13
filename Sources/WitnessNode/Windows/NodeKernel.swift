import Foundation
import Glibc
import Synchronization
import WitnessCore
import WitnessKernel
import WitnessRules

/// The kernel side of node mode: the BPF programs loaded and verified once, linked
/// only while at least one window is open (a node nobody witnesses pays nothing per
/// syscall), the ring buffer consumed on one dedicated thread, and a mailbox through
/// which other threads (the API) add and remove window subjects. Everything the pipeline owns —
/// process table, rules, per-window tallies — is touched only on that thread, so
/// the hot path takes no lock; a command costs one eventfd write to wake it.
package final class NodeKernel: @unchecked Sendable {
    /// What the metrics endpoint reports, read on the consumer thread.
    package struct Snapshot: Sendable {
        package var events = EventCounts()
        package var alertsByRule: [(rule: String, priority: String, count: Int)] = []
        package var kernelDrops = WitnessProbe.KernelDrops()
        package var agentDrops: UInt64 = 0
        package var records: UInt64 = 0
        package var ringBufferBytes = 0
    }

    /// What a window counted, handed back when its subject is removed.
    package struct Closing: Sendable {
        package var tally: WindowSlots.Tally
        package var kernelDrops: UInt64
        /// The kernel's syscall counts, and the runtime profile built around them.
        package var syscalls: SyscallProfile?
        package var profile: RuntimeProfile?
        /// Drift alerts the window's baseline raised.
        package var driftAlerts = 0
        /// Processes that left the window's cgroup (the first few), and how many.
        package var escapes: [SubjectEscape] = []
        package var escapeCount = 0
        /// What this kernel could not see, and what of it the subject used.
        package var coverage: Coverage?
        /// The window's recording, finished.
        package var recording: RecordingWriter.Summary?
        /// What it found running (as it opened, and brought in from outside later).
        package var found: FoundSummary?
    }

    /// What a window found as its subject was attached.
    package struct Attached: Sendable {
        /// The subject had no process when its bit was set (kernel evidence).
        package var witnessedFromStart = false
    }

    private enum Command {
        case attach(
            slot: Int, subject: ResolvedSubject, label: String, profile: WindowProfiles.Settings,
            recording: RecordingWriter?, reply: @Sendable (Result<Attached, AgentError>) -> Void)
        case arm(
            slot: Int, subject: ArmedSubject, label: String, profile: WindowProfiles.Settings,
            recording: RecordingWriter?, reply: @Sendable (AgentError?) -> Void)
        case activateLate(slot: Int, subject: ResolvedSubject, reply: @Sendable (Result<Attached?, AgentError>) -> Void)
        case detach(
            slot: Int, subject: ResolvedSubject, end: WindowEnd, beginning: Attached, reply: @Sendable (Closing) -> Void
        )
        case snapshot(reply: @Sendable (Snapshot) -> Void)
        case perform(@Sendable () -> Void)
    }

    package let probe: WitnessProbe
    package let pipeline: EventPipeline
    package let rules: RuleEngine?
    package let clock: WallClock
    /// The open windows, by slot (the pipeline's): the programs are linked while there is one.
    var windows: WindowSlots { pipeline.windows }
    private let consumer: RingBufferConsumer
    private let cgroups: CgroupFS
    private let mailbox = Mutex<(commands: [Command], stopped: Bool)>(([], false))
    /// Counts the consumer thread's finished batches and command lists: what /healthz
    /// compares with the work waiting for it.
    private let progress = Heartbeat()
    private let watchdog = Mutex(Watchdog())
    /// Held while commands run: the consumer thread's, and once it stopped, a caller's.
    private let executing = Mutex(())
    private let alwaysLinked: Bool
    /// Hears, on the consumer thread, that an armed window's cgroup was created: its slot and when (boot time).
    private let activationHandler = Mutex<(@Sendable (Int, UInt64) -> Void)?>(nil)
    private var finished: AsyncStream<StopReason>.Continuation?
    private let done: AsyncStream<StopReason>

    package init(
        probeOptions: WitnessProbe.Options, rules loaded: LoadedRules?, sink: OutputSink, printsEvents: Bool,
        alwaysLinked: Bool = false, alertTap: (any AlertTap)?, cgroups: CgroupFS, processes: ProcessTable,
        hostname: [UInt8],
        pods: (any PodMetadataSource)? = nil
    ) throws {
        let clock = WallClock()
        self.clock = clock
        self.cgroups = cgroups
        var options = probeOptions
        options.link = alwaysLinked  // else linked by the first window, before its subject is admitted
        self.alwaysLinked = alwaysLinked
        probe = try WitnessProbe(options: options)
        let identities = CgroupIdentities(mountPoint: cgroups.mountPoint)
        identities.pods = pods
        let rules = loaded.map {
            RuleEngine(rules: $0.rules)
        }
        self.rules = rules
        let pipeline = EventPipeline(
            sink: sink, format: .json, printsEvents: printsEvents, hostname: hostname, clock: clock,
            processes: processes, classifier: rules, identities: identities)
        pipeline.alertTap = alertTap
        self.pipeline = pipeline
        let progress = self.progress
        consumer = try RingBufferConsumer(
            probe: probe, onRecord: { pipeline.handle($0) },
            onBatchEnd: {
                pipeline.endBatch()
                progress.beat()
            })
        (done, finished) = AsyncStream.makeStream(of: StopReason.self)
        consumer.onWake = { [unowned self] in
            self.runCommands()
            self.pipeline.endBatch()  // and the executable hashes that arrived
        }
        let wake = ConsumerWake(consumer)
        pipeline.profiles.wake = { wake.ring() }
        pipeline.onActivation = { [unowned self] activation in self.activated(activation) }
    }

    /// Where armed windows' activations go (the registry).
    func onWindowActivated(_ handler: @escaping @Sendable (Int, UInt64) -> Void) {
        activationHandler.withLock { $0 = handler }
    }

    /// On the consumer thread: the cgroup of armed windows was created (and made their
    /// subject by the kernel). The first cgroup is the one each window keeps.
    private func activated(_ activation: WindowActivation) {
        var bits = activation.subjects & windows.activeMask
        let handler = activationHandler.withLock { $0 }
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            guard windows[slot].cgroupID == nil else { continue }
            windows.setCgroupID(slot: slot, activation.cgroupID)
            handler?(slot, activation.bootTime)
        }
    }

    /// Starts the consumer thread.
    package func start() {
        let thread = Thread { [self] in
            // Named for operators (top -H, /proc/PID/task/*/comm): the kernel keeps 15 bytes.
            let comm = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if comm >= 0 {
                _ = "witness-consume".withCString { write(comm, $0, 15) }
                close(comm)
            }
            let reason = consumer.run()
            pipeline.flush()
            // Whatever arrived after the loop ended is answered, not left waiting.
            mailbox.withLock { $0.stopped = true }
            runCommands()
            finished?.yield(reason)
            finished?.finish()
        }
        thread.start()
    }

    /// Ends the consumer loop and waits for it; then detaches every program.
    package func stop() async {
        consumer.requestStop()
        for await _ in done {}
        consumer.close()
        probe.close()
    }

    /// Makes `subject` witnessed under `slot`; what it already runs is judged (found events).
    @discardableResult
    package func attach(
        slot: Int, subject: ResolvedSubject, label: String, profile: WindowProfiles.Settings = .init(),
        recording: RecordingWriter? = nil
    ) async throws(AgentError) -> Attached {
        let result: Result<Attached, AgentError> = await withCheckedContinuation { continuation in
            send(
                .attach(
                    slot: slot, subject: subject, label: label, profile: profile, recording: recording,
                    reply: { continuation.resume(returning: $0) }))
        }
        return try result.get()
    }

    /// Arms `slot` for a subject not created yet: its window counts from now, and the
    /// kernel makes the subject's cgroup its subject the moment it is created.
    package func arm(
        slot: Int, subject: ArmedSubject, label: String, profile: WindowProfiles.Settings = .init(),
        recording: RecordingWriter? = nil
    ) async throws(AgentError) {
        let error: AgentError? = await withCheckedContinuation { continuation in
            send(
                .arm(
                    slot: slot, subject: subject, label: label, profile: profile, recording: recording,
                    reply: { continuation.resume(returning: $0) }))
        }
        if let error { throw error }
    }

    /// An armed window whose subject appeared before the kernel could see it made:
    /// watched (and judged as found) now. Nil when the kernel did see it made after all.
    func activateLate(slot: Int, subject: ResolvedSubject) async throws(AgentError) -> Attached? {
        let result: Result<Attached?, AgentError> = await withCheckedContinuation { continuation in
            send(.activateLate(slot: slot, subject: subject, reply: { continuation.resume(returning: $0) }))
        }
        return try result.get()
    }

    /// Stops witnessing `slot` and returns what its window counted.
    /// `beginning`: how the window began, for its recording's end.
    func detach(
        slot: Int, subject: ResolvedSubject, end: WindowEnd = .elapsed, beginning: Attached = Attached()
    ) async -> Closing {
        await withCheckedContinuation { continuation in
            send(
                .detach(
                    slot: slot, subject: subject, end: end, beginning: beginning,
                    reply: { continuation.resume(returning: $0) }))
        }
    }

    package func snapshot() async -> Snapshot {
        await withCheckedContinuation { continuation in
            send(.snapshot(reply: { continuation.resume(returning: $0) }))
        }
    }

    /// What the windows in `slots` have counted so far (their journal checkpoint).
    package func checkpoint(slots: [Int]) async -> [Int: Closing] {
        await withCheckedContinuation { continuation in
            perform { [self] in
                var counted: [Int: Closing] = [:]
                for slot in slots where windows.activeMask & (1 << UInt64(slot)) != 0 {
                    counted[slot] = Closing(
                        tally: windows[slot].tally, kernelDrops: probe.drops(slot: slot) &- windows[slot].dropBaseline,
                        driftAlerts: windows[slot].driftAlerts, escapeCount: windows[slot].escapeCount)
                }
                continuation.resume(returning: counted)
            }
        }
    }

    /// Runs `work` on the consumer thread, after what it has buffered is written:
    /// lines written there (testimonies) never cut into a batch of alert lines.
    func perform(_ work: @escaping @Sendable () -> Void) {
        send(.perform(work))
    }

    private func send(_ command: Command) {
        let accepted = mailbox.withLock { state in
            if state.stopped { return false }
            state.commands.append(command)
            return true
        }
        if accepted {
            consumer.wake()
        } else {
            // After the loop: run here, but never beside the consumer thread's last commands.
            executing.withLock { _ in run(command, stopped: true) }
        }
    }

    /// On the consumer thread.
    private func runCommands() {
        let commands = mailbox.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
        let stopped = mailbox.withLock { $0.stopped }
        executing.withLock { _ in
            for command in commands { run(command, stopped: stopped) }
        }
        progress.beat()
    }

    /// Why the consumer thread counts as stuck, or nil: records or commands have
    /// waited for it, with no batch finished, across checks more than `limit` apart
    /// (a /proc read that never returns, a thread stopped). Work that arrived just
    /// before a check is not a stall: it must still be waiting, untouched, at a
    /// later check. An idle consumer with nothing waiting is never stuck.
    func stall(after limit: Duration) -> String? {
        let commands = mailbox.withLock { $0.commands.count }
        let pending = commands > 0 || probe.ringBufferFill() > 0
        let batches = progress.batches
        let now = WallClock.bootNow()
        return watchdog.withLock { watch -> String? in
            guard pending, watch.pending, batches == watch.batches else {
                watch = Watchdog(pending: pending, batches: batches, since: now)
                return nil
            }
            let waited = Duration.nanoseconds(Int64(now &- watch.since))
            guard waited > limit else { return nil }
            return "the consumer has not drained for \(waited.components.seconds) s while "
                + (commands > 0 ? "\(commands) window commands wait" : "records wait in the ring buffer")
        }
    }

    /// What the last liveness check saw.
    private struct Watchdog {
        var pending = false
        var batches: UInt64 = 0
        var since: UInt64 = 0
    }

    private func run(_ command: Command, stopped: Bool) {
        switch command {
        case let .attach(slot, subject, label, profile, recording, reply):
            attachNow(
                slot: slot, subject: subject, label: label, profile: profile, recording: recording, reply: reply,
                stopped: stopped)
        case let .arm(slot, subject, label, profile, recording, reply):
            armNow(
                slot: slot, subject: subject, label: label, profile: profile, recording: recording, reply: reply,
                stopped: stopped)
        case let .activateLate(slot, subject, reply):
            activateLateNow(slot: slot, subject: subject, reply: reply, stopped: stopped)
        case let .detach(slot, subject, end, beginning, reply):
            detachNow(slot: slot, subject: subject, end: end, beginning: beginning, reply: reply, stopped: stopped)
        case let .snapshot(reply):
            snapshotNow(reply: reply, stopped: stopped)
        case let .perform(work):
            pipeline.flush()
            work()
        }
    }

    /// Opens `slot`'s window and watches its subject (judging what it already runs).
    private func attachNow(
        slot: Int, subject: ResolvedSubject, label: String, profile: WindowProfiles.Settings,
        recording: RecordingWriter?, reply: @Sendable (Result<Attached, AgentError>) -> Void, stopped: Bool
    ) {
        guard !stopped else { return reply(.failure(AgentError.runtime("the agent is shutting down"))) }
        do throws(AgentError) {
            // Linked before the subject is admitted, so its first syscall is seen;
            // the drop baseline read before, so no loss of the window is lost.
            do throws(BPFError) {
                try probe.link()
            } catch {
                throw AgentError.runtime(error.message)
            }
            windows.open(slot: slot, label: label, dropBaseline: probe.drops(slot: slot), recording: recording)
            probe.resetProfile(slot: slot)
            let members: [Int32]
            let cgroupID: UInt64?
            do throws(AgentError) {
                let watched = try probe.watch(subject, slot: slot, cgroups: cgroups, processes: pipeline.processes)
                windows.setCgroupID(slot: slot, watched.cgroupID)
                members = watched.members
                cgroupID = watched.cgroupID
            } catch {
                _ = windows.close(slot: slot)
                if windows.isEmpty && !alwaysLinked { probe.unlink() }
                throw error
            }
            pipeline.beginWindow(slot: slot)
            pipeline.beginProfile(slot: slot, profile)
            // Before the subject's processes are noted: the recording keeps what they hold open.
            if let recording { pipeline.startRecording(recording) }
            pipeline.noteRunningSubject(members, slot: slot, cgroupID: cgroupID, judge: true)
            reply(.success(Attached(witnessedFromStart: members.isEmpty)))
        } catch {
            reply(.failure(error))
        }
    }

    /// Opens `slot`'s window armed for a subject not created yet.
    private func armNow(
        slot: Int, subject: ArmedSubject, label: String, profile: WindowProfiles.Settings, recording: RecordingWriter?,
        reply: @Sendable (AgentError?) -> Void, stopped: Bool
    ) {
        guard !stopped else { return reply(AgentError.runtime("the agent is shutting down")) }
        do throws(BPFError) {
            try probe.link()
            windows.open(slot: slot, label: label, dropBaseline: probe.drops(slot: slot), recording: recording)
            probe.resetProfile(slot: slot)
            do throws(BPFError) {
                try probe.arm(names: subject.names, slot: slot)
            } catch {
                _ = windows.close(slot: slot)
                if windows.isEmpty && !alwaysLinked { probe.unlink() }
                throw error
            }
            pipeline.beginWindow(slot: slot)
            pipeline.beginProfile(slot: slot, profile)
            if let recording { pipeline.startRecording(recording) }
            reply(nil)
        } catch {
            reply(error.isUsageError ? AgentError.usage(error.message) : AgentError.runtime(error.message))
        }
    }

    /// Watches an armed window's subject made before the kernel could see it made.
    private func activateLateNow(
        slot: Int, subject: ResolvedSubject, reply: @Sendable (Result<Attached?, AgentError>) -> Void, stopped: Bool
    ) {
        guard !stopped else { return reply(.failure(AgentError.runtime("the agent is shutting down"))) }
        // An activation already in the ring is taken first: then the kernel saw it made.
        consumer.drainNow()
        guard windows[slot].cgroupID == nil else { return reply(.success(nil)) }
        do throws(AgentError) {
            let watched = try probe.watch(subject, slot: slot, cgroups: cgroups, processes: pipeline.processes)
            windows.setCgroupID(slot: slot, watched.cgroupID)
            pipeline.noteRunningSubject(watched.members, slot: slot, cgroupID: watched.cgroupID, judge: true)
            reply(.success(Attached(witnessedFromStart: watched.members.isEmpty)))
        } catch {
            reply(.failure(error))
        }
    }

    /// Closes `slot`'s window and hands back all it counted.
    private func detachNow(
        slot: Int, subject: ResolvedSubject, end: WindowEnd, beginning: Attached, reply: @Sendable (Closing) -> Void,
        stopped: Bool
    ) {
        if !stopped {
            remove(subject, cgroupID: windows[slot].cgroupID, slot: slot)
            // Records the subject made before its removal are still in the ring.
            consumer.drainNow()
            pipeline.flush()
        }
        let drops = stopped ? 0 : probe.drops(slot: slot) &- windows[slot].dropBaseline
        let syscalls = stopped ? nil : SyscallProfile(counts: probe.profile(slot: slot))
        // The profile's last drift (hashes, the kernel's counts) is alerted before the
        // tally is handed over; hashes are waited for a bounded time.
        // Held to a baseline, an unhashed program is drift: worth a second's wait. Otherwise
        // a short one: the consumer thread serves every window.
        let wait = pipeline.profiles.builder(slot: slot)?.baseline == nil ? 200 : 1000
        let closedAt = WallClock.bootNow()
        let profile = pipeline.finishProfile(slot: slot, syscalls: syscalls, at: closedAt, waitMilliseconds: wait)
        pipeline.flush()
        // All the window held, and the slot empty: the next window there starts clean.
        let found = pipeline.found(slot: slot)
        let window = windows.close(slot: slot)
        if windows.isEmpty && !stopped && !alwaysLinked { probe.unlink() }
        let tally = window.tally
        let coverage = Coverage.assess(probe.blindSpots, profile: syscalls)
        var summary: RecordingWriter.Summary?
        if let recording = window.recording {
            pipeline.stopRecording(recording)
            var ending = RecordingWriter.Ending(
                startBootTime: window.openedAt, endBootTime: closedAt, endReason: end.rawValue,
                kernelDrops: drops, agentDrops: tally.agentDrops, syscalls: syscalls?.counts ?? [],
                coverage: coverage)
            ending.witnessedFromStart = beginning.witnessedFromStart
            ending.found = found
            summary = recording.finish(ending)
        }
        reply(
            Closing(
                tally: tally, kernelDrops: drops, syscalls: syscalls, profile: profile,
                driftAlerts: window.driftAlerts, escapes: window.escapes, escapeCount: window.escapeCount,
                coverage: coverage, recording: summary, found: found))
    }

    /// What the metrics endpoint reports.
    private func snapshotNow(reply: @Sendable (Snapshot) -> Void, stopped: Bool) {
        var snapshot = Snapshot()
        snapshot.events = pipeline.counts
        snapshot.agentDrops = pipeline.counts.undecodable + pipeline.unwrittenLines
        snapshot.records = consumer.recordsConsumed
        snapshot.ringBufferBytes = probe.ringBufferBytes
        if !stopped { snapshot.kernelDrops = probe.drops() }
        if let rules {
            snapshot.alertsByRule = rules.firedByRule.enumerated().filter { $0.element > 0 }.map {
                (rules.rules[$0.offset].name, "\(rules.rules[$0.offset].priority.name)", $0.element)
            }
        }
        reply(snapshot)
    }

    private func remove(_ subject: ResolvedSubject, cgroupID: UInt64?, slot: Int) {
        if subject.cgroupDirectory != nil, let id = cgroupID {
            try? probe.removeCgroupSubject(cgroupID: id, slot: slot)
            // Processes that left the cgroup were followed as a process tree.
            try? probe.removePidSubject(slot: slot)
        } else if subject.pid != nil {
            try? probe.removePidSubject(slot: slot)
        } else {
            // Armed: no cgroup created from now on is its subject, and none made so far.
            try? probe.disarm(slot: slot)
            try? probe.removeCgroupSubjects(slot: slot)
            try? probe.removePidSubject(slot: slot)
        }
    }
}

/// The consumer thread's progress, read by /healthz from another thread: batches
/// drained and command lists run.
private final class Heartbeat: Sendable {
    private let count = Atomic<UInt64>(0)

    func beat() { count.add(1, ordering: .relaxed) }

    var batches: UInt64 { count.load(ordering: .relaxed) }
}

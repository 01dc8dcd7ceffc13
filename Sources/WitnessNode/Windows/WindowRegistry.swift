import Glibc
import WitnessCore
import WitnessKernel
import WitnessRules

/// Why a window could not be opened or found, with the HTTP status the API answers.
package struct WindowError: Error, Sendable {
    package enum Kind: Sendable {
        case badRequest, notFound, unavailable
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The witness windows of this node: opened by the controller, each given one of
/// the 64 subject slots, closed when its time is up (or early, or at shutdown) with a
/// testimony. Opening and closing only add and remove BPF map entries through the
/// kernel's mailbox; programs stay loaded. Closed windows are kept (the newest
/// `closedKept`) so the controller can fetch a testimony it missed.
package actor WindowRegistry {
    private let kernel: NodeKernel
    private let resolver: SubjectResolver
    private let streams: AlertStreams
    private let router: AlertRouter?
    /// Hands a testimony to the outputs; false when it could not be stored (the
    /// window then stays journaled: a restart testifies for it rather than nobody).
    private let onTestimony: @Sendable (String) -> Bool
    private let maxMilliseconds: Int
    private var windows: [String: WitnessWindow] = [:]
    private var order: [String] = []
    private var freeSlots = Array((0..<WindowSlots.slotCount).reversed())
    private var timers: [String: Task<Void, Never>] = [:]
    private var closing: [String: Task<WitnessWindow, Never>] = [:]
    private var accepting = true
    private let closedKept = 256
    /// Open windows on disk, checkpointed; nil: no crash safety (tests of parts).
    private let journal: WindowJournal?
    /// Where windows asked to record write their recordings; nil: recording refused.
    private let recordings: WindowRecordings?
    /// Signs testimonies; nil: they go unsigned.
    private let notary: TestimonyNotary?
    private var checkpoints: Task<Void, Never>?

    package init(
        kernel: NodeKernel, resolver: SubjectResolver, streams: AlertStreams, router: AlertRouter?,
        maxMilliseconds: Int, journal: WindowJournal? = nil, recordings: WindowRecordings? = nil,
        notary: TestimonyNotary? = nil, onTestimony: @escaping @Sendable (String) -> Bool
    ) {
        self.notary = notary
        self.journal = journal
        self.recordings = recordings
        self.kernel = kernel
        self.resolver = resolver
        self.streams = streams
        self.router = router
        self.maxMilliseconds = maxMilliseconds
        self.onTestimony = onTestimony
    }

    /// Windows witnessing now.
    var openCount: Int { windows.values.filter { $0.state == .active }.count }
    /// Windows armed, waiting for their subject's cgroup.
    var armedCount: Int { windows.values.filter { $0.state == .armed }.count }

    package func open(_ asked: WindowRequest) async throws(WindowError) -> WitnessWindow {
        guard accepting else { throw WindowError(.unavailable, "the agent is shutting down") }
        var request = asked
        if let reference = request.baselineWindow {
            guard let earlier = windows[reference], let testimony = earlier.testimony else {
                throw WindowError(
                    .notFound, "baseline: no closed window '\(WindowRequestParser.printable(reference))' on this node")
            }
            do { request.baseline = try ProfileReader.parse(Array(testimony.utf8)) } catch {
                throw WindowError(
                    .badRequest, "baseline: window \(WindowRequestParser.printable(reference)): \(error.message)")
            }
        }
        guard request.milliseconds > 0, request.milliseconds <= maxMilliseconds else {
            throw WindowError(.badRequest, "window must be longer than 0 and at most \(maxMilliseconds / 1000)s")
        }
        let (subject, armed) = try resolveOrArm(request)
        guard let slot = freeSlots.popLast() else {
            throw WindowError(.unavailable, "all \(WindowSlots.slotCount) window slots are in use; close one first")
        }
        let id = Self.newID()
        var window = WitnessWindow(
            id: id, request: request, subject: subject, slot: slot,
            openedEpochNanoseconds: kernel.clock.epochNanoseconds(boot: WallClock.bootNow()))
        var recording: RecordingWriter?
        if request.record {
            guard let recordings else {
                freeSlots.append(slot)
                throw WindowError(.badRequest, "recording is not available on this node")
            }
            do {
                let recordingNow = Set(windows.values.filter { $0.state != .closed }.compactMap(\.recording))
                recording = try recordings.start(window: window, clock: kernel.clock, open: recordingNow)
            } catch {
                freeSlots.append(slot)
                throw WindowError(.unavailable, error.message)
            }
            window.recording = recording?.path
        }
        streams.open(window: id, slot: slot)
        if let armed { return try await openArmed(window, armed, recording: recording) }
        do {
            let attached = try await kernel.attach(
                slot: slot, subject: subject, label: "window:\(id)",
                profile: WindowProfiles.Settings(
                    baseline: request.baseline.map(ProfileBaseline.init), driftPriority: request.driftPriority),
                recording: recording)
            window.witnessedFromStart = attached.witnessedFromStart
        } catch {
            streams.close(window: id, slot: slot)
            freeSlots.append(slot)
            recording?.discard()
            throw WindowError(error.exitCode == 2 ? .notFound : .unavailable, error.message)
        }
        guard accepting else {
            // Shutdown began while the subject was being attached: no window to leave open.
            _ = await kernel.detach(slot: slot, subject: subject)
            streams.close(window: id, slot: slot)
            freeSlots.append(slot)
            recording?.discard()
            throw WindowError(.unavailable, "the agent is shutting down")
        }
        windows[id] = window
        order.append(id)
        journal?.save(journalEntry(window, counted: nil))
        let milliseconds = request.milliseconds
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(milliseconds))
            guard !Task.isCancelled else { return }
            _ = await self?.close(id, end: .elapsed)
        }
        return window
    }

    /// The request's subject on this node, or — not here yet, with an `armDeadline` —
    /// the subject to arm for.
    private func resolveOrArm(_ request: WindowRequest) throws(WindowError) -> (ResolvedSubject, ArmedSubject?) {
        do {
            return (try resolver.resolve(request.subject), nil)
        } catch {
            // Requests are validated when parsed: what fails here is not on this node.
            guard let deadline = request.armMilliseconds else { throw WindowError(.notFound, error.message) }
            guard deadline <= maxMilliseconds else {
                throw WindowError(.badRequest, "armDeadline must be at most \(maxMilliseconds / 1000)s")
            }
            do throws(AgentError) {
                let armed = try ArmedSubject.arming(request.subject, cgroups: resolver.cgroups)
                return (ResolvedSubject(kind: armed.kind, value: armed.value), armed)
            } catch let refusal {
                throw WindowError(.notFound, refusal.message)
            }
        }
    }

    /// Opens `window` armed for `armed`: active once the kernel sees its cgroup made,
    /// `neverStarted` at the deadline.
    private func openArmed(
        _ opened: WitnessWindow, _ armed: ArmedSubject, recording: RecordingWriter?
    ) async throws(WindowError) -> WitnessWindow {
        var window = opened
        let (id, slot, request) = (window.id, window.slot, window.request)
        window.state = .armed
        window.armedEpochNanoseconds = window.openedEpochNanoseconds
        do {
            try await kernel.arm(
                slot: slot, subject: armed, label: "window:\(id)",
                profile: WindowProfiles.Settings(
                    baseline: request.baseline.map(ProfileBaseline.init), driftPriority: request.driftPriority),
                recording: recording)
        } catch {
            streams.close(window: id, slot: slot)
            freeSlots.append(slot)
            recording?.discard()
            throw WindowError(error.exitCode == 2 ? .badRequest : .unavailable, error.message)
        }
        windows[id] = window
        order.append(id)
        let deadline = request.armMilliseconds ?? 0
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(deadline))
            guard !Task.isCancelled else { return }
            _ = await self?.close(id, end: .neverStarted)
        }
        // Made between the first look and the arming: the kernel did not see it made.
        if let late = try? resolver.resolve(request.subject) {
            if let attached = try? await kernel.activateLate(slot: slot, subject: late) {
                activate(id, at: WallClock.bootNow(), attached: attached)
            }
        }
        return windows[id] ?? window
    }

    /// The kernel made the cgroup of the armed window in `slot` its subject at `bootTime`.
    func activated(slot: Int, bootTime: UInt64) {
        guard let window = windows.values.first(where: { $0.slot == slot && $0.state == .armed }) else { return }
        activate(window.id, at: bootTime, attached: NodeKernel.Attached(witnessedFromStart: true))
    }

    /// An armed window becomes active: its requested length counts from `bootTime`.
    private func activate(_ id: String, at bootTime: UInt64, attached: NodeKernel.Attached) {
        guard var window = windows[id], window.state == .armed else { return }
        window.state = .active
        window.activeEpochNanoseconds = kernel.clock.epochNanoseconds(boot: bootTime)
        window.witnessedFromStart = attached.witnessedFromStart
        windows[id] = window
        journal?.save(journalEntry(window, counted: nil))
        timers.removeValue(forKey: id)?.cancel()
        let late = Int((WallClock.bootNow() &- bootTime) / 1_000_000)
        let milliseconds = max(0, window.request.milliseconds - late)
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(milliseconds))
            guard !Task.isCancelled else { return }
            _ = await self?.close(id, end: .elapsed)
        }
    }

    package func window(_ id: String) -> WitnessWindow? { windows[id] }

    package func list() -> [WitnessWindow] { order.compactMap { windows[$0] } }

    /// Closes window `id` (at once if it is still open) and returns it with its
    /// testimony; nil when there is no such window.
    package func close(_ id: String, end: WindowEnd) async -> WitnessWindow? {
        guard let window = windows[id] else { return nil }
        if window.state == .closed { return window }
        if let pending = closing[id] { return await pending.value }
        timers.removeValue(forKey: id)?.cancel()
        let task = Task { await self.finish(window, end: end) }
        closing[id] = task
        let closed = await task.value
        closing[id] = nil
        return closed
    }

    private func finish(_ window: WitnessWindow, end asked: WindowEnd) async -> WitnessWindow {
        // A window whose subject never came testifies to nothing, however it was closed.
        let end = window.state == .armed ? .neverStarted : asked
        let closing = await kernel.detach(
            slot: window.slot, subject: window.subject, end: end,
            beginning: NodeKernel.Attached(witnessedFromStart: window.witnessedFromStart))
        let endedAt = kernel.clock.epochNanoseconds(boot: WallClock.bootNow())
        var alerts: [SeverityClass: Int] = [:]
        var rules: [(String, Int)] = []
        if let engine = kernel.rules {
            for (index, count) in closing.tally.alertsByRule.enumerated() where count > 0 {
                let rule = engine.rule(index)
                alerts[rule.severity, default: 0] += count
                rules.append((rule.name, count))
            }
        }
        DriftAlertWriter.tally(
            closing.driftAlerts, priority: window.request.driftPriority, alerts: &alerts, rules: &rules)
        SubjectEscape.tally(closing.escapeCount, alerts: &alerts, rules: &rules)
        var testimony = Testimony(
            trialID: window.request.trialID, subjectKind: window.subject.kind, subjectValue: window.subject.value,
            startEpochNanoseconds: window.activeEpochNanoseconds ?? window.openedEpochNanoseconds,
            endEpochNanoseconds: endedAt,
            sostle: window.request.sostle, events: closing.tally.events, alerts: alerts, rules: rules,
            kernelDrops: closing.kernelDrops, agentDrops: closing.tally.agentDrops, end: end,
            requestedMilliseconds: Int64(window.request.milliseconds), windowID: window.id, profile: closing.profile,
            coverage: closing.coverage, recording: closing.recording)
        testimony.witnessedFromStart = window.witnessedFromStart
        testimony.found = closing.found
        testimony.escapes = closing.escapes
        testimony.escapeCount = closing.escapeCount
        testimony.armedEpochNanoseconds = window.armedEpochNanoseconds
        var closed = window
        closed.state = .closed
        testify(testimony, in: &closed)
        windows[window.id] = closed
        freeSlots.insert(window.slot, at: 0)  // reused last: late records of it are long gone
        streams.close(window: window.id, slot: window.slot)
        router?.sync()
        if onTestimony(closed.deliveredTestimony!) {
            journal?.remove(window.id)  // the testimony is stored: nothing left to recover
        }
        forgetOldWindows()
        return closed
    }

    /// The window's testimony, and its attestation when this node signs.
    private func testify(_ testimony: Testimony, in window: inout WitnessWindow) {
        let line = testimony.json()
        window.testimony = line
        window.attestation = notary?.envelope(for: testimony, line: line)
    }

    // MARK: Crash safety

    /// Saves what every open window has counted, every `milliseconds`, until shutdown.
    func startCheckpoints(every milliseconds: Int = 1000) {
        guard journal != nil, checkpoints == nil else { return }
        checkpoints = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(milliseconds))
                await self?.checkpoint()
            }
        }
    }

    private func checkpoint() async {
        guard let journal else { return }
        let open = windows.values.filter { $0.state == .active && closing[$0.id] == nil }
        guard !open.isEmpty else { return }
        let counted = await kernel.checkpoint(slots: open.map(\.slot))
        // A window that began to close meanwhile testifies itself: saving it now would
        // leave a file that a restart would testify for a second time.
        for window in open where windows[window.id]?.state == .active && closing[window.id] == nil {
            if let counts = counted[window.slot] { journal.save(journalEntry(window, counted: counts)) }
        }
    }

    /// Testifies for the windows an earlier agent left open (killed before it could
    /// close them): ended `agentRestarted`, never passing, with the counts it saved;
    /// delivered like any testimony and shown by GET /v1/windows/{id}.
    func recover() {
        guard let journal else { return }
        var severities: [String: SeverityClass] = [:]
        if let engine = kernel.rules {
            for index in engine.rules.indices {
                let rule = engine.rule(index)
                severities[rule.name] = rule.severity
            }
        }
        for entry in journal.leftovers() where windows[entry.id] == nil {
            var alerts: [SeverityClass: Int] = [:]
            var known = severities
            known[SubjectEscape.ruleName] = SeverityClass(SubjectEscape.priority)
            if let drift = entry.driftPriority.flatMap(Priority.init(falcoName:)) {
                known[DriftAlertWriter.ruleName] = SeverityClass(drift)
            }
            for (name, count) in entry.rules {
                alerts[known[name] ?? .critical, default: 0] += count  // an unknown rule counts at worst
            }
            let sostle = entry.sostle.flatMap { (text: String) -> SostleLevel? in try? SostleLevel(text) }
            let testimony = Testimony(
                trialID: entry.trialID, subjectKind: entry.subjectKind, subjectValue: entry.subjectValue,
                startEpochNanoseconds: entry.openedEpochNanoseconds,
                endEpochNanoseconds: entry.checkpointEpochNanoseconds,
                sostle: sostle, events: EventCounts(restoring: entry.events), alerts: alerts,
                rules: entry.rules.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                kernelDrops: entry.kernelDrops,
                agentDrops: entry.agentDrops, end: .agentRestarted,
                requestedMilliseconds: Int64(entry.requestedMilliseconds),
                windowID: entry.id)
            let request = WindowRequest(
                trialID: entry.trialID, subject: Self.spec(kind: entry.subjectKind, value: entry.subjectValue),
                milliseconds: entry.requestedMilliseconds, sostle: sostle)
            var window = WitnessWindow(
                id: entry.id, request: request,
                subject: ResolvedSubject(kind: entry.subjectKind, value: entry.subjectValue),
                slot: -1, openedEpochNanoseconds: entry.openedEpochNanoseconds)
            window.state = .closed
            testify(testimony, in: &window)
            windows[entry.id] = window
            order.append(entry.id)
            if onTestimony(window.deliveredTestimony!) { journal.remove(entry.id) }
        }
    }

    private static func spec(kind: String, value: String) -> SubjectSpec {
        switch kind {
        case "pod": return .podUID(value)
        case "container": return .containerID(value)
        case "pid": return .pid(Int32(value) ?? 0)
        default: return .cgroup(value)
        }
    }

    private func journalEntry(_ window: WitnessWindow, counted: NodeKernel.Closing?) -> WindowJournal.Entry {
        var entry = WindowJournal.Entry(
            id: window.id, trialID: window.request.trialID, subjectKind: window.subject.kind,
            subjectValue: window.subject.value, openedEpochNanoseconds: window.openedEpochNanoseconds,
            requestedMilliseconds: window.request.milliseconds, sostle: window.request.sostle?.description,
            checkpointEpochNanoseconds: kernel.clock.epochNanoseconds(boot: WallClock.bootNow()))
        if let counted {
            for (name, count) in counted.tally.events.byType { entry.events[name] = count }
            if let engine = kernel.rules {
                for (index, count) in counted.tally.alertsByRule.enumerated() where count > 0 {
                    entry.rules[engine.rule(index).name, default: 0] += count
                }
            }
            if counted.driftAlerts > 0 { entry.rules[DriftAlertWriter.ruleName, default: 0] += counted.driftAlerts }
            if counted.escapeCount > 0 { entry.rules[SubjectEscape.ruleName, default: 0] += counted.escapeCount }
            entry.kernelDrops = counted.kernelDrops
            entry.agentDrops = counted.tally.agentDrops
        }
        entry.driftPriority = "\(window.request.driftPriority.name)"
        return entry
    }

    /// Stops new windows; closes every open one as cut short.
    package func shutdown() async {
        accepting = false
        checkpoints?.cancel()
        for id in order where windows[id]?.state != .closed && windows[id] != nil {
            _ = await close(id, end: .shutdown)
        }
    }

    private func forgetOldWindows() {
        let closed = order.filter { windows[$0]?.state == .closed }
        guard closed.count > closedKept else { return }
        for id in closed.prefix(closed.count - closedKept) {
            windows[id] = nil
        }
        order.removeAll { windows[$0] == nil }
    }

    /// 16 random hex digits (the system generator reads the kernel's random source).
    static func newID() -> String {
        var random = SystemRandomNumberGenerator()
        let value = random.next()
        let hex = String(value, radix: 16)
        return "w-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

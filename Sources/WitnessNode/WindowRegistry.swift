import Glibc
import WitnessCore
import WitnessRules

/// Why a window could not be opened or found, with the HTTP status the API answers.
public struct WindowError: Error, Sendable {
    public enum Kind: Sendable {
        case badRequest, notFound, unavailable
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The witness windows of this node: opened by the controller, each given one of
/// the 64 subject slots, closed when its time is up (or early, or at shutdown) with a
/// testimony. Opening and closing only add and remove BPF map entries through the
/// kernel's mailbox; programs stay loaded. Closed windows are kept (the newest
/// `closedKept`) so the controller can fetch a testimony it missed.
public actor WindowRegistry {
    private let kernel: NodeKernel
    private let resolver: SubjectResolver
    private let streams: AlertStreams
    private let router: AlertRouter?
    private let onTestimony: @Sendable (String) -> Void
    private let maxMilliseconds: Int
    private var windows: [String: WitnessWindow] = [:]
    private var order: [String] = []
    private var freeSlots = Array((0..<WindowTallies.slotCount).reversed())
    private var timers: [String: Task<Void, Never>] = [:]
    private var closing: [String: Task<WitnessWindow, Never>] = [:]
    private var accepting = true
    private let closedKept = 256

    public init(
        kernel: NodeKernel, resolver: SubjectResolver, streams: AlertStreams, router: AlertRouter?,
        maxMilliseconds: Int, onTestimony: @escaping @Sendable (String) -> Void
    ) {
        self.kernel = kernel
        self.resolver = resolver
        self.streams = streams
        self.router = router
        self.maxMilliseconds = maxMilliseconds
        self.onTestimony = onTestimony
    }

    public var openCount: Int { windows.values.filter { $0.state == .open }.count }

    public func open(_ request: WindowRequest) async throws(WindowError) -> WitnessWindow {
        guard accepting else { throw WindowError(.unavailable, "the agent is shutting down") }
        guard request.milliseconds > 0, request.milliseconds <= maxMilliseconds else {
            throw WindowError(.badRequest, "window must be longer than 0 and at most \(maxMilliseconds / 1000)s")
        }
        let subject: ResolvedSubject
        do {
            subject = try resolver.resolve(request.subject)
        } catch {
            // Requests are validated when parsed: what fails here is not on this node.
            throw WindowError(.notFound, error.message)
        }
        guard let slot = freeSlots.popLast() else {
            throw WindowError(.unavailable, "all \(WindowTallies.slotCount) window slots are in use; close one first")
        }
        let id = Self.newID()
        let window = WitnessWindow(
            id: id, request: request, subject: subject, slot: slot,
            openedEpochNanoseconds: kernel.clock.epochNanoseconds(boot: WallClock.bootNow()))
        streams.open(window: id, slot: slot)
        do {
            try await kernel.attach(slot: slot, subject: subject, label: "window:\(id)")
        } catch {
            streams.close(window: id, slot: slot)
            freeSlots.append(slot)
            throw WindowError(error.exitCode == 2 ? .notFound : .unavailable, error.message)
        }
        windows[id] = window
        order.append(id)
        let milliseconds = request.milliseconds
        timers[id] = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(milliseconds))
            guard !Task.isCancelled else { return }
            _ = await self?.close(id, end: .elapsed)
        }
        return window
    }

    public func window(_ id: String) -> WitnessWindow? { windows[id] }

    public func list() -> [WitnessWindow] { order.compactMap { windows[$0] } }

    /// Closes window `id` (at once if it is still open) and returns it with its
    /// testimony; nil when there is no such window.
    public func close(_ id: String, end: WindowEnd) async -> WitnessWindow? {
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

    private func finish(_ window: WitnessWindow, end: WindowEnd) async -> WitnessWindow {
        let closing = await kernel.detach(slot: window.slot, subject: window.subject)
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
        let testimony = Testimony(
            trialID: window.request.trialID, subjectKind: window.subject.kind, subjectValue: window.subject.value,
            startEpochNanoseconds: window.openedEpochNanoseconds, endEpochNanoseconds: endedAt,
            sostle: window.request.sostle, events: closing.tally.events, alerts: alerts, rules: rules,
            kernelDrops: closing.kernelDrops, agentDrops: closing.tally.agentDrops, end: end,
            requestedMilliseconds: Int64(window.request.milliseconds), windowID: window.id, profile: closing.profile)
        var closed = window
        closed.state = .closed
        closed.testimony = testimony.json()
        windows[window.id] = closed
        freeSlots.insert(window.slot, at: 0)  // reused last: late records of it are long gone
        streams.close(window: window.id, slot: window.slot)
        router?.sync()
        onTestimony(closed.testimony!)
        forgetOldWindows()
        return closed
    }

    /// Stops new windows; closes every open one as cut short.
    public func shutdown() async {
        accepting = false
        for id in order where windows[id]?.state == .open {
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

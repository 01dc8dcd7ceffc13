import Synchronization

/// Each window's alerts for `GET /v1/windows/{id}/alerts`: kept from the window's
/// start (up to `historyLimit` bytes, so a controller that subscribes a moment after
/// opening misses nothing) and pushed live to every subscriber; the stream ends when
/// the window closes. Publishing happens on the consumer thread, subscribing on the
/// API's; one lock orders them, so a subscriber sees every line exactly once.
public final class AlertStreams: Sendable {
    private struct Window {
        var history: [UInt8] = []
        /// Set once a line did not fit: the history stays a whole prefix, no gaps.
        var historyFull = false
        var closed = false
        var subscribers: [UInt64: AsyncStream<[UInt8]>.Continuation] = [:]

        /// Keeps `line` while the history has room, and hands it to every subscriber.
        mutating func publish(_ line: [UInt8], historyLimit: Int) {
            if !historyFull && history.count + line.count <= historyLimit {
                history.append(contentsOf: line)
            } else {
                historyFull = true
            }
            for subscriber in subscribers.values { subscriber.yield(line) }
        }
    }

    private struct State {
        var windows: [String: Window] = [:]
        var slots = [String?](repeating: nil, count: 64)
        var closedOrder: [String] = []
        var nextSubscriber: UInt64 = 0
    }

    private let state = Mutex(State())
    private let historyLimit: Int
    private let closedKept: Int

    public init(historyLimit: Int = 1 << 20, closedKept: Int = 256) {
        self.historyLimit = historyLimit
        self.closedKept = closedKept
    }

    func open(window id: String, slot: Int) {
        state.withLock { state in
            state.windows[id] = Window()
            state.slots[slot] = id
        }
    }

    func close(window id: String, slot: Int) {
        let subscribers = state.withLock { state -> [AsyncStream<[UInt8]>.Continuation] in
            if state.slots[slot] == id { state.slots[slot] = nil }
            guard var window = state.windows[id] else { return [] }
            window.closed = true
            let subscribers = Array(window.subscribers.values)
            window.subscribers.removeAll()
            state.windows[id] = window
            state.closedOrder.append(id)
            if state.closedOrder.count > closedKept {
                state.windows[state.closedOrder.removeFirst()] = nil
            }
            return subscribers
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Alert lines of one event, for the windows of the slots in `subjects`.
    func publish(_ lines: UnsafeRawBufferPointer, subjects: UInt64) {
        var copy: [UInt8]?  // one copy, shared by every window and subscriber
        state.withLock { state in
            var bits = subjects
            while bits != 0 {
                let slot = bits.trailingZeroBitCount
                bits &= bits - 1
                guard slot < state.slots.count, let id = state.slots[slot], state.windows[id] != nil else { continue }
                let line = copy ?? [UInt8](lines)
                copy = line
                // In place (optional chaining): a copy of the window would copy its history.
                state.windows[id]?.publish(line, historyLimit: historyLimit)
            }
        }
    }

    /// The window's alerts so far, then each new one as it happens; nil for a window
    /// this node does not know (or no longer keeps).
    public func subscribe(window id: String) -> AsyncStream<[UInt8]>? {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(1 << 16))
        let known = state.withLock { state -> Bool in
            guard var window = state.windows[id] else { return false }
            if !window.history.isEmpty { continuation.yield(window.history) }
            if window.closed {
                continuation.finish()
            } else {
                state.nextSubscriber += 1
                let key = state.nextSubscriber
                window.subscribers[key] = continuation
                state.windows[id] = window
                continuation.onTermination = { [weak self] _ in
                    self?.state.withLock { state in _ = state.windows[id]?.subscribers.removeValue(forKey: key) }
                }
            }
            return true
        }
        return known ? stream : nil
    }
}

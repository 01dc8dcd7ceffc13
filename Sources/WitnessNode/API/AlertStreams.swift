import Synchronization
import WitnessCore

/// Each window's alerts for `GET /v1/windows/{id}/alerts`: kept from the window's
/// start (up to `historyLimit` bytes, so a controller that subscribes a moment after
/// opening misses nothing) and pushed live to every subscriber; the stream ends when
/// the window closes. Publishing happens on the consumer thread, subscribing on the
/// API's; one lock orders them, so a subscriber sees every line exactly once.
///
/// Bounded: at most `maxSubscribers` per window, each with a queue of at most
/// `queueLimit` lines. A reader that falls behind loses lines, and is told so: a
/// `{"lost":N}` line where they would have been. A late subscriber whose history
/// was cut short is told the same way. Never a silent gap.
package final class AlertStreams: Sendable {
    private struct Subscriber {
        var continuation: AsyncStream<[UInt8]>.Continuation
        /// Lines queued for this reader and not yet taken (the reader counts down).
        let queued: QueueCount
        /// Lines this reader could not take since its last delivered one.
        var lost = 0

        mutating func send(_ line: [UInt8], limit: Int) {
            guard queued.value < limit else {
                lost += line.lineCount  // one event's alert lines come as one chunk
                return
            }
            if lost > 0 {
                queued.add()
                continuation.yield(AlertStreams.lostLine(lost))
                lost = 0
            }
            queued.add()
            continuation.yield(line)
        }

        /// Says what was lost at the end (one line beyond the bound).
        func finish() {
            if lost > 0 { continuation.yield(AlertStreams.lostLine(lost)) }
            continuation.finish()
        }
    }

    private struct Window {
        var history: [UInt8] = []
        /// Lines the history could not keep (told to a later subscriber as lost).
        var historyDropped = 0
        /// Once a line did not fit, none is kept: the history stays a whole prefix, no gaps.
        var historyFull: Bool { historyDropped > 0 }
        var closed = false
        var subscribers: [UInt64: Subscriber] = [:]

        /// Keeps `line` while the history (and all histories together) have room, and
        /// hands it to every subscriber. Returns the bytes kept.
        mutating func publish(_ line: [UInt8], historyLimit: Int, queueLimit: Int, totalRoom: Int) -> Int {
            var kept = 0
            if !historyFull && history.count + line.count <= historyLimit && line.count <= totalRoom {
                history.append(contentsOf: line)
                kept = line.count
            } else {
                historyDropped += max(line.lineCount, 1)
            }
            // In place: iterating the keys while assigning through them copied the table per line.
            for index in subscribers.indices { subscribers.values[index].send(line, limit: queueLimit) }
            return kept
        }
    }

    /// What `subscribe` found.
    package enum Subscription {
        case stream(AlertStream)
        /// No such window on this node (or no longer kept).
        case unknown
        /// The window has `maxSubscribers` readers already.
        case full
    }

    static func lostLine(_ count: Int) -> [UInt8] { Array("{\"lost\":\(count)}\n".utf8) }

    private struct State {
        var windows: [String: Window] = [:]
        var slots = [String?](repeating: nil, count: 64)
        var closedOrder: [String] = []
        var nextSubscriber: UInt64 = 0
        /// Bytes in every window's history together.
        var historyBytes = 0
    }

    private let state = Mutex(State())
    private let historyLimit: Int
    private let closedKept: Int
    package let maxSubscribers: Int
    package let queueLimit: Int

    /// Histories of all windows together hold at most `totalHistoryLimit` bytes.
    private let totalHistoryLimit: Int

    package init(
        historyLimit: Int = 1 << 20, totalHistoryLimit: Int = 32 << 20, closedKept: Int = 256, maxSubscribers: Int = 8,
        queueLimit: Int = 4096
    ) {
        self.historyLimit = historyLimit
        self.totalHistoryLimit = totalHistoryLimit
        self.closedKept = closedKept
        self.maxSubscribers = maxSubscribers
        self.queueLimit = queueLimit
    }

    func open(window id: String, slot: Int) {
        state.withLock { state in
            state.windows[id] = Window()
            state.slots[slot] = id
        }
    }

    func close(window id: String, slot: Int) {
        let subscribers = state.withLock { state -> [Subscriber] in
            if state.slots[slot] == id { state.slots[slot] = nil }
            guard var window = state.windows[id] else { return [] }
            window.closed = true
            let subscribers = Array(window.subscribers.values)
            window.subscribers.removeAll()
            state.windows[id] = window
            state.closedOrder.append(id)
            if state.closedOrder.count > closedKept,
                let oldest = state.windows.removeValue(forKey: state.closedOrder.removeFirst())
            {
                state.historyBytes -= oldest.history.count
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
                let room = totalHistoryLimit - state.historyBytes
                state.historyBytes +=
                    state.windows[id]?.publish(
                        line, historyLimit: historyLimit, queueLimit: queueLimit, totalRoom: room) ?? 0
            }
        }
    }

    /// The window's alerts so far, then each new one as it happens.
    package func subscribe(window id: String) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let queued = QueueCount()
        return state.withLock { state -> Subscription in
            guard var window = state.windows[id] else { return .unknown }
            guard window.closed || window.subscribers.count < maxSubscribers else { return .full }
            if !window.history.isEmpty {
                queued.add()
                continuation.yield(window.history)
            }
            if window.historyDropped > 0 {
                queued.add()
                continuation.yield(Self.lostLine(window.historyDropped))
            }
            if window.closed {
                continuation.finish()
            } else {
                state.nextSubscriber += 1
                let key = state.nextSubscriber
                window.subscribers[key] = Subscriber(continuation: continuation, queued: queued)
                state.windows[id] = window
                continuation.onTermination = { [weak self] _ in
                    self?.state.withLock { state in _ = state.windows[id]?.subscribers.removeValue(forKey: key) }
                }
            }
            return .stream(AlertStream(base: stream, queued: queued))
        }
    }
}

/// How many lines wait in one reader's queue: the publisher counts up, the reader down.
final class QueueCount: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add() { count.add(1, ordering: .relaxed) }
    func take() { count.subtract(1, ordering: .relaxed) }
}

/// One reader's alert lines: as the stream yields them, each taken one counted off
/// its queue, so the publisher knows when the reader has fallen behind.
package struct AlertStream: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    let base: AsyncStream<[UInt8]>
    let queued: QueueCount

    package struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[UInt8]>.AsyncIterator
        let queued: QueueCount

        package mutating func next() async -> [UInt8]? {
            guard let line = await base.next() else { return nil }
            queued.take()
            return line
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), queued: queued)
    }
}

import CBPF
import Glibc

/// Why `RingBufferConsumer.run()` returned.
package enum StopReason: Equatable, Sendable {
    /// SIGINT, SIGTERM or SIGHUP arrived.
    case signal(Int32)
    /// The watched process exited.
    case processExited
    /// The timer set with `stop(afterMilliseconds:)` expired.
    case timerExpired
    /// `requestStop()` was called.
    case requested
}

/// Drains the ring buffer on the calling thread, in a loop woken by epoll — never by
/// sleeping and polling. The same epoll set watches what can end the loop: signals,
/// the exit of a process, a timer, a stop request from another thread.
///
/// Wake-ups are batched: while events flow, the consumer drains on a short timer
/// (`drainIntervalMilliseconds`) and the kernel wakes it early only when the ring is
/// a quarter full; when nothing came during one interval it tells the kernel it is
/// going to sleep and waits with no timeout, so an idle agent uses no CPU at all.
/// Records are handed to `onRecord` zero-copy: the buffer is valid only during the call.
package final class RingBufferConsumer {
    package typealias RecordHandler = (UnsafeRawBufferPointer) -> Void

    private enum Token: UInt64 {
        case ring = 1, signals, process, timer, stop, wake
    }

    /// Holds the handlers for the C callback; unretained while the ring exists.
    private final class Handlers {
        let onRecord: RecordHandler
        let onBatchEnd: () -> Void
        var records: UInt64 = 0
        init(onRecord: @escaping RecordHandler, onBatchEnd: @escaping () -> Void) {
            self.onRecord = onRecord
            self.onBatchEnd = onBatchEnd
        }
    }

    private let probe: WitnessProbe
    private let handlers: Handlers
    private var ring: OpaquePointer?
    private let epollFD: Int32
    private let stopFD: Int32
    private let wakeFD: Int32
    private var signalFD: Int32 = -1
    private var timerFD: Int32 = -1
    private var watchedFDs: [Int32] = []
    /// Runs on the consumer thread after `wake()` was called from any thread: how
    /// other threads hand the loop work (node mode: open and close windows).
    package var onWake: () -> Void = {}
    /// Whether the loop has rested once (start-up is over).
    private var rested = false

    /// The consumer thread's nice value.
    static let niceness: Int32 = -10

    /// How long a busy consumer lets records gather before draining, in milliseconds.
    var drainIntervalMilliseconds: Int32 = 5

    /// Records delivered to `onRecord` so far.
    package var recordsConsumed: UInt64 { handlers.records }

    package init(
        probe: WitnessProbe,
        onRecord: @escaping RecordHandler,
        onBatchEnd: @escaping () -> Void = {}
    ) throws(BPFError) {
        self.probe = probe
        handlers = Handlers(onRecord: onRecord, onBatchEnd: onBatchEnd)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw BPFError.lastError("epoll_create1") }
        stopFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard stopFD >= 0 else {
            Glibc.close(epollFD)
            throw BPFError.lastError("eventfd")
        }
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            Glibc.close(stopFD)
            Glibc.close(epollFD)
            throw BPFError.lastError("eventfd")
        }
        let context = Unmanaged.passUnretained(handlers).toOpaque()
        ring = ring_buffer__new(
            probe.eventsFD,
            { context, data, size in
                let handlers = Unmanaged<Handlers>.fromOpaque(context!).takeUnretainedValue()
                handlers.records &+= 1
                handlers.onRecord(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }, context, nil)
        guard let ring else {
            let error = BPFError.lastError("ring_buffer__new")
            Glibc.close(epollFD)  // the eventfds: by deinit, which runs for a fully initialised object
            throw error
        }
        // The ring's own epoll descriptor is itself pollable: nest it in ours.
        try add(ring_buffer__epoll_fd(ring), .ring)
        try add(stopFD, .stop)
        try add(wakeFD, .wake)
    }

    deinit {
        close()
        // Kept open until now: other threads may still ring them (`wake`, `requestStop`),
        // and a closed number could by then name another file.
        Glibc.close(wakeFD)
        Glibc.close(stopFD)
    }

    package func close() {
        if let ring {
            ring_buffer__free(ring)
            self.ring = nil
            for fd in watchedFDs { Glibc.close(fd) }
            watchedFDs.removeAll()
            timerFD = -1
            Glibc.close(epollFD)
        }
    }

    /// Ends `run()` on SIGINT, SIGTERM or SIGHUP. Blocks those signals in this thread
    /// and in threads started after it, so call it before starting any.
    package func watchTerminationSignals() throws(BPFError) {
        signalFD = cbpf_signalfd_for_termination()
        guard signalFD >= 0 else { throw BPFError.lastError("signalfd") }
        watchedFDs.append(signalFD)
        try add(signalFD, .signals)
    }

    /// Ends `run()` when process `pid` exits.
    package func watchProcessExit(pid: Int32) throws(BPFError) {
        let fd = cbpf_pidfd_open(pid)
        guard fd >= 0 else { throw BPFError.lastError("pidfd_open") }
        watchedFDs.append(fd)
        try add(fd, .process)
    }

    /// Ends `run()` after `milliseconds` from now; called again (an armed window that
    /// became active), it sets the same timer anew.
    package func stop(afterMilliseconds milliseconds: Int) throws(BPFError) {
        let isNew = timerFD < 0
        if isNew {
            timerFD = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC))
            guard timerFD >= 0 else { throw BPFError.lastError("timerfd_create") }
            watchedFDs.append(timerFD)
        }
        let fd = timerFD
        var spec = itimerspec()
        spec.it_value.tv_sec = milliseconds / 1000
        spec.it_value.tv_nsec = (milliseconds % 1000) * 1_000_000
        if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        guard timerfd_settime(fd, 0, &spec, nil) == 0 else { throw BPFError.lastError("timerfd_settime") }
        if isNew { try add(fd, .timer) }
    }

    /// Ends `run()` from any thread.
    package func requestStop() {
        var one: UInt64 = 1
        _ = write(stopFD, &one, 8)
    }

    /// Has `onWake` run on the consumer thread soon, from any thread.
    package func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Consumes what the ring holds now, on the consumer thread (from `onWake`):
    /// records a window's subject produced before it was removed are counted before
    /// the window's tally is closed.
    package func drainNow() {
        if let ring { drain(ring) }
    }

    /// Drains until something ends the loop, then drains what is left and returns why.
    package func run() -> StopReason {
        guard let ring else { return .requested }
        // A subject that keeps every core busy must not starve the thread that drains
        // what it does: this thread runs at nice -10 (best effort; without
        // CAP_SYS_NICE it stays as it was; on Linux, who 0 is this thread alone).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        let state = probe.controlBlock.pointer(to: \.consumer_state)!
        let lazy = UInt32(WITNESS_CONSUMER_LAZY.rawValue)
        let asleep = UInt32(WITNESS_CONSUMER_ASLEEP.rawValue)
        state.pointee = lazy
        var tokens = [UInt64](repeating: 0, count: 16)
        var reason: StopReason?
        while reason == nil {
            var timeout = drainIntervalMilliseconds
            if drain(ring) == 0 {
                // Nothing came during a whole interval: announce sleep, then look once
                // more (the kernel orders its commit before reading our state).
                cbpf_store_seq_cst(state, asleep)
                if drain(ring) == 0 {
                    timeout = -1
                    // The first rest after start-up: what start-up touched can go.
                    if !rested {
                        rested = true
                        ResidentMemory.releaseStartupPages()
                    }
                } else {
                    state.pointee = lazy
                }
            }
            let count = cbpf_epoll_wait(epollFD, &tokens, Int32(tokens.count), timeout)
            state.pointee = lazy
            if count < 0 && errno != EINTR { break }
            for index in 0..<max(0, Int(count)) {
                if tokens[index] == Token.wake.rawValue {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    onWake()
                    continue
                }
                reason = reason ?? stopReason(for: tokens[index])
            }
        }
        drain(ring)
        return reason ?? .requested
    }

    /// Consumes every available record; returns how many.
    @discardableResult
    private func drain(_ ring: OpaquePointer) -> Int32 {
        let consumed = ring_buffer__consume(ring)
        if consumed > 0 { handlers.onBatchEnd() }
        return max(0, consumed)
    }

    private func stopReason(for token: UInt64) -> StopReason? {
        switch Token(rawValue: token) {
        case .signals:
            let signal = cbpf_signalfd_read(signalFD)
            return signal > 0 ? .signal(signal) : nil
        case .process: return .processExited
        case .timer: return .timerExpired
        case .stop: return .requested
        case .ring, .wake, .none: return nil
        }
    }

    private func add(_ fd: Int32, _ token: Token) throws(BPFError) {
        guard cbpf_epoll_add(epollFD, fd, token.rawValue) == 0 else {
            throw BPFError.lastError("epoll_ctl")
        }
    }
}

/// Wakes a consumer from any thread (its eventfd is safe to write from anywhere; the
/// consumer itself stays on its thread), and does nothing once it is gone.
package final class ConsumerWake: @unchecked Sendable {
    private weak var consumer: RingBufferConsumer?

    package init(_ consumer: RingBufferConsumer) { self.consumer = consumer }

    package func ring() { consumer?.wake() }
}

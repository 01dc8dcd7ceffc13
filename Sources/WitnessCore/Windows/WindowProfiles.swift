import Synchronization

/// The runtime profiles of the open windows, by subject slot, owned by the consumer
/// thread. Executables are hashed by the shared `ExecutableHasher` on its own thread;
/// each outcome comes back through a mailbox and is applied here, on the consumer
/// thread, when it is woken (`wake`) or at the next batch.
package final class WindowProfiles {
    /// A window's profile settings.
    package struct Settings: Sendable {
        package var limits = ProfileBuilder.Limits()
        package var baseline: ProfileBaseline?
        /// The priority of drift alerts.
        package var driftPriority = Priority.warning

        package init(
            limits: ProfileBuilder.Limits = ProfileBuilder.Limits(), baseline: ProfileBaseline? = nil,
            driftPriority: Priority = .warning
        ) {
            self.limits = limits
            self.baseline = baseline
            self.driftPriority = driftPriority
        }
    }

    private struct Arrival: Sendable {
        var slot: Int
        var generation: UInt64
        var entry: Int
        var pid: Int32
        var file: FileID
        var path: [UInt8]
        var outcome: ExecutableHasher.Outcome
    }

    /// Slots with a profile being gathered.
    package private(set) var mask: UInt64 = 0
    package private(set) var hasher: ExecutableHasher
    /// Has the consumer thread call `applyArrivals` soon (RingBufferConsumer.wake).
    package var wake: (@Sendable () -> Void)?
    private var builders = [ProfileBuilder?](repeating: nil, count: 64)
    private var settings = [Settings](repeating: Settings(), count: 64)
    private var generations = [UInt64](repeating: 0, count: 64)
    private let arrivals = Mailbox<Arrival>()

    package init(hasher: ExecutableHasher = ExecutableHasher()) {
        self.hasher = hasher
    }

    /// Replay: hashes come from the recording (`hasher.recorded`).
    package func replaying() {
        hasher = ExecutableHasher(replaying: ())
    }

    package func begin(slot: Int, _ settings: Settings) {
        generations[slot] &+= 1
        builders[slot] = ProfileBuilder(limits: settings.limits, baseline: settings.baseline)
        self.settings[slot] = settings
        mask |= 1 << UInt64(slot)
    }

    /// Stops gathering for `slot`; returns its builder.
    package func end(slot: Int) -> ProfileBuilder? {
        mask &= ~(1 << UInt64(slot))
        generations[slot] &+= 1
        defer { builders[slot] = nil }
        return builders[slot]
    }

    package func builder(slot: Int) -> ProfileBuilder? { builders[slot] }

    package func priority(slot: Int) -> Priority { settings[slot].driftPriority }

    /// Asks for the hash of executable entry `entry` of `slot`'s profile.
    func requestHash(
        slot: Int, entry: Int, file: FileID, changeTime: UInt64, path: [UInt8], pid: Int32, uid: UInt32, gid: UInt32,
        hostNamespace: Bool
    ) {
        let generation = generations[slot]
        let accepted = hasher.request(
            file: file, changeTime: changeTime, path: path, pid: pid, uid: uid, gid: gid, hostNamespace: hostNamespace
        ) {
            [arrivals, wake] outcome in
            arrivals.post(
                Arrival(
                    slot: slot, generation: generation, entry: entry, pid: pid, file: file, path: path, outcome: outcome
                ))
            wake?()
        }
        if !accepted {
            // As an arrival, so that a recording holds the refusal where it happened.
            arrivals.post(
                Arrival(
                    slot: slot, generation: generation, entry: entry, pid: pid, file: file, path: path,
                    outcome: .failed("too many programs waiting to be hashed")))
        }
    }

    /// Applies the hashes that arrived (each told to `each`, for recordings); returns
    /// the slots whose builders have findings.
    @discardableResult
    func applyArrivals(
        _ each: (FileID, [UInt8], ExecutableHasher.Outcome, Int) -> Void = { _, _, _, _ in }
    ) -> UInt64 {
        // An arrival for a window that has closed since (its slot's generation moved on) is dropped.
        let arrived = arrivals.take().filter { $0.generation == generations[$0.slot] }
        for arrival in arrived { each(arrival.file, arrival.path, arrival.outcome, arrival.slot) }
        var touched: UInt64 = 0
        for arrival in arrived {
            guard let builder = builders[arrival.slot] else { continue }
            builder.noteHash(arrival.outcome, entry: arrival.entry, header: Self.header(arrival.pid))
            if !builder.findings.isEmpty { touched |= 1 << UInt64(arrival.slot) }
        }
        return touched
    }

    /// Whether hashes are waiting to be applied.
    var hasArrivals: Bool { !arrivals.isEmpty }

    /// A header for findings that come without a record (a hash, the kernel's counts).
    static func header(_ pid: Int32) -> EventHeader {
        EventHeader(
            kind: .exec, syscall: .none, timestamp: WallClock.bootNow(), subjects: 0, cgroupID: 0, result: 0, pid: pid,
            tid: pid, ppid: 0, uid: 0, gid: 0, flags: [], comm: UnsafeRawBufferPointer(start: nil, count: 0))
    }
}

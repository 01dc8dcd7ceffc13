/// Every witness window's state on the consumer thread, by subject slot: one owner,
/// so that opening a window sets all of it and closing one hands all of it back and
/// leaves the slot empty — nothing of a closed window is left for the next one in its
/// slot to inherit. What a window counts (events, alerts by rule, the agent's losses,
/// drift alerts), how lines name it, and in node mode what the kernel side keeps for
/// it (cgroup id, drop baseline, open time, recording). Every record carries the bit
/// mask of the subjects that witnessed it, and each set bit of an open slot adds to
/// that slot's counts, so many windows over the same or different subjects count
/// independently. (The profile a window builds is `WindowProfiles`', begun and
/// finished with it.)
package final class WindowSlots {
    /// One window's counts.
    package struct Tally: Sendable {
        package var events = EventCounts()
        /// Alerts per rule index.
        package var alertsByRule: [Int]
        /// Events of this window the agent lost (undecodable records, output losses).
        package var agentDrops: UInt64 = 0

        init(ruleCount: Int) {
            alertsByRule = Array(repeating: 0, count: ruleCount)
        }
    }

    /// One slot: its window's counts and what the kernel side keeps for it.
    package struct Slot {
        package var tally = Tally(ruleCount: 0)
        /// Drift alerts written for the window's baseline.
        package var driftAlerts = 0
        /// Processes that left the window's cgroup (the first `SubjectEscape.listed`),
        /// and how many did.
        package var escapes: [SubjectEscape] = []
        package var escapeCount = 0
        /// The cgroup id the window watches, kept: the directory may be gone at close.
        package var cgroupID: UInt64?
        /// The kernel's drop counter of the slot when the window opened.
        package var dropBaseline: UInt64 = 0
        /// When the window opened (boot time).
        package var openedAt: UInt64 = 0
        package var recording: RecordingWriter?
    }

    package static let slotCount = 64
    /// Slots with an open window.
    package private(set) var activeMask: UInt64 = 0
    /// How lines name each slot's subject.
    package private(set) var labels = SubjectLabels()
    private var slots = [Slot](repeating: Slot(), count: WindowSlots.slotCount)
    private let ruleCount: Int

    package init(ruleCount: Int = 0) {
        self.ruleCount = ruleCount
    }

    /// No window is open.
    package var isEmpty: Bool { activeMask == 0 }

    package subscript(slot: Int) -> Slot { slots[slot] }

    /// A window opens in `slot`: counts from zero, named `label`.
    package func open(slot: Int, label: String?, dropBaseline: UInt64 = 0, recording: RecordingWriter? = nil) {
        var fresh = Slot()
        fresh.tally = Tally(ruleCount: ruleCount)
        fresh.dropBaseline = dropBaseline
        fresh.openedAt = WallClock.bootNow()
        fresh.recording = recording
        slots[slot] = fresh
        labels[slot] = label
        activeMask |= 1 << UInt64(slot)
    }

    /// The window in `slot` closes: all it held, and the slot empty and nameless.
    package func close(slot: Int) -> Slot {
        activeMask &= ~(1 << UInt64(slot))
        let closed = slots[slot]
        slots[slot] = Slot()
        labels[slot] = nil
        return closed
    }

    /// Names `slot` without opening a window there (`witness`, `trace` and `replay`,
    /// whose one window lasts as long as the process and counts in the pipeline).
    package func label(slot: Int, as label: String?) {
        labels[slot] = label
    }

    package func setCgroupID(slot: Int, _ id: UInt64?) {
        slots[slot].cgroupID = id
    }

    /// The window's baseline is set again (its profile begins): no drift alert yet.
    func resetDriftAlerts(slot: Int) {
        slots[slot].driftAlerts = 0
    }

    func noteDriftAlert(slot: Int) {
        slots[slot].driftAlerts += 1
    }

    func noteEscape(_ escape: SubjectEscape, slot: Int) {
        slots[slot].escapeCount += 1
        if slots[slot].escapes.count < SubjectEscape.listed { slots[slot].escapes.append(escape) }
    }

    @inline(__always)
    func recordEvent(_ syscall: Syscall, subjects: UInt64) {
        var bits = subjects & activeMask
        while bits != 0 {
            slots[bits.trailingZeroBitCount].tally.events.record(syscall)
            bits &= bits - 1
        }
    }

    func recordAlerts(_ rules: [Int], subjects: UInt64) {
        var bits = subjects & activeMask
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            for rule in rules { slots[slot].tally.alertsByRule[rule] &+= 1 }
            bits &= bits - 1
        }
    }

    /// Counts `count` events lost by the agent against the windows of `subjects`
    /// (every open window when the record could not say whose it was).
    func recordAgentDrops(_ count: UInt64, subjects: UInt64 = ~0) {
        var bits = subjects & activeMask
        while bits != 0 {
            slots[bits.trailingZeroBitCount].tally.agentDrops &+= count
            bits &= bits - 1
        }
    }
}

/// What each open witness window has seen so far, kept per subject slot so that
/// many windows over the same or different subjects count independently: every
/// record carries the bit mask of the subjects that witnessed it, and each set bit
/// of an active slot adds to that slot's tally. Owned by the consumer thread.
package final class WindowTallies {
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

    package static let slotCount = 64
    /// Slots with an open window.
    package private(set) var activeMask: UInt64 = 0
    private var tallies: [Tally]
    private let ruleCount: Int

    package init(ruleCount: Int) {
        self.ruleCount = ruleCount
        tallies = Array(repeating: Tally(ruleCount: 0), count: Self.slotCount)
    }

    /// Starts counting for `slot` from zero.
    package func activate(slot: Int) {
        tallies[slot] = Tally(ruleCount: ruleCount)
        activeMask |= 1 << UInt64(slot)
    }

    /// Stops counting for `slot`; returns what it counted.
    package func deactivate(slot: Int) -> Tally {
        activeMask &= ~(1 << UInt64(slot))
        let tally = tallies[slot]
        tallies[slot] = Tally(ruleCount: 0)
        return tally
    }

    package subscript(slot: Int) -> Tally { tallies[slot] }

    @inline(__always)
    package func recordEvent(_ syscall: Syscall, subjects: UInt64) {
        var bits = subjects & activeMask
        while bits != 0 {
            tallies[bits.trailingZeroBitCount].events.record(syscall)
            bits &= bits - 1
        }
    }

    package func recordAlerts(_ rules: [Int], subjects: UInt64) {
        var bits = subjects & activeMask
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            for rule in rules { tallies[slot].alertsByRule[rule] &+= 1 }
            bits &= bits - 1
        }
    }

    /// Counts `count` events lost by the agent against the windows of `subjects`
    /// (every open window when the record could not say whose it was).
    package func recordAgentDrops(_ count: UInt64, subjects: UInt64 = ~0) {
        var bits = subjects & activeMask
        while bits != 0 {
            tallies[bits.trailingZeroBitCount].agentDrops &+= count
            bits &= bits - 1
        }
    }
}

/// Where alert lines go besides the pipeline's own sink (node mode: the file and
/// HTTP outputs and each window's live stream). Called on the consumer thread.
package protocol AlertTap: AnyObject {
    /// The alert lines (JSON, newline-terminated) one event fired, and the subjects
    /// that witnessed it; returns how many lines could not be kept (a full spool).
    func alerts(_ lines: UnsafeRawBufferPointer, subjects: UInt64) -> Int

    /// The end of a drained batch: write what was buffered; returns how many lines
    /// could not be written (they count as lost by the agent).
    func flush() -> Int
}

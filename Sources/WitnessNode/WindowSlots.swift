import WitnessCore
import WitnessKernel

/// What the consumer thread holds for each open window, by subject slot: the cgroup
/// id it watches, the kernel's drop counter when it opened, when it opened, and its
/// recording. One owner, so that opening a window sets all of it at once and closing
/// one hands all of it back and leaves the slot empty — nothing of a closed window is
/// left for the next one in its slot to inherit. (What a window gathers as events
/// flow — tallies, label, profile, drift — is the pipeline's, begun and ended in
/// the same two places in NodeKernel.)
struct WindowSlots {
    struct Window {
        /// Kept: the directory may be gone at close.
        var cgroupID: UInt64?
        var dropBaseline: UInt64
        /// Boot time.
        var openedAt: UInt64
        var recording: RecordingWriter?
    }

    private var windows = [Window?](repeating: nil, count: WindowTallies.slotCount)
    private var open = 0

    /// No window is open: the programs may be unlinked.
    var isEmpty: Bool { open == 0 }

    subscript(slot: Int) -> Window? { windows[slot] }

    /// The window in `slot` begins (its subject is about to be watched).
    mutating func begin(slot: Int, _ window: Window) {
        if windows[slot] == nil { open += 1 }
        windows[slot] = window
    }

    /// The cgroup the window's subject turned out to be.
    mutating func setCgroupID(slot: Int, _ id: UInt64?) {
        windows[slot]?.cgroupID = id
    }

    /// The window in `slot` ends: everything it held, and the slot empty.
    mutating func end(slot: Int) -> Window? {
        guard let window = windows[slot] else { return nil }
        windows[slot] = nil
        open -= 1
        return window
    }

    /// The kernel drops of the window in `slot` since it opened.
    func drops(slot: Int, probe: WitnessProbe) -> UInt64 {
        probe.drops(slot: slot) &- (windows[slot]?.dropBaseline ?? probe.drops(slot: slot))
    }
}

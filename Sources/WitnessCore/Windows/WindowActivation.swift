/// An armed window's subject came into being: the kernel made the new cgroup the
/// subject of the windows in `subjects` as it was created, at `bootTime`, before any
/// process could enter it.
package struct WindowActivation: Sendable, Equatable {
    package var subjects: UInt64
    package var cgroupID: UInt64
    /// CLOCK_BOOTTIME nanoseconds.
    package var bootTime: UInt64

    package init(subjects: UInt64, cgroupID: UInt64, bootTime: UInt64) {
        self.subjects = subjects
        self.cgroupID = cgroupID
        self.bootTime = bootTime
    }
}

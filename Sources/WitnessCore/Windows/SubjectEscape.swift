/// A subject process left its window's cgroup for one outside the subject: written
/// into another cgroup's `cgroup.procs` or `cgroup.threads`, or made straight into
/// one with `clone3(CLONE_INTO_CGROUP)`. The kernel follows it from then on (a
/// process-tree subject of the windows it left), so what it does is still
/// witnessed; leaving is still worth saying — an Error alert of a rule of Witness's
/// own, and the testimony's `subject.escaped`. A move inside the subject's own
/// cgroup tree is no escape.
package struct SubjectEscape: Sendable, Equatable {
    package static let ruleName = "Process left the subject"
    package static let priority = Priority.error
    /// The most a window lists; all are counted.
    static let listed = 64

    /// The windows it left.
    package var subjects: UInt64
    /// The cgroup it went to.
    package var cgroupID: UInt64
    package var pid: Int32
    /// The process that moved it (itself, when it wrote its own pid), or made it there.
    package var mover: Int32
    package var bootTime: UInt64
    /// The cgroup's path below the cgroup v2 mount, when it could be read.
    package var destination: String?

    /// Adds a window's `count` escapes to its alerts by class and by rule, as a
    /// testimony counts them.
    package static func tally(_ count: Int, alerts: inout [SeverityClass: Int], rules: inout [(String, Int)]) {
        guard count > 0 else { return }
        alerts[SeverityClass(priority), default: 0] += count
        rules.append((ruleName, count))
    }
}

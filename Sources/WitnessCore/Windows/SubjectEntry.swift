/// A process entered the subjects in `subjects` from outside after their windows
/// began: moved into a subject cgroup, or made into one by a process outside it.
package struct SubjectEntry: Sendable, Equatable {
    package var subjects: UInt64
    package var cgroupID: UInt64
    package var pid: Int32
    /// The process that moved it, or the parent that made it in the subject (itself
    /// when it moved itself).
    package var mover: Int32
    /// The mover is itself a subject of these windows (the kernel's word).
    var bySubject = false
    /// When it entered (boot time).
    var bootTime: UInt64 = 0
}

/// A process entered the subjects in `subjects` from outside after their windows
/// began: moved into a subject cgroup, or made into one by a process outside it.
package struct SubjectEntry: Sendable, Equatable {
    package var subjects: UInt64
    package var cgroupID: UInt64
    package var pid: Int32
}

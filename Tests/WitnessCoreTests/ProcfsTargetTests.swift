import Testing

@testable import WitnessCore

/// fd.procfs_target: whose /proc entry a path names, seen from the opener (pid 100,
/// its main thread 100, a worker 101; pid 7 in its own PID namespace).
@Suite("Whose /proc entry a path names")
struct ProcfsTargetTests {
    func target(_ path: String, tid: Int32 = 100, vpid: Int32? = 7) -> String? {
        Array(path.utf8).withUnsafeBytes { ProcfsTarget.of($0, pid: 100, tid: tid, vpid: vpid) }.map { "\($0)" }
    }

    @Test func itsOwnEntriesAreItsOwn() {
        #expect(target("/proc/self/environ") == "self")
        #expect(target("/proc/100/mem") == "self")
        #expect(target("/proc/7/environ") == "self", "its PID in its own namespace (a container's /proc)")
        #expect(target("/proc/100/task/100/comm") == "self", "the main thread's entry")
        #expect(target("/proc/self/task/7/comm") == "self")
        #expect(target("/proc/thread-self/comm") == "self")
        #expect(target("/proc/100") == "self")
    }

    @Test func itsOtherThreadsAreThreads() {
        #expect(target("/proc/100/task/101/comm") == "thread")
        #expect(target("/proc/self/task/101/comm") == "thread")
        #expect(target("/proc/thread-self/comm", tid: 101) == "thread")
    }

    @Test func anyOtherProcessIsOther() {
        #expect(target("/proc/1/environ") == "other")
        #expect(target("/proc/1000/mem") == "other", "a PID that only starts like its own")
        #expect(target("/proc/10/task/100/comm") == "other")
        #expect(target("/proc/8/environ", vpid: nil) == "other")
    }

    @Test func otherPathsAreNoProcessEntry() {
        #expect(target("/proc/sys/kernel/core_pattern") == nil)
        #expect(target("/proc/meminfo") == nil)
        #expect(target("/proc/") == nil)
        #expect(target("/process/1/mem") == nil)
        #expect(target("/tmp/proc/1/mem") == nil)
        #expect(target("/proc/12345678901/mem") == nil, "not a PID")
    }
}

import Foundation
import NIOHTTP1
import Testing

/// `kill -9` of the agent (an OOM kill, a node under pressure) must not lose the
/// windows it had open: the next agent testifies for them.
extension RealKernelTests {
    @Test func aKilledAgentsOpenWindowsTestifyAfterTheRestart() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let first = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: first.directory) }
        let id = try await first.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s", trialID: "CRASH-1", sostle: "L2")
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null; cat /etc/hostname > /dev/null")
        try await Task.sleep(for: .milliseconds(1700))  // past a checkpoint
        first.agent.signal(SIGKILL)
        _ = try first.agent.finish(keepDirectory: true)
        #expect(Agent.witnessProgramsLeft() == 0, "the kernel let go of a killed agent's programs")

        let second = try NodeUnderTest(directory: first.directory)
        let window = try await second.json(.GET, "/v1/windows/\(id)")
        #expect(window["state"] as? String == "closed")
        let testimony = try #require(window["testimony"] as? [String: Any])
        #expect(testimony["trialId"] as? String == "CRASH-1")
        #expect((testimony["window"] as? [String: Any])?["endReason"] as? String == "agentRestarted")
        #expect(testimony["complete"] as? Bool == false)
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["passed"] as? Bool == false)
        #expect((gate["detail"] as? String)?.contains("restarted") == true)
        #expect(
            (testimony["rules"] as? [String: Int])?["Read sensitive file by untrusted program"] == 1, "\(testimony)")
        #expect(((testimony["events"] as? [String: Any])?["total"] as? Int ?? 0) >= 2, "the checkpointed counts")
        let delivered = try second.stop()
        #expect(delivered.jsonLines().contains { $0["windowId"] as? String == id }, "delivered like any testimony")

        // Testified once: a further restart has nothing left to say about it.
        let third = try NodeUnderTest(directory: first.directory)
        #expect(try await third.call(.GET, "/v1/windows/\(id)").status == 404)
        _ = try third.stop()
    }
}

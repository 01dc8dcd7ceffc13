import Foundation
import NIOHTTP1
import Testing

/// Node mode windows armed before their subject exists: POST with `armDeadline`
/// waits for the cgroup, GET shows armed then active, metrics count armed windows,
/// and a subject that never comes ends `neverStarted`, never passing.
extension RealKernelTests {
    @Test func aNodeWindowArmedBeforeItsCgroupIsActiveFromItsBirth() async throws {
        let node = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let cgroup = "\(try cgroupMount())/witness-armed-\(UUID().uuidString.prefix(8))"
        let never = "\(try cgroupMount())/witness-never-\(UUID().uuidString.prefix(8))"
        defer { rmdir(cgroup) }

        // Without armDeadline a missing subject is still not found.
        #expect(
            try await node.call(.POST, "/v1/windows", body: "{\"subject\":{\"cgroup\":\"\(cgroup)\"}}").status == 404)
        let opened = try await node.json(
            .POST, "/v1/windows",
            body:
                "{\"trialId\":\"BORN\",\"subject\":{\"cgroup\":\"\(cgroup)\"},\"window\":\"3s\",\"armDeadline\":\"30s\"}"
        )
        let id = try #require(opened["id"] as? String)
        #expect(opened["state"] as? String == "armed")
        #expect(opened["armedAt"] is String)
        let neverID = try #require(
            try await node.json(
                .POST, "/v1/windows",
                body:
                    "{\"trialId\":\"NEVER\",\"subject\":{\"cgroup\":\"\(never)\"},\"window\":\"3s\",\"armDeadline\":\"1s\"}"
            )["id"] as? String)
        #expect(try await node.call(.GET, "/metrics").body.contains("witness_armed_windows 2"))

        // The cgroup is made and entered: the window is active, its first exec seen.
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null")
        let active = try await node.json(.GET, "/v1/windows/\(id)")
        #expect(active["state"] as? String == "active", "\(active)")
        #expect(active["activeAt"] is String)

        let testimony = try await node.testimony(of: id)
        #expect((testimony["subject"] as? [String: Any])?["witnessedFromStart"] as? Bool == true)
        #expect((testimony["window"] as? [String: Any])?["armedAt"] is String)
        #expect((testimony["rules"] as? [String: Int])?["Read sensitive file by untrusted program"] == 1)

        let unborn = try await node.testimony(of: neverID)
        #expect((unborn["window"] as? [String: Any])?["endReason"] as? String == "neverStarted")
        #expect((unborn["gate"] as? [String: Any])?["passed"] as? Bool == false)
        _ = try node.stop()
    }
}

import Foundation
import NIOHTTP1
import Testing

extension RealKernelTests {
    /// A memory cgroup for the agent: cgroup v1's memory controller where the host
    /// mounts one (hybrid hosts like this one), else v2's memory.max.
    func memoryLimitedCgroup(bytes: Int) throws -> (directory: String, usage: String) {
        let v1 = "/sys/fs/cgroup/memory"
        if FileManager.default.fileExists(atPath: v1 + "/memory.limit_in_bytes") {
            let directory = "\(v1)/witness-test-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            try Scratch.write(directory + "/memory.limit_in_bytes", Data("\(bytes)".utf8))
            return (directory, "memory.max_usage_in_bytes")
        }
        let root = try cgroupMount()
        _ = try? Scratch.write(root + "/cgroup.subtree_control", Data("+memory".utf8))
        let directory = "\(root)/witness-mem-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try Scratch.write(directory + "/memory.max", Data("\(bytes)".utf8))
        return (directory, "memory.peak")
    }

    /// A subject with hundreds of live processes of 4 KiB argv and a flood of
    /// alerts, against an agent under a memory limit with a small budget: the agent
    /// lives and stays healthy, forgets what its budget cannot hold, and the window
    /// says it is incomplete.
    @Test func aSubjectCannotPushTheAgentPastItsMemory() async throws {
        let subject = try makeCgroup()
        let node = try NodeUnderTest(extraConfig: "memory_budget: 2M")
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let limited = try memoryLimitedCgroup(bytes: 512 << 20)
        defer { for _ in 0..<50 where rmdir(limited.directory) != 0 { usleep(100_000) } }  // once the agent is gone
        try Scratch.write(limited.directory + "/cgroup.procs", Data("\(node.agent.process.processIdentifier)".utf8))
        defer { for _ in 0..<50 where rmdir(subject) != 0 { usleep(100_000) } }
        let id = try await node.open("{\"cgroup\":\"\(subject)\"}", window: "120s")
        let long = String(repeating: "x", count: 4096)
        try runInCgroup(
            subject,
            """
            i=0; while [ $i -lt 600 ]; do sh -c 'sleep 3; :' \(long) < /dev/null > /dev/null 2>&1 & i=$((i+1)); done
            python3 -c 'for _ in range(20000): open("/etc/shadow").close()'
            wait
            """)
        let closed = try await node.json(.DELETE, "/v1/windows/\(id)")
        let testimony = try #require(closed["testimony"] as? [String: Any])
        #expect(testimony["complete"] as? Bool == false, "forgotten process records are lost evidence")
        #expect(((testimony["dropsDetail"] as? [String: Any])?["agent"] as? Int ?? 0) > 0, "\(testimony)")
        // Every read of /etc/shadow is an alert or counted lost in the kernel (a busy
        // full suite can fill the ring buffer): none vanishes silently.
        let alerted = (testimony["alerts"] as? [String: Any])?["high"] as? Int ?? 0
        let lostInKernel = (testimony["dropsDetail"] as? [String: Any])?["kernel"] as? Int ?? 0
        #expect(alerted + lostInKernel >= 20000, "\(alerted) alerts, \(lostInKernel) lost in the kernel")
        #expect(try await node.call(.GET, "/healthz", token: nil).status == 200)
        #expect(node.agent.process.isRunning, "not killed by its memory limit")
        _ = try node.stop()
    }
}

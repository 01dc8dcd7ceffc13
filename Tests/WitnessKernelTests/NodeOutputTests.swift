import Foundation
import NIOHTTP1
import Testing

extension RealKernelTests {
    /// The alert lines of an agent's stdout (testimonies excluded), in order.
    func alertLines(_ result: AgentResult) -> [String] {
        result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{\"time\":") }
    }

    /// A receiver that is down, then slow, then up gets every alert exactly once,
    /// in order, byte for byte what stdout printed.
    @Test func httpOutputDeliversEveryAlertOnceInOrder() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let receiver = Receiver()
        let node = try NodeUnderTest(extraConfig: """
            http_output:
              enabled: true
              url: http://127.0.0.1:\(receiver.port)/alerts
              timeout: 5s
              headers:
                X-Witness-Test: yes
            """)
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do cat /etc/shadow > /dev/null; done")
        try await Task.sleep(for: .seconds(2))  // down: every attempt fails
        #expect(receiver.received().isEmpty)
        receiver.delay = .milliseconds(400)  // then slow
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        _ = try await receiver.wait(for: 3, path: "/alerts")
        receiver.delay = .zero  // then up
        let bodies = try await receiver.wait(for: 12, path: "/alerts")
        let testimony = try await node.json(.DELETE, "/v1/windows/\(id)")["testimony"] as? [String: Any]
        #expect(testimony?["complete"] as? Bool == true)
        try await Task.sleep(for: .milliseconds(500))
        let result = try node.stop()
        #expect(receiver.received(path: "/alerts") == alertLines(result), "exactly once, in order, unchanged")
        #expect(bodies.count == 12)
    }

    /// A spool too small for what the receiver has not taken: the loss is counted,
    /// logged, in the metrics, and the window is incomplete.
    @Test func fullSpoolLossIsCountedAndMarkedInTestimony() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let node = try NodeUnderTest(extraConfig: """
            http_output:
              enabled: true
              url: http://127.0.0.1:1/never
            """, spoolMaxBytes: "2K")
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/shadow > /dev/null; done")
        let testimony = try #require(try await node.json(.DELETE, "/v1/windows/\(id)")["testimony"] as? [String: Any])
        #expect(testimony["complete"] as? Bool == false)
        #expect(((testimony["dropsDetail"] as? [String: Any])?["agent"] as? Int ?? 0) > 0)
        #expect((testimony["gate"] as? [String: Any])?["passed"] as? Bool == false)
        #expect((testimony["gate"] as? [String: Any])?["detail"] as? String ?? "" == "10 high alerts, incomplete: \(((testimony["dropsDetail"] as? [String: Any])?["agent"] as? Int) ?? 0) events lost")
        let metrics = try await node.call(.GET, "/metrics", token: nil).body
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("witness_spool_dropped_total ") }
        #expect(dropped.flatMap { Int($0.split(separator: " ")[1]) } ?? 0 > 0)
        let result = try node.stop()
        #expect(result.status == 0)
    }

    /// SIGTERM while the receiver is down: the window's testimony is written, cut
    /// short; what was not delivered stays spooled and the next start delivers it.
    @Test func undeliveredAlertsSurviveARestart() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let receiver = Receiver()
        let outputs = """
            http_output:
              enabled: true
              url: http://127.0.0.1:\(receiver.port)/alerts
            testimony_output:
              enabled: true
              url: http://127.0.0.1:\(receiver.port)/testimony
            """
        let first = try NodeUnderTest(extraConfig: outputs)
        defer { try? FileManager.default.removeItem(at: first.directory) }
        let id = try await first.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s", trialID: "RESTART")
        try runInCgroup(cgroup, "cat /etc/shadow; cat /etc/shadow; cat /etc/shadow")
        try await Task.sleep(for: .milliseconds(300))
        let stopped = try first.stop()
        #expect(stopped.status == 0)
        let testimony = try #require(stopped.jsonLines().last)
        #expect(testimony["windowId"] as? String == id)
        #expect((testimony["window"] as? [String: Any])?["cutShort"] as? Bool == true)
        let alerts = alertLines(stopped)
        #expect(alerts.count == 3)

        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let second = try NodeUnderTest(extraConfig: outputs, directory: first.directory)
        #expect(try await receiver.wait(for: 3, path: "/alerts") == alerts)
        let delivered = try await receiver.wait(for: 1, path: "/testimony")
        #expect(delivered.first?.contains("\"windowId\":\"\(id)\"") == true)
        _ = try second.stop()
    }
}

import Foundation
import HTTPTypes
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
        let node = try NodeUnderTest(
            extraConfig: """
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
        let node = try NodeUnderTest(
            extraConfig: """
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
        #expect(
            (testimony["gate"] as? [String: Any])?["detail"] as? String ?? ""
                == "10 high alerts, incomplete: \(((testimony["dropsDetail"] as? [String: Any])?["agent"] as? Int) ?? 0) events lost"
        )
        let metrics = try await node.call(.GET, "/metrics").body
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

extension RealKernelTests {
    /// An https receiver whose certificate only the configured CA file vouches for
    /// (a self-signed one made here): alerts arrive, over TLS, unchanged.
    @Test func httpOutputOverTLSTrustsTheCAFile() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let scratch = try Scratch.directory("tls")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let dir = scratch.path
        #expect(
            try Scratch.shell(
                """
                openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
                  -addext subjectAltName=IP:127.0.0.1 -keyout \(dir)/key.pem -out \(dir)/cert.pem 2>/dev/null
                """) == 0)
        let port = LoopbackPort.next()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = [
            "python3", "-c",
            """
            import http.server, ssl, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    with open(sys.argv[2], "ab") as out: out.write(body + b"\\n")
                    self.send_response(200); self.end_headers()
                def log_message(self, *args): pass
            server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[3] + "/cert.pem", sys.argv[3] + "/key.pem")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """, String(port), "\(dir)/received", dir,
        ]
        receiver.standardOutput = FileHandle.nullDevice
        receiver.standardError = FileHandle.nullDevice
        try receiver.run()
        defer {
            // SIGKILL: a child of the test runner inherits a mask that blocks SIGTERM.
            kill(receiver.processIdentifier, SIGKILL)
            try? receiver.waitForExit()
        }
        let node = try NodeUnderTest(
            extraConfig: """
                http_output:
                  enabled: true
                  url: https://127.0.0.1:\(port)/alerts
                  ca_file: \(dir)/cert.pem
                """)
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null")
        var received = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && received.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            received = (try? String(contentsOfFile: "\(dir)/received", encoding: .utf8)) ?? ""
        }
        _ = try await node.json(.DELETE, "/v1/windows/\(id)")
        let result = try node.stop()
        #expect(received.split(separator: "\n").map(String.init) == alertLines(result))
        #expect(!received.isEmpty)
    }
}

extension RealKernelTests {
    /// A receiver that answers 401, 403, 404 and 503 before it takes anything (a
    /// token being rotated, a receiver being deployed) gets every alert exactly once,
    /// each with its own uuid, and the testimony after the window's alerts.
    @Test func refusalsAreRetriedAndTheTestimonyComesAfterItsAlerts() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let receiver = Receiver()
        receiver.answers = [.unauthorized, .forbidden, .notFound, .serviceUnavailable]
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let node = try NodeUnderTest(
            extraConfig: """
                http_output:
                  enabled: true
                  url: http://127.0.0.1:\(receiver.port)/alerts
                testimony_output:
                  enabled: true
                  url: http://127.0.0.1:\(receiver.port)/testimony
                """)
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "cat /etc/shadow; cat /etc/shadow; cat /etc/shadow")
        _ = try await node.json(.DELETE, "/v1/windows/\(id)")
        let testimonies = try await receiver.wait(for: 1, path: "/testimony")
        let alerts = receiver.received(path: "/alerts")
        #expect(alerts.count == 3, "every alert before the testimony: \(alerts.count)")
        let uuids = alerts.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["uuid"] as? String
        }
        #expect(Set(uuids).count == 3 && uuids.allSatisfy { $0.count == 36 }, "\(uuids)")
        let testimony = try #require(
            try JSONSerialization.jsonObject(with: Data(testimonies[0].utf8)) as? [String: Any])
        #expect((testimony["uuid"] as? String)?.count == 36)
        #expect(receiver.received().last == testimonies[0], "the testimony arrived last")
        #expect(Array(receiver.attemptLog().prefix(4).map(\.status)) == [401, 403, 404, 503])
        let metrics = try await node.call(.GET, "/metrics").body
        #expect(
            metrics.contains("witness_output_failures_total{output=\"http_output\",status=\"401\"} 1"), "\(metrics)")
        try await Task.sleep(for: .milliseconds(300))
        _ = try node.stop()
        #expect(receiver.received(path: "/alerts").count == 3, "exactly once")
    }

    /// A line the receiver calls malformed (422) is kept in the dead-letter file,
    /// counted, and the lines after it go on.
    @Test func aMalformedLineGoesToTheDeadLetterFile() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let receiver = Receiver()
        receiver.answer = { $0.contains("gshadow") ? .unprocessableContent : .ok }
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let node = try NodeUnderTest(
            extraConfig: """
                http_output:
                  enabled: true
                  url: http://127.0.0.1:\(receiver.port)/alerts
                """)
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "cat /etc/shadow; cat /etc/gshadow; cat /etc/shadow")
        let delivered = try await receiver.wait(for: 2, path: "/alerts")
        _ = try await node.json(.DELETE, "/v1/windows/\(id)")
        #expect(delivered.allSatisfy { !$0.contains("gshadow") })
        let deadLetter = try String(
            contentsOfFile: node.directory.path + "/spool/alerts/dead-letter.ndjson", encoding: .utf8)
        #expect(deadLetter.split(separator: "\n").count == 1 && deadLetter.contains("/etc/gshadow"), "\(deadLetter)")
        let metrics = try await node.call(.GET, "/metrics").body
        #expect(metrics.contains("witness_output_rejected_total{output=\"http_output\"} 1"), "\(metrics)")
        _ = try node.stop()
    }
}

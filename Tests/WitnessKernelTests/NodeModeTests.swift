import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

extension RealKernelTests {
    /// A scratch cgroup under the real cgroup v2 mount.
    func makeCgroup() throws -> String {
        let path = "\(try cgroupMount())/witness-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// Runs `script` inside cgroup `path`.
    func runInCgroup(_ path: String, _ script: String) throws {
        try Scratch.shell("echo $$ > \(path)/cgroup.procs; \(script)")
    }

    /// Every route, authentication, validation, and three windows at once over
    /// different cgroups: clean, high, and critical behaviour, each counting only
    /// its own subject, one of them streamed live and closed early.
    @Test func nodeModeAPIAndWindows() async throws {
        let clean = try makeCgroup(), reader = try makeCgroup(), escaper = try makeCgroup()
        defer { for path in [clean, reader, escaper] { rmdir(path) } }
        let node = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: node.directory) }

        // Open routes, and the token on everything else.
        #expect(try await node.call(.GET, "/healthz", token: nil).status == 200)
        #expect(try await node.call(.GET, "/readyz", token: nil).status == 200)
        #expect(try await node.call(.GET, "/metrics").body.contains("witness_ring_buffer_bytes"))
        // How many windows are open is the token's business: a subject must not learn it is watched.
        #expect(try await node.call(.GET, "/metrics", token: .some(nil)).status == 401)
        #expect(try await node.call(.GET, "/metrics", token: "wrong-token-0123456789").status == 401)
        let body = "{\"subject\":{\"cgroup\":\"\(clean)\"},\"window\":\"5s\"}"
        for token: String? in [nil, "wrong-token-0123456789", node.token + "x", String(node.token.dropLast())] {
            #expect(try await node.call(.GET, "/v1/windows", token: token).status == 401)
            #expect(try await node.call(.POST, "/v1/windows", body: body, token: token).status == 401)
            #expect(try await node.call(.DELETE, "/v1/windows/w-1", token: token).status == 401)
        }
        #expect((try await node.json(.GET, "/v1/windows")["windows"] as? [Any])?.isEmpty == true)

        // Bad bodies and unknown things.
        for bad in [
            "", "{", "[]", "{\"subject\":{\"cgroup\":\"/x\"},\"extra\":1}", "{\"window\":\"5s\"}",
            "{\"subject\":{\"kind\":\"vm\",\"value\":\"x\"}}", "{\"subject\":{\"pid\":\"1\"}}",
            "{\"subject\":{\"cgroup\":\"/a\"},\"window\":\"soon\"}",
            "{\"subject\":{\"cgroup\":\"/a\"},\"sostle\":\"L9\"}",
            "{\"subject\":{\"pod\":\"not-a-uid\"}}", "{\"subject\":{\"cgroup\":\"/../../etc\"}}",
            "{\"subject\":{\"pid\":true}}",
        ] {
            let (status, text) = try await node.call(.POST, "/v1/windows", body: bad)
            #expect(status == 400, "\(bad) → \(status) \(text)")
            #expect(text.contains("\"error\""))
        }
        let huge = "{\"trialId\":\"" + String(repeating: "a", count: 100_000) + "\",\"subject\":{\"cgroup\":\"/\"}}"
        #expect(try await node.call(.POST, "/v1/windows", body: huge).status == 400)
        #expect(
            try await node.call(.POST, "/v1/windows", body: "{\"subject\":{\"cgroup\":\"/no/such/cgroup\"}}").status
                == 404)
        #expect(
            try await node.call(
                .POST, "/v1/windows", body: "{\"subject\":{\"podUid\":\"0b9c1f4e-1111-2222-3333-444455556666\"}}"
            ).status == 404)
        #expect(try await node.call(.POST, "/v1/windows", body: "{\"subject\":{\"pid\":999999999}}").status == 404)
        #expect(try await node.call(.GET, "/v1/windows/w-none").status == 404)
        #expect(try await node.call(.GET, "/v1/windows/w-none/alerts").status == 404)
        #expect(try await node.call(.DELETE, "/v1/windows/w-none").status == 404)

        // Three windows at once.
        let cleanID = try await node.open("{\"cgroup\":\"\(clean)\"}", window: "4s", trialID: "CLEAN")
        let readerID = try await node.open(
            "{\"kind\":\"cgroup\",\"value\":\"\(reader)\"}", window: "60s", trialID: "READ")
        let escaperID = try await node.open("{\"cgroup\":\"\(escaper)\"}", window: "4s", trialID: "ESC", sostle: "L2")
        #expect((try await node.json(.GET, "/v1/windows")["windows"] as? [Any])?.count == 3)

        // The reader's alerts, streamed while its window is open.
        var request = HTTPClientRequest(url: node.base + "/v1/windows/\(readerID)/alerts")
        request.headers.add(name: "Authorization", value: "Bearer \(node.token)")
        let stream = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        #expect(stream.headers.first(name: "content-type") == "application/x-ndjson")
        try runInCgroup(clean, "ls / > /dev/null; cat /etc/hostname > /dev/null")
        try runInCgroup(reader, "cat /etc/shadow > /dev/null")
        try runInCgroup(escaper, "unshare -U true")
        var streamed = ""
        for try await chunk in stream.body {
            streamed += String(buffer: chunk)
            if streamed.contains("\n") { break }
        }
        let alert = try #require(
            try JSONSerialization.jsonObject(with: Data(streamed.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(alert["priority"] as? String == "Error")
        #expect((alert["output_fields"] as? [String: Any])?["fd.name"] as? String == "/etc/shadow")

        // Closed early: cut short, high, DENY.
        let closed = try await node.json(.DELETE, "/v1/windows/\(readerID)")
        #expect(closed["state"] as? String == "closed")
        let read = try #require(closed["testimony"] as? [String: Any])
        #expect((read["window"] as? [String: Any])?["cutShort"] as? Bool == true)
        #expect((read["window"] as? [String: Any])?["endReason"] as? String == "deleted")
        #expect((read["window"] as? [String: Any])?["requestedSeconds"] as? Double == 60)
        #expect((read["alerts"] as? [String: Int])?["high"] == 1)
        #expect((read["gate"] as? [String: Any])?["verdictHint"] as? String == "DENY")
        #expect((read["gate"] as? [String: Any])?["deduction"] as? Double == -0.35)
        #expect(read["trialId"] as? String == "READ")

        let calm = try await node.testimony(of: cleanID)
        let calmGate = try #require(calm["gate"] as? [String: Any])
        #expect(calmGate["verdictHint"] as? String == "ADMIT")
        #expect(calmGate["bonus"] as? Double == 0.1)
        #expect(calmGate["passed"] as? Bool == true)
        #expect(calm["complete"] as? Bool == true)
        #expect((calm["rules"] as? [String: Int])?.isEmpty == true)
        let calmEvents = try #require(calm["events"] as? [String: Any])
        #expect((calmEvents["total"] as? Int ?? 0) > 0)
        // Only its own subject: the reader's and escaper's unshare and shadow read are not here.
        #expect((calmEvents["byType"] as? [String: Int])?["unshare"] == nil)

        let escaped = try await node.testimony(of: escaperID)
        let escapedGate = try #require(escaped["gate"] as? [String: Any])
        #expect((escaped["alerts"] as? [String: Int])?["critical"] ?? 0 >= 1)
        #expect(escapedGate["hardDeny"] as? Bool == true)
        #expect(escapedGate["verdictHint"] as? String == "DENY")
        #expect((escaped["events"] as? [String: Any]).flatMap { $0["byType"] as? [String: Int] }?["unshare"] ?? 0 >= 1)

        let metrics = try await node.call(.GET, "/metrics").body
        #expect(metrics.contains("witness_open_windows 0"))
        #expect(
            metrics.contains(
                "witness_alerts_total{rule=\"Read sensitive file by untrusted program\",priority=\"Error\"}"))

        // SIGTERM with a window open: its testimony is produced, cut short; all detached.
        let lastID = try await node.open("{\"cgroup\":\"\(clean)\"}", window: "60s", trialID: "LAST")
        let result = try node.stop()
        #expect(result.status == 0)
        let lines = result.jsonLines()
        let last = try #require(lines.last(where: { $0["windowId"] as? String == lastID }))
        #expect((last["window"] as? [String: Any])?["cutShort"] as? Bool == true)
        #expect((last["window"] as? [String: Any])?["endReason"] as? String == "shutdown")
        #expect(
            (last["gate"] as? [String: Any])?["passed"] as? Bool == false, "a rolling update does not pass a window")
        #expect(lines.filter { $0["windowId"] != nil }.count == 4)
        #expect(result.stderr.contains("programs detached"))
        #expect(Agent.witnessProgramsLeft() == 0)
    }

    /// The API token is the file's current content (a rotated Secret takes effect
    /// without a restart; a replacement without a usable token keeps the last good
    /// one), and a token file other users can read is refused at start.
    @Test func theAPITokenRotatesWithoutARestartAndMustBePrivate() async throws {
        let node = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: node.directory) }
        #expect(try await node.call(.GET, "/v1/windows").status == 200)
        let path = node.directory.appendingPathComponent("token").path
        func replace(with text: String) throws {
            try Scratch.write(path + ".new", Data(text.utf8))
            chmod(path + ".new", 0o600)
            rename(path + ".new", path)
        }
        let rotated = "rotated-token-" + UUID().uuidString
        try replace(with: rotated)
        #expect(try await node.call(.GET, "/v1/windows", token: rotated).status == 200)
        #expect(try await node.call(.GET, "/v1/windows").status == 401, "the old token no longer opens the API")
        try replace(with: "short")
        #expect(try await node.call(.GET, "/v1/windows", token: rotated).status == 200, "the last good token stands")
        #expect(try await node.call(.GET, "/v1/windows", token: "short").status == 401)
        _ = try node.stop()
        try replace(with: rotated)
        chmod(path, 0o644)
        let refused = try Agent.run(
            ["run", "--config", node.directory.appendingPathComponent("config.yaml").path], timeout: 60)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("can be read by other users (mode 644)"), "\(refused.stderr)")
    }

    /// FIFOs where /proc files should be (a hostile or broken proc_root) never stop the
    /// consumer: the window that must read them opens and closes, and /healthz stays 200.
    @Test func aFIFOUnderProcRootDoesNotStopTheConsumer() async throws {
        let cgroup = try makeCgroup()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sh")
        sleeper.arguments = ["-c", "echo $$ > \(cgroup)/cgroup.procs; exec sleep 60"]
        try sleeper.run()
        defer {
            kill(sleeper.processIdentifier, SIGKILL)
            try? sleeper.waitForExit()
            rmdir(cgroup)
        }
        let fake = try Scratch.directory("fakeproc")
        defer { try? FileManager.default.removeItem(at: fake) }
        let pid = sleeper.processIdentifier
        #expect(
            try Scratch.shell(
                """
                while ! grep -qx \(pid) \(cgroup)/cgroup.procs; do sleep 0.05; done
                mkdir \(fake.path)/\(pid) && cd \(fake.path)/\(pid) && mkfifo comm cmdline stat status loginuid
                """) == 0)
        let node = try NodeUnderTest(extraConfig: "proc_root: \(fake.path)\nliveness_timeout: 2s")
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null")
        let closed = try await node.json(.DELETE, "/v1/windows/\(id)")
        let testimony = try #require(closed["testimony"] as? [String: Any])
        #expect((testimony["alerts"] as? [String: Any])?["high"] as? Int == 1, "\(testimony)")
        #expect(try await node.call(.GET, "/healthz", token: nil).status == 200)
        _ = try node.stop()
    }

    /// A consumer thread that stops (here: stopped by ptrace, as a read that never
    /// returns would hold it) while records wait turns /healthz to 503 within the
    /// liveness timeout, and back to 200 once it drains again.
    @Test func aStoppedConsumerFailsTheLivenessCheck() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let node = try NodeUnderTest(extraConfig: "liveness_timeout: 1s")
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s")
        #expect(try await node.call(.GET, "/healthz", token: nil).status == 200)
        let agent = node.agent.process.processIdentifier
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(agent)/task")
        let consumer = try #require(
            tasks.first { task in
                ((try? String(contentsOfFile: "/proc/\(agent)/task/\(task)/comm", encoding: .utf8)) ?? "").hasPrefix(
                    "witness-consum")
            }, "the consumer thread is named")
        let stopper = Process()
        stopper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stopper.arguments = [
            "python3", "-c",
            """
            import ctypes, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            tid = int(sys.argv[1])
            assert libc.ptrace(0x4206, tid, 0, 0) == 0  # PTRACE_SEIZE
            assert libc.ptrace(0x4207, tid, 0, 0) == 0  # PTRACE_INTERRUPT: this thread alone stops
            print("stopped", flush=True)
            time.sleep(float(sys.argv[2]))
            libc.ptrace(17, tid, 0, 0)  # PTRACE_DETACH
            """, consumer, "4",
        ]
        let output = Pipe()
        stopper.standardOutput = output
        try stopper.run()
        defer {
            kill(stopper.processIdentifier, SIGKILL)
            try? stopper.waitForExit()
        }
        _ = output.fileHandleForReading.availableData  // "stopped"
        try runInCgroup(cgroup, "for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/hostname > /dev/null; done")
        var unhealthy: (status: Int, body: String)?
        for _ in 0..<30 {
            let answer = try await node.call(.GET, "/healthz", token: nil)
            if answer.status == 503 {
                unhealthy = answer
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(unhealthy?.body.contains("consumer has not drained") == true, "\(String(describing: unhealthy))")
        try stopper.waitForExit()
        var healthy = false
        for _ in 0..<50 where !healthy {
            healthy = try await node.call(.GET, "/healthz", token: nil).status == 200
            if !healthy { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(healthy, "alive again once it drains")
        _ = try await node.json(.DELETE, "/v1/windows/\(id)")
        _ = try node.stop()
    }

    /// The API over mutual TLS: a client with a certificate the configured CA signed
    /// gets through (with the token); one without a certificate, or speaking plain
    /// HTTP, never reaches a route.
    @Test func theAPIServesMutualTLS() async throws {
        let pki = try Scratch.directory("pki")
        defer { try? FileManager.default.removeItem(at: pki) }
        let p = pki.path
        #expect(
            try Scratch.shell(
                """
                cd \(p) && exec 2>/dev/null
                openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=witness-test-ca -keyout ca.key -out ca.crt
                openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout api.key -out api.csr
                printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
                openssl x509 -req -in api.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out api.crt
                openssl req -newkey rsa:2048 -nodes -subj /CN=controller -keyout client.key -out client.csr
                openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out client.crt
                """) == 0)
        let node = try NodeUnderTest(
            apiConfig: """
                  tls: {cert_file: \(p)/api.crt, key_file: \(p)/api.key, client_ca_file: \(p)/ca.crt}
                """)
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let url = "https://127.0.0.1:\(node.port)/v1/windows"
        let withCertificate = try Scratch.output(
            "curl -sS --cacert \(p)/ca.crt --cert \(p)/client.crt --key \(p)/client.key -H 'Authorization: Bearer \(node.token)' \(url)"
        )
        #expect(withCertificate.contains("\"windows\":[]"), "\(withCertificate)")
        let withoutCertificate = try Scratch.output(
            "curl -sS --cacert \(p)/ca.crt -H 'Authorization: Bearer \(node.token)' \(url) 2>&1; echo \" exit=$?\"")
        #expect(
            !withoutCertificate.contains("windows") && !withoutCertificate.contains("exit=0"), "\(withoutCertificate)")
        let plain = try Scratch.output(
            "curl -sS -H 'Authorization: Bearer \(node.token)' http://127.0.0.1:\(node.port)/v1/windows 2>&1; echo \" exit=$?\""
        )
        #expect(!plain.contains("\"windows\"") && !plain.contains("exit=0"), "\(plain)")
        _ = try node.stop()
    }
}

extension RealKernelTests {
    /// A node window held to a baseline raises drift alerts for what is new, and one
    /// asked to record leaves a recording under the spool that replays to its alerts.
    @Test func aNodeWindowHeldToABaselineAlertsOnDriftAndRecordsForReplay() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let node = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: node.directory) }
        let subject = "{\"cgroup\":\"\(cgroup)\"}"

        let first = try await node.open(subject, window: "60s")
        try runInCgroup(cgroup, "cat /etc/hostname > /dev/null")
        let baseline = try #require(try await node.json(.DELETE, "/v1/windows/\(first)")["testimony"] as? [String: Any])
        let profile = try #require(baseline["profile"] as? [String: Any])
        let profileJSON = String(decoding: try JSONSerialization.data(withJSONObject: profile), as: UTF8.self)

        let opened = try await node.json(
            .POST, "/v1/windows",
            body:
                "{\"subject\":\(subject),\"window\":\"60s\",\"record\":true,\"driftPriority\":\"Notice\",\"baseline\":\(profileJSON)}"
        )
        let id = try #require(opened["id"] as? String)
        let recording = try #require(opened["recording"] as? String)
        #expect(recording.hasPrefix(node.directory.path + "/spool/recordings/"))
        try runInCgroup(cgroup, "cat /etc/hostname > /dev/null; ls / > /dev/null; cat /etc/shadow > /dev/null")
        let closed = try #require(try await node.json(.DELETE, "/v1/windows/\(id)")["testimony"] as? [String: Any])
        let rules = try #require(closed["rules"] as? [String: Int])
        #expect((rules["Drift from baseline profile"] ?? 0) >= 1, "\(rules)")
        #expect((closed["alerts"] as? [String: Int])?["high"] == 1, "the shadow read")
        let recorded = try #require(closed["recording"] as? [String: Any])
        #expect(recorded["path"] as? String == recording)
        #expect((recorded["records"] as? Int ?? 0) > 0)
        #expect(recorded["truncated"] as? Bool == false)

        let replay = try Agent.run(["replay", recording, "--output", "json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let replayed = replay.jsonLines()
        // The same rules fire, drift included: the recording holds the window's baseline.
        #expect((replayed.last?["rules"] as? [String: Int]) == rules, "\(replay.stdout)")
        #expect((replayed.last?["events"] as? NSDictionary) == (closed["events"] as? NSDictionary))
        #expect(
            (replayed.last?["profile"] as? [String: Any])?["executables"] as? NSArray
                == (closed["profile"] as? [String: Any])?["executables"] as? NSArray)

        // The baseline by reference: a closed window of this node.
        let byReference = try #require(
            try await node.json(.POST, "/v1/windows", body: "{\"subject\":\(subject),\"baseline\":\"\(first)\"}")["id"]
                as? String)
        try runInCgroup(cgroup, "ls / > /dev/null")
        let referenced = try #require(
            try await node.json(.DELETE, "/v1/windows/\(byReference)")["testimony"] as? [String: Any])
        #expect(((referenced["rules"] as? [String: Int])?["Drift from baseline profile"] ?? 0) >= 1, "ls is new")
        let unknown = try await node.call(
            .POST, "/v1/windows", body: "{\"subject\":\(subject),\"baseline\":\"w-nope\"}")
        #expect(unknown.status == 404 && unknown.body.contains("no closed window"), "\(unknown.body)")

        let refused = try await node.call(
            .POST, "/v1/windows", body: "{\"subject\":\(subject),\"baseline\":{\"syscalls\":7}}")
        #expect(
            refused.status == 400 && refused.body.contains("baseline: syscalls must be an object"), "\(refused.body)")
        _ = try node.stop()
    }
}

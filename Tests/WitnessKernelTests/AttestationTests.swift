import Foundation
import NIOHTTP1
import Testing

/// Signed testimonies from real windows, checked by verifiers that share no code
/// with the agent: openssl over pre-authentication bytes this test builds from the
/// DSSE specification, Python's cryptography, securesystemslib's DSSE check and the
/// in-toto attestation package (scripts/verify-attestation) — and `witness-agent verify`.
extension RealKernelTests {
    /// The repository root (for scripts/ and .venv/).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A key pair from `witness-agent keygen`: (private file, public file, key id).
    func keygen(in directory: URL, _ name: String) throws -> (key: String, pub: String, keyID: String) {
        let key = directory.appendingPathComponent(name).path
        let result = try Agent.run(["keygen", key])
        #expect(result.status == 0, "keygen: \(result.stderr)")
        let keyID = try #require(result.stdout.split(separator: " ").last).trimmingCharacters(
            in: .whitespacesAndNewlines)
        return (key, key + ".pub", keyID)
    }

    /// Every independent verifier's answer on an envelope: true when it accepts it.
    func independentVerdicts(envelope path: String, publicKey: String) throws -> [String: Bool] {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let type = try #require(object["payloadType"] as? String)
        let payload = try Self.base64(object["payload"])
        let signatures = try #require(object["signatures"] as? [[String: Any]])
        let signature = try Self.base64(signatures.first?["sig"])
        // DSSE v1 pre-authentication encoding, written out here from the specification.
        var pae = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8)
        pae.append(payload)
        try pae.write(to: URL(fileURLWithPath: path + ".pae"))
        try signature.write(to: URL(fileURLWithPath: path + ".sig"))
        let openssl = try Scratch.shell(
            "openssl pkeyutl -verify -pubin -inkey '\(publicKey)' -rawin -in '\(path).pae' -sigfile '\(path).sig' >/dev/null 2>&1"
        )
        let root = Self.repositoryRoot.path
        let python = try Scratch.shell(
            "'\(root)/.venv/bin/python' '\(root)/scripts/verify-attestation' --key '\(publicKey)' '\(path)' >'\(path).python' 2>&1"
        )
        let said = (try? String(contentsOfFile: path + ".python", encoding: .utf8)) ?? ""
        let witness = try Agent.run(["verify", "--key", publicKey, path])
        return [
            "openssl": openssl == 0, "python (cryptography, securesystemslib, in-toto)": python == 0,
            "python said all three": said.components(separatedBy: " ok").count == 4,
            "witness-agent verify": witness.status == 0,
        ]
    }

    /// Standard base64 text to its bytes.
    static func base64(_ value: Any?) throws -> Data {
        let text = try #require(value as? String)
        return try #require(Data(base64Encoded: text))
    }

    /// Rewrites an envelope file with a change to its payload or signature.
    func tampered(_ path: String, _ name: String, _ change: (inout [String: Any]) throws -> Void) throws -> String {
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        try change(&object)
        let out = path + "." + name
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: out))
        return out
    }

    @Test func aWitnessedWindowsAttestationVerifiesWithIndependentToolsAndAlteredOnesFail() throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.repositoryRoot.path + "/.venv/bin/python"),
            "scripts/setup installs the Python verifiers")
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let directory = try Scratch.directory("attest")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (key, pub, keyID) = try keygen(in: directory, "node.pem")
        let envelope = directory.appendingPathComponent("attestation.json").path
        let agent = try RunningAgent([
            "witness", "--cgroup", cgroup, "--window", "3s", "--trial-id", "trial-A", "--attestation", envelope,
            "--signing-key", key,
        ])
        try agent.waitUntilAttached()
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null; /bin/true")
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let testimony = try #require(result.jsonLines().last)
        #expect(testimony["trialId"] as? String == "trial-A")

        // What the envelope carries is the testimony printed, signed by the new key.
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: envelope))) as? [String: Any])
        #expect((object["signatures"] as? [[String: Any]])?.first?["keyid"] as? String == keyID)
        let payload = try Self.base64(object["payload"])
        let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let carried = try #require(predicate["witnessTestimony"] as? [String: Any])
        #expect(carried["uuid"] as? String == testimony["uuid"] as? String)
        #expect((carried["rules"] as? [String: Any])?.keys.contains { $0.contains("Read sensitive file") } == true)
        // No image: the programs run, by content.
        let subjects = try #require(statement["subject"] as? [[String: Any]])
        #expect(subjects.contains { ($0["name"] as? String)?.hasSuffix("/cat") == true })

        for (verifier, accepted) in try independentVerdicts(envelope: envelope, publicKey: pub) {
            #expect(accepted, "\(verifier) refused a good envelope")
        }
        let verified = try Agent.run(["verify", "--key", pub, "--trial-id", "trial-A", envelope])
        #expect(verified.status == 0 && verified.stdout.contains("trial: trial-A"), "\(verified.stderr)")

        // Another trial or window: a replay, refused whatever its signature.
        for flags in [["--trial-id", "trial-B"], ["--window", "another-window"]] {
            let refused = try Agent.run(["verify", "--key", pub] + flags + [envelope])
            #expect(refused.status == 1, "\(flags)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")
        }
        // A DENY made ADMIT, one flipped payload byte, one flipped signature bit, a
        // stranger's key: every verifier refuses each.
        let text = String(decoding: payload, as: UTF8.self)
        let alterations: [(String, (inout [String: Any]) throws -> Void)] = [
            (
                "trial",
                {
                    $0["payload"] = Data(text.replacingOccurrences(of: "trial-A", with: "trial-Z").utf8)
                        .base64EncodedString()
                }
            ),
            (
                "byte",
                {
                    var bytes = Array(payload)
                    bytes[bytes.count / 2] ^= 0x01
                    $0["payload"] = Data(bytes).base64EncodedString()
                }
            ),
            (
                "signature",
                {
                    var signatures = try #require($0["signatures"] as? [[String: Any]])
                    var signature = Array(try Self.base64(signatures[0]["sig"]))
                    signature[7] ^= 0x80
                    signatures[0]["sig"] = Data(signature).base64EncodedString()
                    $0["signatures"] = signatures
                }
            ),
        ]
        for (name, change) in alterations {
            let altered = try tampered(envelope, name, change)
            for (verifier, accepted) in try independentVerdicts(envelope: altered, publicKey: pub) {
                #expect(!accepted, "\(verifier) accepted an envelope with its \(name) altered")
            }
        }
        let stranger = try keygen(in: directory, "stranger.pem")
        for (verifier, accepted) in try independentVerdicts(envelope: envelope, publicKey: stranger.pub) {
            #expect(!accepted, "\(verifier) accepted the envelope under a stranger's key")
        }
        #expect(Agent.witnessProgramsLeft() == 0)
    }

    @Test func theNodeSignsEveryWindowServesItsKeysAndSurvivesARotation() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let directory = try Scratch.directory("node-signing")
        let first = try keygen(in: directory, "first.pem")
        let key = directory.appendingPathComponent("key.pem").path
        #expect(rename(first.key, key) == 0)
        let node = try NodeUnderTest(
            extraConfig: """
                signing:
                  key_file: \(key)
                stdout_output: {enabled: true}
                """, directory: directory)
        defer { try? FileManager.default.removeItem(at: node.directory) }

        let identity = try await node.json(.GET, "/v1/identity")
        let keys = try #require(identity["keys"] as? [[String: Any]])
        #expect(keys.count == 1)
        #expect(keys.first?["keyid"] as? String == first.keyID)
        #expect(keys.first?["publicKey"] as? String == (try String(contentsOfFile: first.pub, encoding: .utf8)))
        #expect(keys.first?["current"] as? Bool == true)

        // One window, signed by the first key.
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s", trialID: "trial-N")
        try runInCgroup(cgroup, "cat /etc/shadow > /dev/null")
        #expect(try await node.call(.GET, "/v1/windows/\(id)/attestation").status == 409, "not before it closes")
        _ = try await node.json(.DELETE, "/v1/windows/\(id)")
        let (status, body) = try await node.call(.GET, "/v1/windows/\(id)/attestation")
        #expect(status == 200)
        let envelope = directory.appendingPathComponent("first.json").path
        try Data(body.utf8).write(to: URL(fileURLWithPath: envelope))
        let checked = try Agent.run(["verify", "--key", first.pub, "--trial-id", "trial-N", "--window", id, envelope])
        #expect(checked.status == 0, "\(checked.stderr)")
        for (verifier, accepted) in try independentVerdicts(envelope: envelope, publicKey: first.pub) {
            #expect(accepted, "\(verifier) refused the node's envelope")
        }
        #expect(try await node.call(.GET, "/v1/windows/none/attestation").status == 404)

        // The Secret rotates: the next window is signed by the new key; the old one stays listed.
        let second = try keygen(in: directory, "second.pem")
        #expect(rename(second.key, key) == 0)
        let next = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "60s", trialID: "trial-N2")
        try runInCgroup(cgroup, "/bin/true")
        _ = try await node.json(.DELETE, "/v1/windows/\(next)")
        let rotated = directory.appendingPathComponent("second.json").path
        try Data(try await node.call(.GET, "/v1/windows/\(next)/attestation").body.utf8).write(
            to: URL(fileURLWithPath: rotated))
        #expect(try Agent.run(["verify", "--key", second.pub, "--window", next, rotated]).status == 0)
        #expect(try Agent.run(["verify", "--key", first.pub, rotated]).status == 1, "signed by the new key only")
        let listed = try #require(try await node.json(.GET, "/v1/identity")["keys"] as? [[String: Any]])
        #expect(listed.map { $0["keyid"] as? String } == [second.keyID, first.keyID])
        #expect(listed.map { $0["current"] as? Bool } == [true, false])
        #expect(listed.last?["retiredAt"] is String)
        // The earlier envelope verifies with the previous key as the node lists it.
        let previous = directory.appendingPathComponent("previous.pub").path
        try Data(try #require(listed.last?["publicKey"] as? String).utf8).write(to: URL(fileURLWithPath: previous))
        #expect(try Agent.run(["verify", "--key", previous, "--window", id, envelope]).status == 0)

        // Every testimony line delivered carries its envelope, and verifies as it is;
        // the unsigned testimony beside it edited (a DENY made ADMIT) does not.
        let result = try node.stop()
        let lines = result.stdout.split(separator: "\n").map(String.init).filter {
            $0.contains("\"gate\":") && $0.contains("\"attestation\":")
        }
        #expect(lines.count == 2)
        let delivered = try #require(lines.first { $0.contains("trial-N\"") })
        let line = directory.appendingPathComponent("line.json").path
        try Data(delivered.utf8).write(to: URL(fileURLWithPath: line))
        let asDelivered = try Agent.run([
            "verify", "--key", first.pub, "--trial-id", "trial-N",
            "--subject", "cgroup:/\(cgroup.split(separator: "/").last!)", line,
        ])
        #expect(asDelivered.status == 0, "\(asDelivered.stderr)")
        #expect(asDelivered.stdout.contains("verdict: DENY (not passed)"), "\(asDelivered.stdout)")
        #expect(try Agent.run(["verify", "--key", first.pub, "--require-pass", line]).status == 1)
        #expect(try Agent.run(["verify", "--key", first.pub, "--subject", "cgroup:/elsewhere", line]).status == 1)
        let edited = directory.appendingPathComponent("edited.json").path
        try Data(
            delivered.replacingOccurrences(of: "\"verdictHint\":\"DENY\"", with: "\"verdictHint\":\"ADMIT\"").utf8
        ).write(to: URL(fileURLWithPath: edited))
        let refused = try Agent.run(["verify", "--key", first.pub, edited])
        #expect(refused.status == 1 && refused.stderr.contains("altered"), "\(refused.stderr)")
    }

    /// A pod's attestation names the image that ran by the digest of the pod
    /// status's imageID (the pod watch of a fake API server); so does a container's.
    @Test func aPodsAttestationNamesItsImageByDigest() async throws {
        var node = try FakeNode(mount: try cgroupMount())
        defer { node.remove() }
        var pod = try node.systemdPod(qos: "burstable")
        let container = try node.addContainer(to: &pod, runtime: "cri-containerd")
        let digest = String(repeating: "5e", count: 32)
        let api = FakeKubernetesAPI()
        api.setPods(
            [
                FakeKubernetesAPI.pod(
                    uid: pod.uid, name: "web-0", labels: [:],
                    container: (container.id, "web", "registry.local/web:1.4"),
                    imageID: "registry.local/web@sha256:\(digest)", version: "10")
            ], version: "10")
        api.setScript([], listAfterGone: [])
        try await api.start()
        defer { Task { await api.stop() } }
        let directory = try Scratch.directory("pod-attest")
        let signing = try keygen(in: directory, "node.pem")
        try Scratch.write(directory.appendingPathComponent("sa-token").path, Data("service-account-token-123".utf8))
        let agent = try NodeUnderTest(
            extraConfig: """
                signing: {key_file: \(signing.key)}
                kubernetes:
                  enabled: true
                  api_url: http://127.0.0.1:\(api.port)
                  node_name: node-1
                  token_file: \(directory.path)/sa-token
                """, directory: directory)
        defer { try? FileManager.default.removeItem(at: agent.directory) }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !(try await agent.call(.GET, "/metrics").body.contains("witness_kubernetes_pods 1")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let byPod = try await agent.open("{\"podUid\":\"\(pod.uid)\"}", window: "60s", trialID: "trial-P")
        let byContainer = try await agent.open("{\"containerId\":\"\(container.id)\"}", window: "60s")
        try runInCgroup(container.directory, "cat /etc/hostname > /dev/null")
        for id in [byPod, byContainer] {
            _ = try await agent.json(.DELETE, "/v1/windows/\(id)")
            let path = directory.appendingPathComponent("\(id).json").path
            try Data(try await agent.call(.GET, "/v1/windows/\(id)/attestation").body.utf8).write(
                to: URL(fileURLWithPath: path))
            let verified = try Agent.run(["verify", "--key", signing.pub, "--window", id, path])
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.contains("subject: registry.local/web:1.4 sha256:\(digest)"), "\(verified.stdout)")
            #expect(verified.stdout.contains("host: urn:witness:node:node-1"))
        }
        _ = try agent.stop()
    }

    @Test func aNodeWithAKeyItCannotUseDoesNotStart() throws {
        let directory = try Scratch.directory("bad-key")
        defer { try? FileManager.default.removeItem(at: directory) }
        let token = directory.appendingPathComponent("token").path
        try Data("test-token-0123456789abcdef\n".utf8).write(to: URL(fileURLWithPath: token))
        chmod(token, 0o600)
        let generated = try keygen(in: directory, "open.pem")
        chmod(generated.key, 0o644)
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: directory.path + "/garbage.pem"))
        chmod(directory.path + "/garbage.pem", 0o400)
        for (file, expected) in [
            (generated.key, "can be read or changed by other users"), (directory.path + "/garbage.pem", "no PKCS#8"),
            (directory.path + "/missing.pem", "cannot read"),
        ] {
            let config = directory.appendingPathComponent("config.yaml").path
            try Data(
                """
                api: {listen: "127.0.0.1:0", token_file: \(token)}
                spool: {directory: \(directory.path)/spool}
                signing: {key_file: \(file)}
                """.utf8
            ).write(to: URL(fileURLWithPath: config))
            let result = try Agent.run(["run", "--config", config], timeout: 30)
            #expect(result.status == 2, "\(file): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(
                lines.count == 1 && lines[0].contains("signing.key_file") && lines[0].contains(expected), "\(lines)")
        }
        // The CLI checks its key before any window opens.
        let refused = try Agent.run([
            "witness", "--cgroup", "/", "--window", "1s", "--attestation", directory.path + "/a.json", "--signing-key",
            generated.key,
        ])
        #expect(refused.status == 2 && refused.stderr.contains("other users"), "\(refused.stderr)")
        // An attestation that cannot be written (a full disk) is an error naming the
        // file; the testimony is still printed.
        chmod(generated.key, 0o400)
        let full = try Agent.run([
            "witness", "--cgroup", "/", "--window", "1s", "--attestation", "/dev/full", "--signing-key", generated.key,
        ])
        #expect(full.status == 1 && full.stderr.contains("cannot write /dev/full"), "\(full.stderr)")
        #expect(full.jsonLines().last?["gate"] != nil, "the testimony is printed first")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/a.json"))
        #expect(Agent.witnessProgramsLeft() == 0)
    }
}

import Foundation
import Testing
import WitnessAttestation
import WitnessCore

/// The envelope as DSSE defines it, signed and checked: every altered byte, every
/// other key, trial or window is refused with a reason.
@Suite struct EnvelopeTests {
    /// A testimony as a window would end it, with a profile that names programs.
    static func testimony(trial: String = "trial-7", window: String = "w-1") -> Testimony {
        var profile = RuntimeProfile()
        profile.executables = [
            .init(path: "/usr/bin/sh", sha256: String(repeating: "ab", count: 32), count: 2),
            .init(path: "/tmp/a\nb c", sha256: String(repeating: "cd", count: 32), count: 1, parent: "/usr/bin/sh"),
        ]
        profile.filesRead = ["/etc/shadow", "/tmp/\u{FFFD}name with space"]
        profile.connections = [
            .init(family: "ipv4", address: "169.254.169.254", port: 80, transport: "tcp", result: "ok", count: 1)
        ]
        return Testimony(
            trialID: trial, subjectKind: "pod", subjectValue: "0f5b4b9e-7d41-4a2c-9a51-5a1a9e0d3c11",
            startEpochNanoseconds: 1_780_000_000_000_000_000, endEpochNanoseconds: 1_780_000_060_000_000_000,
            sostle: nil, events: EventCounts(), kernelDrops: 0, agentDrops: 0, windowID: window, profile: profile)
    }

    static let context = AttestationContext(
        nodeName: "node-a", agentVersion: WitnessVersion.current,
        rules: RulesDigest([(name: "rules.yaml", text: "- rule: x\n")]),
        images: [
            ImageSubject(
                reference: "registry.local/app:1.2",
                imageID: "docker-pullable://registry.local/app@sha256:" + String(repeating: "12", count: 32),
                container: "app")!
        ])

    static func envelope(key: SigningKey, trial: String = "trial-7", window: String = "w-1") throws -> DSSEEnvelope {
        let testimony = testimony(trial: trial, window: window)
        let statement = RuntimeTraceStatement.json(
            testimony: testimony, testimonyJSON: testimony.json(), context: context)
        return try key.envelope(statement: statement)
    }

    @Test func preAuthenticationEncodingIsTheSpecificationsBytes() {
        // The DSSE specification's example: type "http://example.com/HelloWorld", body "hello world".
        let bytes = DSSEEnvelope.preAuthenticationEncoding(
            payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8))
        #expect(String(decoding: bytes, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
        // Lengths count bytes, not characters.
        let wide = DSSEEnvelope.preAuthenticationEncoding(payloadType: "t", payload: Array("é".utf8))
        #expect(String(decoding: wide, as: UTF8.self) == "DSSEv1 1 t 2 é")
    }

    @Test func aSignedStatementVerifiesAndSaysWhatItAttests() throws {
        let key = SigningKey.generate()
        let envelope = try Self.envelope(key: key)
        #expect(envelope.payloadType == "application/vnd.in-toto+json")
        #expect(envelope.signatures.map(\.keyID) == [key.publicKey.keyID])
        let verified = try AttestationVerifier.verify(
            envelope: Array(envelope.json().utf8), keys: [key.publicKey], trialID: "trial-7", window: "w-1")
        #expect(verified.trialID == "trial-7")
        #expect(verified.window == "w-1")
        #expect(verified.hostID == "urn:witness:node:node-a")
        #expect(verified.subjects.map(\.name) == ["registry.local/app:1.2"])
        #expect(verified.subjects.map(\.sha256) == [String(repeating: "12", count: 32)])
        #expect(verified.verdictHint == "ADMIT")
    }

    @Test func theStatementIsAnInTotoRuntimeTrace() throws {
        let envelope = try Self.envelope(key: .generate())
        let statement = try #require(
            try JSONSerialization.jsonObject(with: Data(envelope.payload)) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://in-toto.io/attestation/runtime-trace/v0.1")
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let monitor = try #require(predicate["monitor"] as? [String: Any])
        #expect(
            monitor["type"] as? String == "https://github.com/witness-project/witness-agent/v\(WitnessVersion.current)")
        let process = try #require(predicate["monitoredProcess"] as? [String: Any])
        #expect(process["event"] as? String == "w-1")
        let log = try #require(predicate["monitorLog"] as? [String: Any])
        let files = try #require(log["fileAccess"] as? [[String: Any]])
        // A name with a newline, a space or a replacement character is one valid URI.
        #expect(
            files.compactMap { $0["uri"] as? String } == [
                "file:///etc/shadow", "file:///tmp/%EF%BF%BDname%20with%20space",
            ])
        let programs = try #require(log["process"] as? [[String: Any]])
        #expect(programs.map { $0["processBinary"] as? String } == ["/usr/bin/sh", "/tmp/a\nb c"])
        let network = try #require(log["network"] as? [[String: Any]])
        #expect(network.first?["ip"] as? String == "169.254.169.254")
        #expect(network.first?["port"] as? Int == 80)
        #expect(network.first?["protocol"] as? String == "tcp")
        let testimony = try #require(predicate["witnessTestimony"] as? [String: Any])
        #expect(testimony["trialId"] as? String == "trial-7")
        #expect(testimony["windowId"] as? String == "w-1")
    }

    @Test func aFlippedByteAnywhereIsRefused() throws {
        let key = SigningKey.generate()
        let envelope = try Self.envelope(key: key)
        for index in stride(from: 0, to: envelope.payload.count, by: max(1, envelope.payload.count / 40)) {
            var altered = envelope
            altered.payload[index] ^= 0x01
            #expect(throws: AttestationError.self) {
                try AttestationVerifier.verify(envelope: Array(altered.json().utf8), keys: [key.publicKey])
            }
        }
        for index in 0..<64 {
            var altered = envelope
            altered.signatures[0].bytes[index] ^= 0x80
            #expect(throws: AttestationError.self) {
                try AttestationVerifier.verify(envelope: Array(altered.json().utf8), keys: [key.publicKey])
            }
        }
        var retyped = envelope
        retyped.payloadType = "application/json"
        #expect(throws: AttestationError.self) {
            try AttestationVerifier.verify(envelope: Array(retyped.json().utf8), keys: [key.publicKey])
        }
    }

    @Test func anotherKeyTrialOrWindowIsRefused() throws {
        let key = SigningKey.generate()
        let envelope = Array(try Self.envelope(key: key).json().utf8)
        let stranger = SigningKey.generate()
        #expect(throws: AttestationError.self) {
            try AttestationVerifier.verify(envelope: envelope, keys: [stranger.publicKey])
        }
        // A stranger's signature presented under the node's key id.
        var forged = try Self.envelope(key: stranger)
        forged.signatures[0].keyID = key.publicKey.keyID
        #expect(throws: AttestationError.self) {
            try AttestationVerifier.verify(envelope: Array(forged.json().utf8), keys: [key.publicKey])
        }
        #expect(throws: AttestationError.self) {
            try AttestationVerifier.verify(envelope: envelope, keys: [key.publicKey], trialID: "trial-8")
        }
        #expect(throws: AttestationError.self) {
            try AttestationVerifier.verify(envelope: envelope, keys: [key.publicKey], window: "w-2")
        }
        // Either of several pinned keys (a rotation) will do.
        _ = try AttestationVerifier.verify(envelope: envelope, keys: [stranger.publicKey, key.publicKey])
    }

    @Test func aTestimonyBesideTheEnvelopeMustBeTheOneSigned() throws {
        let key = SigningKey.generate()
        let testimony = Self.testimony()
        let line = testimony.json()
        let envelope = try key.envelope(
            statement: RuntimeTraceStatement.json(testimony: testimony, testimonyJSON: line, context: Self.context)
        ).json()
        let delivered = String(line.dropLast()) + ",\"attestation\":" + envelope + "}"
        let window = "{\"id\":\"w-1\",\"state\":\"closed\",\"testimony\":" + line + ",\"attestation\":" + envelope + "}"
        for carrier in [delivered, window] {
            _ = try AttestationVerifier.verify(
                AttestationVerifier.input(Array(carrier.utf8)), keys: [key.publicKey], expected: .init())
            // The unsigned copy turned from DENY to ADMIT (or any other change): refused.
            for (from, to) in [
                ("\"passed\":true", "\"passed\":false"), ("\"trialId\":\"trial-7\"", "\"trialId\":\"trial-8\""),
            ] {
                let altered = carrier.replacingOccurrences(of: from, with: to)  // the payload is base64: untouched
                #expect(altered != carrier)
                #expect(throws: AttestationError.self, "\(from) → \(to)") {
                    try AttestationVerifier.verify(
                        AttestationVerifier.input(Array(altered.utf8)), keys: [key.publicKey], expected: .init())
                }
            }
        }
    }

    @Test func theSubjectAskedForMustBeTheWindowsSubject() throws {
        let key = SigningKey.generate()
        let input = AttestationVerifier.Input(envelope: Array(try Self.envelope(key: key).json().utf8))
        let verified = try AttestationVerifier.verify(
            input, keys: [key.publicKey], expected: .init(subject: "pod:0f5b4b9e-7d41-4a2c-9a51-5a1a9e0d3c11"))
        #expect(verified.subject == "pod:0f5b4b9e-7d41-4a2c-9a51-5a1a9e0d3c11")
        for other in ["pod:0f5b4b9e-7d41-4a2c-9a51-5a1a9e0d3c12", "cgroup:/", "container:0f5b4b9e"] {
            #expect(throws: AttestationError.self, "\(other)") {
                try AttestationVerifier.verify(input, keys: [key.publicKey], expected: .init(subject: other))
            }
        }
    }

    @Test func malformedEnvelopesAreOneLineErrors() {
        let key = SigningKey.generate()
        for text in [
            "", "[]", "{}", "{\"payloadType\":\"x\"}", "{\"payloadType\":\"x\",\"payload\":\"***\",\"signatures\":[]}",
        ] {
            do {
                _ = try AttestationVerifier.verify(envelope: Array(text.utf8), keys: [key.publicKey])
                Issue.record("accepted \(text)")
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
            }
        }
    }

    @Test func imageDigestsAreReadFromEveryRuntimesImageID() {
        let hex = String(repeating: "a1", count: 32)
        for imageID in [
            "docker-pullable://nginx@sha256:\(hex)", "docker.io/library/nginx@sha256:\(hex)", "sha256:\(hex)",
        ] {
            #expect(ImageSubject(reference: "nginx", imageID: imageID, container: "c")?.sha256 == hex)
        }
        for imageID in ["", "nginx:latest", "sha256:\(hex.dropLast())", "sha256:\(hex.uppercased())"] {
            #expect(ImageSubject(reference: "nginx", imageID: imageID, container: "c") == nil)
        }
    }

    @Test func theRulesDigestIsSha256sumOfTheirSha256sums() throws {
        let digest = RulesDigest([(name: "a.yaml", text: "one\n"), (name: "b.yaml", text: "two\n")])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("one\n".utf8).write(to: directory.appendingPathComponent("a.yaml"))
        try Data("two\n".utf8).write(to: directory.appendingPathComponent("b.yaml"))
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.currentDirectoryURL = directory
        shell.arguments = ["-c", "sha256sum a.yaml b.yaml | sha256sum"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        shell.waitUntilExit()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed.hasPrefix(digest.digest + " "))
    }
}

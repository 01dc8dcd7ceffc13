import Testing
import WitnessCore

@testable import WitnessNode

@Suite struct NodeConfigTests {
    @Test func readsEveryBlock() throws {
        let config = try NodeConfig(
            yaml: """
                api:
                  listen: "[::1]:9000"
                  token_file: /run/secrets/token
                  max_body_bytes: 1024
                  public_metrics: true
                rules_files: [/etc/witness/a.yaml, /etc/witness/b.yaml]
                priority: warning
                ring_buffer: 16M
                default_window: 90s
                stdout_output: {enabled: false}
                file_output: {enabled: true, filename: /var/log/witness.json}
                http_output:
                  enabled: true
                  url: https://sidekick:2801/
                  headers: {X-Team: trials}
                  ca_file: /etc/ca.pem
                  timeout: 3s
                testimony_output: {enabled: true, url: "http://controller/testimony"}
                spool: {directory: /var/lib/witness, max_bytes: 1M}
                proc_root: /host/proc
                always_linked: true
                signing: {key_file: /run/secrets/signing/key.pem}
                """, name: "test.yaml")
        #expect(config.api.tokenFile == "/run/secrets/token")
        #expect(config.signing.keyFile == "/run/secrets/signing/key.pem")
        #expect(throws: AgentError.self, "a misspelt key is an error, not an unsigned node") {
            try NodeConfig(yaml: "signing: {keyfile: /k}", name: "t.yaml")
        }
        #expect(try ListenAddress(config.api.listen) == ListenAddress("[::1]:9000"))
        #expect(try ListenAddress(config.api.listen).host == "::1")
        #expect(config.api.maxBodyBytes == 1024)
        #expect(config.api.publicMetrics)
        #expect(config.alwaysLinked)
        #expect(
            !(try NodeConfig(yaml: "api: {token_file: /t}", name: "t.yaml")).api.publicMetrics,
            "metrics need the token by default")
        #expect(config.rulesFiles.count == 2)
        #expect(!config.stdoutOutput)
        #expect(config.fileOutput.enabled && config.fileOutput.filename == "/var/log/witness.json")
        #expect(config.httpOutput.headers == ["X-Team": "trials"])
        #expect(config.httpOutput.caFile == "/etc/ca.pem")
        #expect(config.testimonyOutput.url == "http://controller/testimony")
        #expect(config.procRoot == "/host/proc")
        try config.validate()
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        #expect(try NodeConfig(yaml: "", name: "empty.yaml") == NodeConfig())
    }

    @Test(arguments: [
        ("api: {token_flie: /x}", "unknown key api.token_flie"),
        ("outputs: []", "unknown key outputs"),
        ("api: [1]", "api: expected a mapping"),
        ("stdout_output: {enabled: maybe}", "expected true or false"),
        ("api: {max_body_bytes: -1}", "expected a whole number"),
        ("rules_files: /one/file", "expected a list of strings"),
        ("api: {listen: [", "not YAML"),
        ("- a\n- b", "the top level must be a mapping"),
    ])
    func badFilesSayWhatIsWrong(text: String, message: String) {
        do {
            _ = try NodeConfig(yaml: text, name: "bad.yaml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.message.contains("bad.yaml"))
            #expect(!error.message.contains("\n"))
            #expect(error.exitCode == 2)
        }
    }

    @Test func validationCatchesWhatParses() throws {
        var config = NodeConfig()
        #expect(throws: AgentError.self) { try config.validate() }  // no token file
        config.api.tokenFile = "/t"
        try config.validate()
        for change: (inout NodeConfig) -> Void in [
            { $0.api.listen = "nowhere" }, { $0.ringBuffer = "3K" }, { $0.minimumPriority = "loud" },
            { $0.defaultWindow = "soon" },
            { $0.fileOutput.enabled = true },
            {
                $0.httpOutput.enabled = true
                $0.httpOutput.url = "ftp://x"
            },
        ] {
            var broken = config
            change(&broken)
            #expect(throws: AgentError.self) { try broken.validate() }
        }
    }
}

@Suite struct BearerTokenTests {
    @Test func acceptsOnlyTheExactToken() {
        let token = BearerToken("s3cret-token-of-some-length")
        #expect(token.accepts(authorization: "Bearer s3cret-token-of-some-length"))
        #expect(token.accepts(authorization: "bearer s3cret-token-of-some-length"))
        for header: String? in [
            nil, "", "Bearer", "Bearer ", "Basic s3cret-token-of-some-length",
            "Bearer s3cret-token-of-some-lengtH", "Bearer s3cret-token-of-some-length ", "Bearer s3cret",
            "Bearer s3cret-token-of-some-length-and-more", "Bearers3cret-token-of-some-length",
        ] {
            #expect(!token.accepts(authorization: header), "\(String(describing: header))")
        }
    }

    @Test func comparesWholeArrays() {
        #expect(BearerToken.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerToken.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerToken.constantTimeEqual(Array("abc".utf8), Array("ab".utf8)))
        #expect(!BearerToken.constantTimeEqual([], Array("a".utf8)))
        // 256 apart in length must not wrap to "equal".
        #expect(!BearerToken.constantTimeEqual([UInt8](repeating: 0, count: 256), []))
    }
}

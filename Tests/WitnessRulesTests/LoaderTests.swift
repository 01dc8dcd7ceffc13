import Foundation
import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

@Suite("Rules files: loading, errors, Falco's upstream rules")
struct LoaderTests {
    func diagnostics(_ yaml: String) -> [RulesDiagnostic] {
        RulesLoader.load([RulesSource(name: "bad.yaml", text: yaml)]).diagnostics
    }

    @Test(arguments: [
        ("- rule: [unclosed\n", 2, "malformed YAML"),
        ("rule: x\n", 1, "a rules file is a list"),
        ("- rulez: x\n", 1, "unknown item"),
        ("- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: LOUD\n", 5, "bad priority 'LOUD'"),
        (
            "- rule: r\n  desc: d\n  condition: (proc.name = x\n  output: o\n  priority: INFO\n", 3,
            "unbalanced parentheses"
        ),
        (
            "- rule: r\n  desc: d\n  condition: proc.name ~ x\n  output: o\n  priority: INFO\n", 3,
            "expected an operator"
        ),
        (
            "- rule: r\n  desc: d\n  condition: no_such_macro\n  output: o\n  priority: INFO\n", 3,
            "unknown macro 'no_such_macro'"
        ),
        (
            "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n",
            7, "refers to itself"
        ),
        ("- rule: r\n  condition: and x\n  append: true\n", 1, "no rule 'r' to append to"),
        ("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n", 1, "needs condition"),
        ("- rule: r\n  desc: d\n  condition: fd.num > abc\n  output: o\n  priority: INFO\n", 3, "not a number"),
        (
            "- rule: r\n  desc: d\n  condition: proc.name in (a, b\n  output: o\n  priority: INFO\n", 3,
            "list is not closed"
        ),
    ])
    func badFilesGiveLocatedErrors(_ yaml: String, _ line: Int, _ message: String) {
        let found = diagnostics(yaml).filter { $0.severity == .error }
        #expect(found.count >= 1)
        let first = found.first
        #expect(first?.file == "bad.yaml")
        #expect(first?.line == line, "\(first.map(String.init(describing:)) ?? "no error")")
        #expect(first?.message.contains(message) == true, "\(first.map(String.init(describing:)) ?? "no error")")
    }

    @Test func unknownFieldsSkipOneRuleWithAWarning() {
        let loaded = RulesLoader.load([
            RulesSource(
                name: "mixed.yaml",
                text: """
                    - rule: good
                      desc: d
                      condition: proc.name = x
                      output: o
                      priority: INFO
                    - rule: needs plugin
                      desc: d
                      condition: ka.verb = create
                      output: o
                      priority: INFO
                    """)
        ])
        #expect(loaded.rules.map(\.name) == ["good"])
        #expect(
            loaded.skipped == [
                SkippedRule(name: "needs plugin", reason: "uses field 'ka.verb', which Witness does not know")
            ])
        #expect(loaded.diagnostics.count == 1 && loaded.diagnostics[0].severity == .warning)
        #expect(loaded.diagnostics[0].line == 8)
        #expect(!loaded.hasErrors)
    }

    /// One pod label, in both of Falco's spellings; a label field without a key is
    /// not a field.
    @Test func podLabelFieldsTakeAKey() {
        let loaded = RulesLoader.load([
            RulesSource(
                name: "labels.yaml",
                text: """
                    - rule: brackets
                      desc: d
                      condition: k8s.pod.label[app.kubernetes.io/name] = web
                      output: o %k8s.pod.label.team
                      priority: INFO
                    - rule: dotted
                      desc: d
                      condition: k8s.pod.label.app in (web, api)
                      output: o
                      priority: INFO
                    - rule: no key
                      desc: d
                      condition: k8s.pod.label = web
                      output: o
                      priority: INFO
                    """)
        ])
        #expect(loaded.rules.map(\.name) == ["brackets", "dotted"])
        #expect(loaded.skipped.map(\.reason) == ["uses field 'k8s.pod.label', which Witness does not know"])
    }

    @Test func prioritiesAreCaseInsensitiveAndMapToClasses() {
        #expect(Priority(falcoName: "INFO") == .informational)
        #expect(Priority(falcoName: "warning") == .warning)
        #expect(Priority(falcoName: "Critical").map(SeverityClass.init) == .critical)
        #expect(SeverityClass(.error) == .high)
        #expect(SeverityClass(.warning) == .medium)
        #expect(SeverityClass(.debug) == .low)
        #expect(Priority(falcoName: "urgent") == nil)
        let loaded = RulesLoader.load(
            [
                RulesSource(
                    name: "p.yaml",
                    text: """
                        - rule: low
                          desc: d
                          condition: proc.name = x
                          output: o
                          priority: NOTICE
                        - rule: high
                          desc: d
                          condition: proc.name = x
                          output: o
                          priority: ERROR
                        """)
            ], minimumPriority: .warning)
        #expect(loaded.rules.map(\.name) == ["high"])
    }

    @Test func theDefaultRulesLoadCompletely() {
        let loaded = RulesLoader.load(RulesLoader.defaultSources())
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.rules.count >= 20)
        let priorities = Set(loaded.rules.map { SeverityClass($0.priority) })
        #expect(priorities == [.critical, .high, .medium, .low])
    }

    /// Falco's rules, in ../shared/peers beside the project: not part of a lone clone.
    static let falcoRulesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../../shared/peers/falco_rules.yaml"
    ).standardizedFileURL.path

    /// Skipped where the peers' files are absent, unless WITNESS_REQUIRE_PEERS=1 (CI)
    /// says they must be there: then their absence fails the test.
    static var peersPresentOrRequired: Bool {
        FileManager.default.fileExists(atPath: falcoRulesPath)
            || ProcessInfo.processInfo.environment["WITNESS_REQUIRE_PEERS"] == "1"
    }

    /// Falco's own rules file (../shared/peers), loaded unmodified. The number that
    /// loads is a figure to raise, never to lower.
    @Test(.enabled(if: peersPresentOrRequired, "Falco's rules are not in ../shared/peers beside the project"))
    func falcoUpstreamRulesLoad() throws {
        let path = Self.falcoRulesPath
        try #require(
            FileManager.default.fileExists(atPath: path),
            "WITNESS_REQUIRE_PEERS=1 and Falco's rules are not at \(path)")
        let sources = try RulesLoader.sources(paths: [path])
        let loaded = RulesLoader.load(sources)
        #expect(!loaded.hasErrors, "\(loaded.diagnostics.filter { $0.severity == .error })")
        print("Falco upstream rules: \(loaded.rules.count) loaded, \(loaded.skipped.count) skipped")
        for skipped in loaded.skipped { print("  skipped \(skipped.name): \(skipped.reason)") }
        #expect(loaded.rules.count == 25, "every stable rule loads")
        #expect(loaded.rules.count + loaded.skipped.count + loaded.disabled == 25)

        // With the incubating rules, as Falco loads them after the stable ones: every
        // one; the sandbox file on its own: all but those disabled upstream and one
        // that needs a field Witness lacks (container.mount.dest).
        let peers = URL(fileURLWithPath: path).deletingLastPathComponent()
        let incubating = RulesLoader.load(
            try RulesLoader.sources(paths: [path, peers.appendingPathComponent("falco-incubating_rules.yaml").path]))
        #expect(!incubating.hasErrors && incubating.rules.count == 56 && incubating.skipped.isEmpty)
        let sandbox = RulesLoader.load(
            try RulesLoader.sources(paths: [peers.appendingPathComponent("falco-sandbox_rules.yaml").path]))
        #expect(!sandbox.hasErrors && sandbox.rules.count == 24 && sandbox.disabled == 12 && sandbox.skipped.count == 1)
    }

    @Test func outputsRenderFieldsAndMissingValues() throws {
        let harness = RuleHarness(
            """
            - rule: probe
              desc: d
              condition: evt.type = openat
              output: "read %fd.name by %proc.name (parent %proc.aname[1], ip %fd.sip) at %evt.time."
              priority: WARNING
              tags: [filesystem, test]
            """)
        let alert = try #require(try harness.alerts(RecordFixture.open(path: Array("/etc/hosts".utf8))).first)
        #expect(alert["rule"] as? String == "probe")
        #expect(alert["priority"] as? String == "Warning")
        #expect(alert["source"] as? String == "syscall")
        #expect(alert["tags"] as? [String] == ["filesystem", "test"])
        #expect(alert["hostname"] as? String == "node")
        let output = try #require(alert["output"] as? String)
        #expect(
            output.hasPrefix(
                "00:00:01.000000000: Warning read /etc/hosts by cat (parent bash, ip <NA>) at 00:00:01.000000000."))
        let fields = try #require(alert["output_fields"] as? [String: Any])
        #expect(fields["fd.name"] as? String == "/etc/hosts")
        #expect(fields["proc.aname[1]"] as? String == "bash")
        #expect(fields["fd.sip"] is NSNull)
        #expect(fields["evt.time"] as? Int == 1_000_000_000)
    }
}

@Suite("Parser and loader robustness")
struct RobustnessTests {
    static let seeds = [
        "evt.type in (open, openat) and not (proc.name = cat or fd.name startswith /etc) and fd.num >= 0",
        "proc.aname[2] = bash and fd.name glob '/etc/*' and evt.arg.flags contains O_TRUNC",
        "a and (b or not c) and proc.name in (x, \"y z\", 'q')",
    ]

    /// Random mutations of valid conditions: the parser answers (value or error), never crashes or hangs.
    @Test func mutatedConditionsNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("()'\",= !<>andornotin[]*?\\/.abcdefxyz0123456789 \n\t".utf8)
        for _ in 0..<3000 {
            var bytes = Array(Self.seeds.randomElement(using: &generator)!.utf8)
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0...bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                case 1 where position < bytes.count: bytes.remove(at: position)
                default: if position < bytes.count { bytes[position] = UInt8.random(in: 0...255, using: &generator) }
                }
            }
            _ = try? ConditionParser.parse(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "(", count: 5000) + "proc.name = x" + String(repeating: ")", count: 5000)
        #expect(throws: ConditionError.self) { try ConditionParser.parse(deep) }
        let nots = String(repeating: "not ", count: 5000) + "proc.name = x"
        #expect(throws: ConditionError.self) { try ConditionParser.parse(nots) }
    }

    /// Random and mutated YAML: the loader reports, never crashes.
    @Test func mutatedRulesFilesNeverCrash() throws {
        var generator = SystemRandomNumberGenerator()
        let base = Array(RulesLoader.defaultSources()[0].text.utf8.prefix(6000))
        for _ in 0..<150 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[position] = [
                    UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: "\n"),
                    UInt8(ascii: "'"), UInt8(ascii: " "), UInt8(ascii: "["),
                    UInt8.random(in: 0...255, using: &generator),
                ]
                .randomElement(using: &generator)!
            }
            _ = RulesLoader.load([RulesSource(name: "fuzz.yaml", text: String(decoding: bytes, as: UTF8.self))])
        }
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            _ = RulesLoader.load([RulesSource(name: "random.yaml", text: String(decoding: bytes, as: UTF8.self))])
        }
    }
}

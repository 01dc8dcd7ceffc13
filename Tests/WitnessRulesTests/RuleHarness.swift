import Foundation
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

/// Loads rules from YAML text and classifies fixture events with them, with a
/// process table that knows a `cat` (pid 4242) started by `bash` (pid 1).
struct RuleHarness {
    let loaded: LoadedRules
    let engine: RuleEngine
    let processes: ProcessTable

    init(_ yaml: String) {
        loaded = RulesLoader.load([RulesSource(name: "test.yaml", text: yaml)])
        processes = ProcessTable(procRoot: "/nonexistent")
        processes.insert(
            ProcessRecord(
                pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8),
                argv: Array("cat\0/etc/shadow\0".utf8), tty: 34816, loginUID: 1000, cwd: Array("/home/u".utf8),
                capabilities: 1 << 21, startTime: 500_000_000))
        processes.insert(
            ProcessRecord(
                pid: 1, ppid: 0, name: Array("bash".utf8), exePath: Array("/bin/bash".utf8), argv: Array("bash\0".utf8))
        )
        engine = RuleEngine(rules: loaded.rules)
    }

    /// One rule with `condition`.
    init(condition: String, macros: String = "") {
        self.init(
            """
            \(macros)
            - rule: probe
              desc: test
              condition: \(condition.contains(":") || condition.contains("#") ? "'\(condition.replacingOccurrences(of: "'", with: "''"))'" : condition)
              output: "fired %proc.name %fd.name"
              priority: WARNING
            """)
    }

    /// The alert lines `fixture` produces.
    func alerts(_ fixture: RecordFixture) throws -> [[String: Any]] {
        var writer = JSONWriter()
        let resolved = ResolvedEvent(processes: processes, clock: WallClock(offset: 0), writtenFiles: WrittenFiles())
        var encoder = EventJSONEncoder(hostname: Array("node".utf8), clock: WallClock(offset: 0))
        try fixture.withEvent { event in
            resolved.begin(event, number: 1)
            defer { resolved.end() }
            if engine.classify(resolved) > 0 {
                for rule in engine.matchedRules {
                    encoder.encodeAlert(resolved, rule: rule, of: engine, labels: SubjectLabels(), into: &writer)
                }
            }
        }
        return try String(decoding: writer.bytes, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func fires(_ fixture: RecordFixture) throws -> Bool {
        try !alerts(fixture).isEmpty
    }
}

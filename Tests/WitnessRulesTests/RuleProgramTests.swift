import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

/// The flat rule program answers what the condition tree says: random trees of
/// `and`, `or` and `not` over tests whose answers for the event are known, many rules
/// in one program (sharing tests), event types folded. Seeded: a failing seed replays.
struct RuleProgramTests {
    /// Tests and their answers for two events: cat (pid 4242) reading /etc/shadow,
    /// then dd (same pid) writing /usr/lib/libz.so — the second must not be answered
    /// from the first one's stamps.
    static var leaves: [(Predicate, [Bool])] {
        [
            (.number(FieldRef(id: .procPid), .equal(4242)), [true, true]),
            (.number(FieldRef(id: .procPid), .equal(1)), [false, false]),
            (.number(FieldRef(id: .procPid), .member(Set([1, 4242, 7]))), [true, true]),
            (.text(FieldRef(id: .fdName), .equal(Array("/etc/shadow".utf8))), [true, false]),
            (.text(FieldRef(id: .fdName), .startsWith(Array("/usr".utf8))), [false, true]),
            (.text(FieldRef(id: .procName), .member([Array("cat".utf8), Array("sed".utf8)])), [true, false]),
            (.text(FieldRef(id: .procName), .member([Array("sh".utf8), Array("dd".utf8)])), [false, true]),
            (.text(FieldRef(id: .fdDirectory), .pathMatch([Array("/etc".utf8)])), [true, false]),
            (.boolean(FieldRef(id: .evtIsOpenRead), true), [true, false]),
            (.boolean(FieldRef(id: .evtIsOpenWrite), true), [false, true]),
            (.exists(FieldRef(id: .fdName)), [true, true]),
            (.exists(FieldRef(id: .fdSip)), [false, false]),
            (.eventType(mask: 1 << UInt128(Syscall.openat.rawValue), negated: false), [true, true]),
            (.eventType(mask: 1 << UInt128(Syscall.connect.rawValue), negated: false), [false, false]),
            (.eventType(mask: 1 << UInt128(Syscall.execve.rawValue), negated: true), [true, true]),
            (.constant(true), [true, true]),
            (.constant(false), [false, false]),
        ]
    }

    static let events = [
        RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0, result: 3),
        RecordFixture.open(path: Array("/usr/lib/libz.so".utf8), flags: 0o1, result: 3, comm: "dd"),
    ]

    /// A random tree and what it answers for each event.
    static func tree(depth: Int, _ random: inout SeededGenerator) -> (Predicate, [Bool]) {
        let choice = depth == 0 ? 0 : Int.random(in: 0..<4, using: &random)
        switch choice {
        case 1, 2:
            let count = Int.random(in: 0...4, using: &random)
            let items = (0..<count).map { _ in tree(depth: depth - 1, &random) }
            let answers = (0..<2).map { event in
                choice == 1 ? items.allSatisfy { $0.1[event] } : items.contains { $0.1[event] }
            }
            return (choice == 1 ? .all(items.map(\.0)) : .any(items.map(\.0)), answers)
        case 3:
            let (inner, answers) = tree(depth: depth - 1, &random)
            return (.not(inner), answers.map { !$0 })
        default:
            return leaves[Int.random(in: 0..<leaves.count, using: &random)]
        }
    }

    @Test(arguments: [1, 2, 3, 0x5eed, 0xdead_beef])
    func theProgramAnswersAsTheTree(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var rules: [(Predicate, [Bool])] = []
        for _ in 0..<40 { rules.append(Self.tree(depth: 5, &random)) }
        let program = RuleProgram(rules.map(\.0))
        var answers = [UInt32](repeating: 0, count: program.leafCount)
        let processes = ProcessTable(procRoot: "/nonexistent")
        processes.insert(
            ProcessRecord(
                pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8),
                argv: Array("cat\0".utf8)))
        let resolved = ResolvedEvent(processes: processes, clock: WallClock(offset: 0))
        // Two events, one stamp each: the second must not read the first one's answers.
        for (index, fixture) in Self.events.enumerated() {
            var fired: [Int] = []
            try fixture.withEvent { event in
                resolved.begin(event, number: UInt64(index))
                defer { resolved.end() }
                program.run(resolved, answers: &answers, stamp: UInt32(index + 1)) { fired.append($0) }
            }
            let expected = rules.indices.filter { rules[$0].1[index] }
            #expect(!expected.isEmpty && expected.count < rules.count, "seed \(seed): some rules hold, some do not")
            #expect(fired == expected, "seed \(seed), event \(index)")
        }
        #expect(rules.contains { $0.1[0] != $0.1[1] }, "seed \(seed): the two events are told apart")
    }

    @Test func aRuleForOtherEventTypesIsNotMet() throws {
        let connectOnly = Predicate.all([
            .eventType(mask: 1 << UInt128(Syscall.connect.rawValue), negated: false), .constant(true),
        ])
        let program = RuleProgram([connectOnly, .constant(true)])
        var answers = [UInt32](repeating: 0, count: max(1, program.leafCount))
        let resolved = ResolvedEvent(processes: ProcessTable(procRoot: "/nonexistent"), clock: WallClock(offset: 0))
        var fired: [Int] = []
        try RecordFixture.open(path: Array("/x".utf8)).withEvent { event in
            resolved.begin(event)
            defer { resolved.end() }
            program.run(resolved, answers: &answers, stamp: 1) { fired.append($0) }
        }
        #expect(fired == [1])
    }
}

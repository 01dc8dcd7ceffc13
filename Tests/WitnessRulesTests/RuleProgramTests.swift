import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

/// The flat rule program answers what the condition tree says: random trees of
/// `and`, `or` and `not` over tests whose answers for the event are known, many rules
/// in one program (sharing tests), event types folded. Seeded: a failing seed replays.
struct RuleProgramTests {
    /// Tests of the open fixture (cat, pid 4242, /etc/shadow, openat) and their answers.
    static var leaves: [(Predicate, Bool)] {
        [
        (.number(FieldRef(id: .procPid), .equal(4242)), true),
        (.number(FieldRef(id: .procPid), .equal(1)), false),
        (.number(FieldRef(id: .procPid), .member(Set([1, 4242, 7]))), true),
        (.text(FieldRef(id: .fdName), .equal(Array("/etc/shadow".utf8))), true),
        (.text(FieldRef(id: .fdName), .startsWith(Array("/usr".utf8))), false),
        (.text(FieldRef(id: .procName), .member([Array("cat".utf8), Array("dd".utf8)])), true),
        (.text(FieldRef(id: .procName), .member([Array("sh".utf8), Array("bash".utf8)])), false),
        (.text(FieldRef(id: .fdDirectory), .pathMatch([Array("/etc".utf8)])), true),
        (.boolean(FieldRef(id: .evtIsOpenRead), true), true),
        (.boolean(FieldRef(id: .evtIsOpenWrite), true), false),
        (.exists(FieldRef(id: .fdName)), true),
        (.exists(FieldRef(id: .fdSip)), false),
        (.eventType(mask: 1 << UInt128(Syscall.openat.rawValue), negated: false), true),
        (.eventType(mask: 1 << UInt128(Syscall.connect.rawValue), negated: false), false),
        (.eventType(mask: 1 << UInt128(Syscall.execve.rawValue), negated: true), true),
        (.constant(true), true),
        (.constant(false), false),
        ]
    }

    /// A random tree and what it answers.
    static func tree(depth: Int, _ random: inout SeededGenerator) -> (Predicate, Bool) {
        let choice = depth == 0 ? 0 : Int.random(in: 0..<4, using: &random)
        switch choice {
        case 1, 2:
            let count = Int.random(in: 0...4, using: &random)
            let items = (0..<count).map { _ in tree(depth: depth - 1, &random) }
            return choice == 1
                ? (.all(items.map(\.0)), items.allSatisfy(\.1))
                : (.any(items.map(\.0)), items.contains { $0.1 })
        case 3:
            let (inner, answer) = tree(depth: depth - 1, &random)
            return (.not(inner), !answer)
        default:
            return leaves[Int.random(in: 0..<leaves.count, using: &random)]
        }
    }

    @Test(arguments: [1, 2, 3, 0x5eed, 0xdead_beef])
    func theProgramAnswersAsTheTree(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var rules: [(Predicate, Bool)] = []
        for _ in 0..<40 { rules.append(Self.tree(depth: 5, &random)) }
        let program = RuleProgram(rules.map(\.0))
        var answers = [UInt32](repeating: 0, count: program.leafCount)
        let processes = ProcessTable(procRoot: "/nonexistent")
        processes.insert(
            ProcessRecord(pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8), argv: Array("cat\0".utf8)))
        let resolved = ResolvedEvent(processes: processes, clock: WallClock(offset: 0))
        let fixture = RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0, result: 3)
        // Twice, with a new stamp: the second event must not read the first one's answers wrongly.
        for stamp in UInt32(1)...2 {
            var fired: [Int] = []
            try fixture.withEvent { event in
                resolved.begin(event, number: UInt64(stamp))
                defer { resolved.end() }
                program.run(resolved, answers: &answers, stamp: stamp) { fired.append($0) }
            }
            let expected = rules.indices.filter { rules[$0].1 }
            #expect(!expected.isEmpty && expected.count < rules.count, "seed \(seed): some rules hold, some do not")
            #expect(fired == expected, "seed \(seed), event \(stamp)")
        }
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

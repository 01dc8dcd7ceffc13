import WitnessCore

/// Every rule's condition as one flat array of plain instructions: each a test of
/// one field against an operand, with where to go next when it holds and when it
/// does not — `and`, `or` and `not` become those two successors at compile time, so
/// running a rule costs one dispatch per test actually made, and nothing else. An
/// instruction is trivial data (opcode, field, operand indexes, successors);
/// patterns, sets, regexes and networks sit in operand tables it indexes, so running
/// a condition retains and releases nothing — the tree it is compiled from
/// (`Predicate`) did both at every node.
struct RuleProgram {
    enum Opcode: UInt8 {
        /// Text tests against `bytes[a..<a+b]`.
        case textEqual, textNotEqual, textContains, textContainsIgnoringCase, textStartsWith, textEndsWith
        case textGlob, textGlobIgnoringCase
        /// One of a list: the table `setSlots[a..<a+b]` (b a power of two), after two
        /// words of the lengths its strings have (bit `length % 64`).
        case textMember
        /// Any of `ranges[a..<a+b]` (each a range of `bytes`) as a path prefix.
        case textPathMatch
        /// `regexes[a]`.
        case textRegex
        /// Number tests against `numbers[a]`; member: `numbers[a..<a+b]`, sorted.
        case numberEqual, numberNotEqual, numberLess, numberLessOrEqual, numberGreater, numberGreaterOrEqual
        case numberMember
        /// The boolean field is `a != 0`.
        case boolean
        case exists
        /// `networks[a..<a+b]`, plain or negated.
        case network, networkNegated
        /// `hostNames[a]`, plain or negated.
        case hostName, hostNameNegated
    }

    struct Instruction {
        var field: FieldRef
        var opcode: Opcode
        var a: Int32
        var b: Int32
        /// The test's place in the per-event answers: the same test in two rules (a
        /// macro both use) is made once per event.
        var leaf: Int32
        /// The next instruction when the test holds, and when it does not; `Self.holds`
        /// and `Self.fails` end the rule.
        var onTrue: Int32
        var onFalse: Int32
    }

    static let holds: Int32 = -1
    static let fails: Int32 = -2

    private(set) var code: [Instruction] = []
    private var bytes: [UInt8] = []
    private var ranges: [Range<Int32>] = []
    private var numbers: [Int64] = []
    /// `in (...)` lists as open-addressed tables, at most half full: each slot holds
    /// an index into `setElements` plus one (0: empty); an element is a range of `bytes`.
    private var setSlots: [Int32] = []
    private var setElements: [Range<Int32>] = []
    private var regexes: [SafeRegex] = []
    private var networks: [IPNetwork] = []
    private var hostNames: [ResolvedNames] = []
    /// The rules an event of each syscall meets, with where each starts in `code`
    /// (`holds` when it always does): `candidates[groupOf[syscall]]`.
    private var candidates: [[Candidate]] = []
    private var groupOf: [Int32] = []
    /// How many distinct tests there are (the size of the per-event answers).
    private(set) var leafCount = 0
    /// While compiling: each distinct test, pattern and list, to share them.
    private var leaves: [LeafKey: Int32] = [:]
    private var pooled: [[UInt8]: Int32] = [:]
    private var pooledNumbers: [[Int64]: Int32] = [:]
    private var pooledNetworks: [[IPNetwork]: Int32] = [:]
    private var tables: [[[UInt8]]: Int32] = [:]

    private struct LeafKey: Hashable {
        var opcode: UInt8
        var field: FieldRef
        var a: Int32
        var b: Int32
    }

    struct Candidate {
        var rule: Int32
        var entry: Int32
    }

    /// Compiles each rule once per group of syscalls its `evt.type` tests cannot tell
    /// apart, with those tests answered: at run time no rule asks an event its type,
    /// and a rule for other types is not met at all.
    init(_ predicates: [Predicate]) {
        let masks = predicates.flatMap(\.eventTypeMasks)
        var groups: [[Bool]: Int32] = [:]
        groupOf = Array(repeating: 0, count: Syscall.allCases.count)
        for syscall in Syscall.allCases {
            let bit = UInt128(1) << UInt128(syscall.rawValue)
            let signature = masks.map { $0 & bit != 0 }
            if let group = groups[signature] {
                groupOf[Int(syscall.rawValue)] = group
                continue
            }
            let group = Int32(candidates.count)
            groups[signature] = group
            groupOf[Int(syscall.rawValue)] = group
            var list: [Candidate] = []
            for (rule, predicate) in predicates.enumerated() {
                let folded = predicate.folded(for: syscall)
                if case .constant(false) = folded { continue }
                list.append(Candidate(rule: Int32(rule), entry: emit(folded, onTrue: Self.holds, onFalse: Self.fails)))
            }
            candidates.append(list)
        }
        leafCount = leaves.count
        leaves = [:]
        pooled = [:]
        pooledNumbers = [:]
        pooledNetworks = [:]
        tables = [:]
    }

    // MARK: Compiling

    /// Emits `predicate` to continue at `onTrue` or `onFalse`; returns its entry.
    /// Groups are emitted last item first, each item's successors being known.
    private mutating func emit(_ predicate: Predicate, onTrue: Int32, onFalse: Int32) -> Int32 {
        switch predicate {
        case .all(let items):
            var next = onTrue
            for item in items.reversed() { next = emit(item, onTrue: next, onFalse: onFalse) }
            return next
        case .any(let items):
            var next = onFalse
            for item in items.reversed() { next = emit(item, onTrue: onTrue, onFalse: next) }
            return next
        case .not(let inner):
            return emit(inner, onTrue: onFalse, onFalse: onTrue)
        case .constant(let value):
            return value ? onTrue : onFalse
        case .eventType:
            preconditionFailure("evt.type tests are answered when a rule is folded for its syscall group")
        case let .text(field, test):
            return emitText(field, test, onTrue, onFalse)
        case let .number(field, test):
            return emitNumber(field, test, onTrue, onFalse)
        case let .boolean(field, expected):
            return append(.boolean, field, expected ? 1 : 0, 0, onTrue, onFalse)
        case .exists(let field):
            return append(.exists, field, 0, 0, onTrue, onFalse)
        case let .network(field, list, negated):
            let start = pooledNetworks[list] ?? Int32(networks.count)
            if pooledNetworks[list] == nil {
                pooledNetworks[list] = start
                networks.append(contentsOf: list)
            }
            return append(negated ? .networkNegated : .network, field, start, Int32(list.count), onTrue, onFalse)
        case let .hostName(field, names, negated):
            hostNames.append(names)
            return append(negated ? .hostNameNegated : .hostName, field, Int32(hostNames.count - 1), 0, onTrue, onFalse)
        }
    }

    private mutating func append(
        _ opcode: Opcode, _ field: FieldRef, _ a: Int32, _ b: Int32, _ onTrue: Int32, _ onFalse: Int32
    ) -> Int32 {
        let key = LeafKey(opcode: opcode.rawValue, field: field, a: a, b: b)
        let leaf = leaves[key] ?? Int32(leaves.count)
        leaves[key] = leaf
        code.append(Instruction(field: field, opcode: opcode, a: a, b: b, leaf: leaf, onTrue: onTrue, onFalse: onFalse))
        return Int32(code.count - 1)
    }

    private mutating func pool(_ pattern: [UInt8]) -> (Int32, Int32) {
        if let offset = pooled[pattern] { return (offset, Int32(pattern.count)) }
        let offset = Int32(bytes.count)
        pooled[pattern] = offset
        bytes.append(contentsOf: pattern)
        return (offset, Int32(pattern.count))
    }

    private mutating func emitText(
        _ field: FieldRef, _ test: Predicate.TextTest, _ onTrue: Int32, _ onFalse: Int32
    ) -> Int32 {
        func pattern(_ opcode: Opcode, _ bytes: [UInt8]) -> Int32 {
            let (start, count) = pool(bytes)
            return append(opcode, field, start, count, onTrue, onFalse)
        }
        switch test {
        case .equal(let bytes): return pattern(.textEqual, bytes)
        case .notEqual(let bytes): return pattern(.textNotEqual, bytes)
        case .contains(let bytes): return pattern(.textContains, bytes)
        case .containsIgnoringCase(let bytes): return pattern(.textContainsIgnoringCase, bytes)
        case .startsWith(let bytes): return pattern(.textStartsWith, bytes)
        case .endsWith(let bytes): return pattern(.textEndsWith, bytes)
        case let .glob(bytes, caseInsensitive):
            return pattern(caseInsensitive ? .textGlobIgnoringCase : .textGlob, bytes)
        case .member(let items):
            let size = Self.tableSize(for: items.count)
            if let start = tables[items] { return append(.textMember, field, start, Int32(size), onTrue, onFalse) }
            var lengths: UInt64 = 0
            for item in items { lengths |= 1 << UInt64(item.count & 63) }
            setSlots.append(Int32(bitPattern: UInt32(truncatingIfNeeded: lengths)))
            setSlots.append(Int32(bitPattern: UInt32(truncatingIfNeeded: lengths >> 32)))
            let start = Int32(setSlots.count)
            tables[items] = start
            setSlots.append(contentsOf: repeatElement(0, count: size))
            for item in items {
                let (offset, count) = pool(item)
                let placed = bytes.withUnsafeBytes { pool in
                    find(UnsafeRawBufferPointer(rebasing: pool[Int(offset)..<Int(offset + count)]), start, Int32(size))
                }
                guard case .empty(let slot) = placed else { continue }  // listed twice
                setElements.append(offset..<(offset + count))
                setSlots[slot] = Int32(setElements.count)
            }
            return append(.textMember, field, start, Int32(size), onTrue, onFalse)
        case .pathMatch(let prefixes):
            let start = Int32(ranges.count)
            for prefix in prefixes {
                let (offset, count) = pool(prefix)
                ranges.append(offset..<(offset + count))
            }
            return append(.textPathMatch, field, start, Int32(prefixes.count), onTrue, onFalse)
        case .regex(let expression):
            regexes.append(expression)
            return append(.textRegex, field, Int32(regexes.count - 1), 0, onTrue, onFalse)
        }
    }

    private mutating func emitNumber(
        _ field: FieldRef, _ test: Predicate.NumberTest, _ onTrue: Int32, _ onFalse: Int32
    ) -> Int32 {
        func operand(_ opcode: Opcode, _ value: Int64) -> Int32 {
            append(opcode, field, poolNumbers([value]), 1, onTrue, onFalse)
        }
        switch test {
        case .equal(let value): return operand(.numberEqual, value)
        case .notEqual(let value): return operand(.numberNotEqual, value)
        case .less(let value): return operand(.numberLess, value)
        case .lessOrEqual(let value): return operand(.numberLessOrEqual, value)
        case .greater(let value): return operand(.numberGreater, value)
        case .greaterOrEqual(let value): return operand(.numberGreaterOrEqual, value)
        case .member(let set):
            return append(.numberMember, field, poolNumbers(set.sorted()), Int32(set.count), onTrue, onFalse)
        }
    }

    /// Where `values` start in `numbers`: the same operands are stored once, so the
    /// same test in two rules is one test (one answer per event).
    private mutating func poolNumbers(_ values: [Int64]) -> Int32 {
        if let start = pooledNumbers[values] { return start }
        let start = Int32(numbers.count)
        pooledNumbers[values] = start
        numbers.append(contentsOf: values)
        return start
    }

    // MARK: Running

    /// Calls `fired` with each rule whose condition holds for `event`, in rule order.
    /// `answers` keeps each test's answer for this event (stamped with `stamp`, one
    /// per event), so a test shared by rules is made once.
    func run(_ event: ResolvedEvent, answers: inout [UInt32], stamp: UInt32, _ fired: (Int) -> Void) {
        candidates[Int(groupOf[Int(event.syscall.rawValue)])].withUnsafeBufferPointer { list in
            code.withUnsafeBufferPointer { code in
                answers.withUnsafeMutableBufferPointer { answers in
                    for candidate in list {
                        var pc = candidate.entry
                        while pc >= 0 {
                            let instruction = code[Int(pc)]
                            let leaf = Int(instruction.leaf)
                            let known = answers[leaf]
                            let holds: Bool
                            if known >> 1 == stamp {
                                holds = known & 1 != 0
                            } else {
                                holds = test(instruction, event)
                                answers[leaf] = stamp << 1 | (holds ? 1 : 0)
                            }
                            pc = holds ? instruction.onTrue : instruction.onFalse
                        }
                        if pc == Self.holds { fired(Int(candidate.rule)) }
                    }
                }
            }
        }
    }

    /// One comparison of a field with its operand. A field without its ancestor
    /// index (`proc.aname`) stands for every ancestor, and fd.port for either end:
    /// the test holds if it holds for one of them, as in Falco.
    private func test(_ instruction: Instruction, _ event: ResolvedEvent) -> Bool {
        let field = instruction.field
        let a = Int(instruction.a)
        switch instruction.opcode {
        case .boolean:
            guard case .boolean(let value) = event.value(field) else { return false }
            return value == (a != 0)
        case .exists:
            return !event.value(field).isNone
        case .network, .networkNegated:
            let negated = instruction.opcode == .networkNegated
            let ends = event.endpoints(field.id)
            let list = networks[a..<(a + Int(instruction.b))]
            if let end = ends.client, list.contains(where: { $0.contains(end) }) != negated { return true }
            if let end = ends.server, list.contains(where: { $0.contains(end) }) != negated { return true }
            return false
        case .hostName, .hostNameNegated:
            let ends = event.endpoints(field.id)
            guard let end = ends.server ?? ends.client else { return false }
            return hostNames[a].contains(end) != (instruction.opcode == .hostNameNegated)
        default:
            break
        }
        if field.id == .fdPort {
            return compare(instruction, event.value(FieldRef(id: .fdSport)))
                || compare(instruction, event.value(FieldRef(id: .fdCport)))
        }
        guard field.id.takesAncestorIndex, field.ancestor == nil else {
            return compare(instruction, event.value(field))
        }
        var generation = 1
        while generation <= 32, event.ancestor(generation) != nil {
            if compare(instruction, event.value(FieldRef(id: field.id, ancestor: generation))) { return true }
            generation += 1
        }
        return false
    }

    /// A text or number test of one value.
    private func compare(_ instruction: Instruction, _ value: FieldValue) -> Bool {
        let a = Int(instruction.a)
        let b = Int(instruction.b)
        switch instruction.opcode {
        case .numberEqual, .numberNotEqual, .numberLess, .numberLessOrEqual, .numberGreater, .numberGreaterOrEqual,
            .numberMember:
            guard case .number(let number) = value else { return false }
            return numbers.withUnsafeBufferPointer {
                Self.number(instruction.opcode, number, UnsafeBufferPointer(rebasing: $0[a..<(a + b)]))
            }
        default:
            break
        }
        guard let text = value.rawBytes else { return false }
        switch instruction.opcode {
        case .textMember:
            // A value of a length no listed string has is not hashed at all.
            let lengths =
                UInt64(UInt32(bitPattern: setSlots[a - 2])) | UInt64(UInt32(bitPattern: setSlots[a - 1])) << 32
            guard lengths & (1 << UInt64(text.count & 63)) != 0 else { return false }
            if case .found = find(text, instruction.a, instruction.b) { return true }
            return false
        case .textPathMatch:
            return bytes.withUnsafeBufferPointer { pool in
                for range in ranges[a..<(a + b)]
                where ByteMatching.pathMatch(
                    text, UnsafeBufferPointer(rebasing: pool[Int(range.lowerBound)..<Int(range.upperBound)]))
                {
                    return true
                }
                return false
            }
        case .textRegex:
            return regexes[a].matches(text)
        default:
            return bytes.withUnsafeBufferPointer { pool in
                Self.text(instruction.opcode, text, UnsafeBufferPointer(rebasing: pool[a..<(a + b)]))
            }
        }
    }

    private static func tableSize(for count: Int) -> Int {
        var size = 8
        while size < count * 2 { size <<= 1 }
        return size
    }

    private enum Place { case found, empty(Int) }

    /// Where `value` is in the list table at `setSlots[start..<start+size]`, or the
    /// empty slot it would take. FNV-1a is enough: the rules fill the table, so a
    /// subject choosing values picks at most the longest run of full slots, which the
    /// rules fixed and the half-empty table keeps short.
    private func find(_ value: UnsafeRawBufferPointer, _ start: Int32, _ size: Int32) -> Place {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let mask = Int(size) - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 32)) & mask
        return setSlots.withUnsafeBufferPointer { slots in
            setElements.withUnsafeBufferPointer { elements in
                bytes.withUnsafeBufferPointer { pool in
                    while true {
                        let entry = Int(slots[Int(start) + slot])
                        if entry == 0 { return .empty(Int(start) + slot) }
                        let range = elements[entry - 1]
                        if ByteMatching.equal(
                            value, UnsafeBufferPointer(rebasing: pool[Int(range.lowerBound)..<Int(range.upperBound)]))
                        {
                            return .found
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func text(
        _ opcode: Opcode, _ value: UnsafeRawBufferPointer, _ pattern: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        switch opcode {
        case .textEqual: return ByteMatching.equal(value, pattern)
        case .textNotEqual: return !ByteMatching.equal(value, pattern)
        case .textContains: return ByteMatching.contains(value, pattern)
        case .textContainsIgnoringCase: return ByteMatching.contains(value, pattern, caseInsensitive: true)
        case .textStartsWith: return ByteMatching.hasPrefix(value, pattern)
        case .textEndsWith: return ByteMatching.hasSuffix(value, pattern)
        case .textGlob: return ByteMatching.glob(value, pattern, caseInsensitive: false)
        default: return ByteMatching.glob(value, pattern, caseInsensitive: true)
        }
    }

    @inline(__always)
    private static func number(_ opcode: Opcode, _ value: Int64, _ operands: UnsafeBufferPointer<Int64>) -> Bool {
        switch opcode {
        case .numberEqual: return value == operands[0]
        case .numberNotEqual: return value != operands[0]
        case .numberLess: return value < operands[0]
        case .numberLessOrEqual: return value <= operands[0]
        case .numberGreater: return value > operands[0]
        case .numberGreaterOrEqual: return value >= operands[0]
        default:
            // Sorted: a binary search.
            var low = 0
            var high = operands.count
            while low < high {
                let middle = (low + high) / 2
                if operands[middle] < value { low = middle + 1 } else { high = middle }
            }
            return low < operands.count && operands[low] == value
        }
    }
}

import WitnessCore

/// Every rule's condition as one flat array of plain instructions, run by a loop
/// with one boolean register: `and`/`or` become jumps past the rest of a group once
/// its answer is known, `not` flips the register. An instruction is trivial data
/// (opcode, field, two integers); patterns, sets, regexes and networks sit in
/// operand tables it indexes, so running a condition retains and releases nothing —
/// the tree it is compiled from (`Predicate`) did both at every node.
struct RuleProgram {
    enum Opcode: UInt8 {
        /// The rule's answer is the register.
        case answer
        case jumpIfFalse, jumpIfTrue, not
        /// register = a != 0
        case constant
        /// The syscall's bit in `masks[a]`; b != 0: negated.
        case eventType
        /// Text tests against `bytes[a..<a+b]`.
        case textEqual, textNotEqual, textContains, textContainsIgnoringCase, textStartsWith, textEndsWith
        case textGlob, textGlobIgnoringCase
        /// `sets[a]`.
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
        /// `networks[a..<a+b]`, and whether negated in `flags`.
        case network, networkNegated
        /// `hostNames[a]`.
        case hostName, hostNameNegated
    }

    struct Instruction {
        var opcode: Opcode
        var field: FieldRef
        var a: Int32
        var b: Int32
    }

    private(set) var code: [Instruction] = []
    private var bytes: [UInt8] = []
    private var ranges: [Range<Int32>] = []
    private var numbers: [Int64] = []
    private var masks: [UInt128] = []
    private var sets: [ByteStringSet] = []
    private var regexes: [SafeRegex] = []
    private var networks: [IPNetwork] = []
    private var hostNames: [ResolvedNames] = []
    /// Where each rule's condition starts in `code`.
    private(set) var entries: [Int] = []

    init(_ predicates: [Predicate]) {
        for predicate in predicates {
            entries.append(code.count)
            emit(predicate)
            append(.answer)
        }
    }

    // MARK: Compiling

    private mutating func append(_ opcode: Opcode, _ field: FieldRef = FieldRef(id: .evtType), _ a: Int32 = 0, _ b: Int32 = 0) {
        code.append(Instruction(opcode: opcode, field: field, a: a, b: b))
    }

    private mutating func pool(_ pattern: [UInt8]) -> (Int32, Int32) {
        defer { bytes.append(contentsOf: pattern) }
        return (Int32(bytes.count), Int32(pattern.count))
    }

    private mutating func emit(_ predicate: Predicate) {
        switch predicate {
        case .all(let items): group(items, empty: true, exit: .jumpIfFalse)
        case .any(let items): group(items, empty: false, exit: .jumpIfTrue)
        case .not(let inner):
            emit(inner)
            append(.not)
        case .constant(let value): append(.constant, FieldRef(id: .evtType), value ? 1 : 0)
        case let .eventType(mask, negated):
            masks.append(mask)
            append(.eventType, FieldRef(id: .evtType), Int32(masks.count - 1), negated ? 1 : 0)
        case let .text(field, test): emitText(field, test)
        case let .number(field, test): emitNumber(field, test)
        case let .boolean(field, expected): append(.boolean, field, expected ? 1 : 0)
        case .exists(let field): append(.exists, field)
        case let .network(field, list, negated):
            let start = Int32(networks.count)
            networks.append(contentsOf: list)
            append(negated ? .networkNegated : .network, field, start, Int32(list.count))
        case let .hostName(field, names, negated):
            hostNames.append(names)
            append(negated ? .hostNameNegated : .hostName, field, Int32(hostNames.count - 1))
        }
    }

    /// `and`/`or`: each item but the last leaves the group on the answer that decides it.
    private mutating func group(_ items: [Predicate], empty: Bool, exit: Opcode) {
        guard !items.isEmpty else { return append(.constant, FieldRef(id: .evtType), empty ? 1 : 0) }
        var exits: [Int] = []
        for (position, item) in items.enumerated() {
            emit(item)
            if position < items.count - 1 {
                exits.append(code.count)
                append(exit)
            }
        }
        for place in exits { code[place].a = Int32(code.count) }
    }

    private mutating func emitText(_ field: FieldRef, _ test: Predicate.TextTest) {
        func pattern(_ opcode: Opcode, _ bytes: [UInt8]) {
            let (start, count) = pool(bytes)
            append(opcode, field, start, count)
        }
        switch test {
        case .equal(let bytes): pattern(.textEqual, bytes)
        case .notEqual(let bytes): pattern(.textNotEqual, bytes)
        case .contains(let bytes): pattern(.textContains, bytes)
        case .containsIgnoringCase(let bytes): pattern(.textContainsIgnoringCase, bytes)
        case .startsWith(let bytes): pattern(.textStartsWith, bytes)
        case .endsWith(let bytes): pattern(.textEndsWith, bytes)
        case let .glob(bytes, caseInsensitive): pattern(caseInsensitive ? .textGlobIgnoringCase : .textGlob, bytes)
        case .member(let set):
            sets.append(set)
            append(.textMember, field, Int32(sets.count - 1))
        case .pathMatch(let prefixes):
            let start = Int32(ranges.count)
            for prefix in prefixes {
                let (offset, count) = pool(prefix)
                ranges.append(offset..<(offset + count))
            }
            append(.textPathMatch, field, start, Int32(prefixes.count))
        case .regex(let expression):
            regexes.append(expression)
            append(.textRegex, field, Int32(regexes.count - 1))
        }
    }

    private mutating func emitNumber(_ field: FieldRef, _ test: Predicate.NumberTest) {
        func operand(_ opcode: Opcode, _ value: Int64) {
            numbers.append(value)
            append(opcode, field, Int32(numbers.count - 1), 1)
        }
        switch test {
        case .equal(let value): operand(.numberEqual, value)
        case .notEqual(let value): operand(.numberNotEqual, value)
        case .less(let value): operand(.numberLess, value)
        case .lessOrEqual(let value): operand(.numberLessOrEqual, value)
        case .greater(let value): operand(.numberGreater, value)
        case .greaterOrEqual(let value): operand(.numberGreaterOrEqual, value)
        case .member(let set):
            let start = Int32(numbers.count)
            numbers.append(contentsOf: set.sorted())
            append(.numberMember, field, start, Int32(set.count))
        }
    }

    // MARK: Running

    /// Whether rule `rule`'s condition holds for the event `fields` holds.
    func holds(rule: Int, _ fields: ResolvedEvent) -> Bool {
        code.withUnsafeBufferPointer { code in
            var pc = entries[rule]
            var register = false
            while true {
                let instruction = code[pc]
                pc += 1
                switch instruction.opcode {
                case .answer: return register
                case .jumpIfFalse: if !register { pc = Int(instruction.a) }
                case .jumpIfTrue: if register { pc = Int(instruction.a) }
                case .not: register.toggle()
                case .constant: register = instruction.a != 0
                case .eventType:
                    let mask = masks[Int(instruction.a)]
                    register = (mask & (1 << UInt128(fields.syscall.rawValue)) != 0) != (instruction.b != 0)
                default: register = test(instruction, fields)
                }
            }
        }
    }

    /// One comparison of a field with its operand.
    private func test(_ instruction: Instruction, _ fields: ResolvedEvent) -> Bool {
        let field = instruction.field
        let a = Int(instruction.a)
        let b = Int(instruction.b)
        switch instruction.opcode {
        case .answer, .jumpIfFalse, .jumpIfTrue, .not, .constant, .eventType:
            return false  // handled by the loop
        case .textEqual, .textNotEqual, .textContains, .textContainsIgnoringCase, .textStartsWith, .textEndsWith,
            .textGlob, .textGlobIgnoringCase:
            return bytes.withUnsafeBufferPointer { pool in
                let pattern = UnsafeBufferPointer(rebasing: pool[a..<(a + b)])
                return Self.anyValue(field, fields) { value in
                    value.withBytes { Self.text(instruction.opcode, $0, pattern) } ?? false
                }
            }
        case .textMember:
            return Self.anyValue(field, fields) { value in
                value.withBytes { sets[a].contains($0) } ?? false
            }
        case .textPathMatch:
            return bytes.withUnsafeBufferPointer { pool in
                Self.anyValue(field, fields) { value in
                    value.withBytes { text in
                        for range in ranges[a..<(a + b)]
                        where ByteMatching.pathMatch(text, UnsafeBufferPointer(rebasing: pool[Int(range.lowerBound)..<Int(range.upperBound)])) {
                            return true
                        }
                        return false
                    } ?? false
                }
            }
        case .textRegex:
            return Self.anyValue(field, fields) { value in value.withBytes { regexes[a].matches($0) } ?? false }
        case .numberEqual, .numberNotEqual, .numberLess, .numberLessOrEqual, .numberGreater, .numberGreaterOrEqual,
            .numberMember:
            return Self.anyValue(field, fields) { value in
                guard case .number(let number) = value else { return false }
                return numbers.withUnsafeBufferPointer { Self.number(instruction.opcode, number, UnsafeBufferPointer(rebasing: $0[a..<(a + b)])) }
            }
        case .boolean:
            guard case .boolean(let value) = fields.value(field) else { return false }
            return value == (a != 0)
        case .exists:
            return !fields.value(field).isNone
        case .network, .networkNegated:
            let negated = instruction.opcode == .networkNegated
            let ends = fields.endpoints(field.id)
            let list = networks[a..<(a + b)]
            if let end = ends.client, list.contains(where: { $0.contains(end) }) != negated { return true }
            if let end = ends.server, list.contains(where: { $0.contains(end) }) != negated { return true }
            return false
        case .hostName, .hostNameNegated:
            let ends = fields.endpoints(field.id)
            guard let end = ends.server ?? ends.client else { return false }
            return hostNames[a].contains(end) != (instruction.opcode == .hostNameNegated)
        }
    }

    @inline(__always)
    private static func text(_ opcode: Opcode, _ value: UnsafeRawBufferPointer, _ pattern: UnsafeBufferPointer<UInt8>) -> Bool {
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

    /// A field without its ancestor index (`proc.aname`) stands for every ancestor,
    /// and fd.port for either end: the test holds if it holds for one of them, as in
    /// Falco.
    @inline(__always)
    private static func anyValue(_ field: FieldRef, _ fields: ResolvedEvent, _ test: (FieldValue) -> Bool) -> Bool {
        if field.id == .fdPort {
            return test(fields.value(FieldRef(id: .fdSport))) || test(fields.value(FieldRef(id: .fdCport)))
        }
        guard field.id.takesAncestorIndex, field.ancestor == nil else { return test(fields.value(field)) }
        var generation = 1
        while generation <= 32, fields.ancestor(generation) != nil {
            if test(fields.value(FieldRef(id: field.id, ancestor: generation))) { return true }
            generation += 1
        }
        return false
    }
}

/// The `regex` operator's engine. Falco compiles `regex` operands with RE2 and
/// matches the whole value (RE2's ANCHOR_BOTH); this does the same with a Thompson
/// automaton simulated state set by state set (Pike's way, no captures): time is
/// proportional to the value's length times the pattern's size, whatever either
/// holds — a hostile rule or a hostile file name cannot make it backtrack without end.
/// No backreferences or lookaround, as in RE2. Compiled once, at load; a pattern
/// that is malformed or too large is an error naming it.
///
/// Supported: literals, `.`, `[...]` and `[^...]` with ranges, `\d \w \s \D \W \S`
/// and escaped punctuation, `\t \n \r`, groups `(...)` and `(?:...)`, `|`, `* + ?`,
/// `{m}`, `{m,}`, `{m,n}`, and `^`/`$` (the whole value is matched anyway). Bytes, not
/// characters: `.` takes one byte of a multi-byte character.
///
/// Matching uses scratch lists kept in the object: it runs on one thread (the
/// consumer's), as every predicate does.
final class SafeRegex {
    struct Failure: Error { var message: String }

    private enum Instruction {
        case byte(ByteSet)
        case split(Int, Int)
        case jump(Int)
        case atStart
        case atEnd
        case match
    }

    struct ByteSet {
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        mutating func insert(_ byte: UInt8) {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: bits.0 |= bit
            case 1: bits.1 |= bit
            case 2: bits.2 |= bit
            default: bits.3 |= bit
            }
        }

        func contains(_ byte: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: return bits.0 & bit != 0
            case 1: return bits.1 & bit != 0
            case 2: return bits.2 & bit != 0
            default: return bits.3 & bit != 0
            }
        }

        mutating func invert() { bits = (~bits.0, ~bits.1, ~bits.2, ~bits.3) }

        mutating func formUnion(_ other: ByteSet) {
            bits = (bits.0 | other.bits.0, bits.1 | other.bits.1, bits.2 | other.bits.2, bits.3 | other.bits.3)
        }
    }

    static let maxPatternBytes = 4096
    static let maxInstructions = 20_000

    private var program: [Instruction] = []
    private var current: [Int] = []
    private var next: [Int] = []
    private var mark: [UInt32] = []
    private var generation: UInt32 = 0
    private var stack: [Int] = []

    init(_ pattern: String) throws(Failure) {
        let bytes = Array(pattern.utf8)
        guard bytes.count <= Self.maxPatternBytes else { throw Failure(message: "regex longer than 4096 bytes") }
        var parser = Parser(bytes: bytes)
        let tree = try parser.parseAlternation()
        guard parser.position == bytes.count else {
            throw Failure(
                message: "regex '\(pattern)': unexpected '\(Character(UnicodeScalar(bytes[parser.position])))'")
        }
        try emit(tree)
        program.append(.match)
        mark = [UInt32](repeating: 0, count: program.count)
        current.reserveCapacity(program.count)
        next.reserveCapacity(program.count)
        stack.reserveCapacity(program.count)
    }

    /// Whether the whole of `value` matches.
    func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        current.removeAll(keepingCapacity: true)
        advanceGeneration()
        add(0, at: 0, length: value.count, to: &current)
        for index in 0..<value.count {
            guard !current.isEmpty else { return false }
            let byte = value[index]
            next.removeAll(keepingCapacity: true)
            advanceGeneration()
            for state in current {
                if case .byte(let set) = program[state], set.contains(byte) {
                    add(state + 1, at: index + 1, length: value.count, to: &next)
                }
            }
            swap(&current, &next)
        }
        return current.contains { if case .match = program[$0] { return true } else { return false } }
    }

    private func advanceGeneration() {
        generation &+= 1
        if generation == 0 {
            for index in mark.indices { mark[index] = 0 }
            generation = 1
        }
    }

    /// Adds `state` and what it reaches without consuming a byte (at `position`).
    private func add(_ state: Int, at position: Int, length: Int, to list: inout [Int]) {
        stack.removeAll(keepingCapacity: true)
        stack.append(state)
        while let state = stack.popLast() {
            guard mark[state] != generation else { continue }
            mark[state] = generation
            switch program[state] {
            case .jump(let target): stack.append(target)
            case let .split(first, second):
                stack.append(second)
                stack.append(first)
            case .atStart: if position == 0 { stack.append(state + 1) }
            case .atEnd: if position == length { stack.append(state + 1) }
            case .byte, .match: list.append(state)
            }
        }
    }

    // MARK: Compiling

    private indirect enum Node {
        case bytes(ByteSet)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
        case atStart, atEnd
    }

    private func emit(_ node: Node) throws(Failure) {
        guard program.count < Self.maxInstructions else { throw Failure(message: "regex too large") }
        switch node {
        case .bytes(let set): program.append(.byte(set))
        case .atStart: program.append(.atStart)
        case .atEnd: program.append(.atEnd)
        case .sequence(let items): for item in items { try emit(item) }
        case .alternation(let branches):
            // split L1, next; L1: first; jump end; next: split ... ; last
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    try emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case let .repeated(inner, minimum, maximum):
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, 0))
                    try emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                let split = program.count
                program.append(.split(split + 1, 0))
                try emit(inner)
                program.append(.jump(split))
                program[split] = .split(split + 1, program.count)
            }
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0
        /// Groups open around the position: bounded, so a hostile pattern cannot
        /// recurse the parser off its stack.
        var depth = 0
        static let maxDepth = 64

        mutating func parseAlternation() throws(Failure) -> Node {
            var branches = [try parseSequence()]
            while position < bytes.count, bytes[position] == UInt8(ascii: "|") {
                position += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence() throws(Failure) -> Node {
            var items: [Node] = []
            while position < bytes.count, bytes[position] != UInt8(ascii: "|"), bytes[position] != UInt8(ascii: ")") {
                var atom = try parseAtom()
                while position < bytes.count {
                    let byte = bytes[position]
                    if byte == UInt8(ascii: "*") {
                        atom = .repeated(atom, min: 0, max: nil)
                        position += 1
                    } else if byte == UInt8(ascii: "+") {
                        atom = .repeated(atom, min: 1, max: nil)
                        position += 1
                    } else if byte == UInt8(ascii: "?") {
                        atom = .repeated(atom, min: 0, max: 1)
                        position += 1
                    } else if byte == UInt8(ascii: "{"), let (minimum, maximum) = try parseCount() {
                        atom = .repeated(atom, min: minimum, max: maximum)
                    } else {
                        break
                    }
                    if position < bytes.count, bytes[position] == UInt8(ascii: "?") { position += 1 }  // lazy: same set
                }
                items.append(atom)
            }
            return .sequence(items)
        }

        /// `{m}`, `{m,}`, `{m,n}` at `position`; nil (and nothing read) when it is a literal brace.
        mutating func parseCount() throws(Failure) -> (Int, Int?)? {
            var cursor = position + 1
            func number() -> Int? {
                let start = cursor
                while cursor < bytes.count, bytes[cursor] >= 0x30, bytes[cursor] <= 0x39 { cursor += 1 }
                return cursor > start ? Int(String(decoding: bytes[start..<cursor], as: UTF8.self)) : nil
            }
            guard let minimum = number() else { return nil }
            var maximum: Int? = minimum
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: ",") {
                cursor += 1
                maximum = number()
            }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "}") else { return nil }
            guard minimum <= 1000, (maximum ?? minimum) <= 1000, minimum <= (maximum ?? minimum) else {
                throw Failure(message: "regex repeat count out of range (at most 1000)")
            }
            position = cursor + 1
            return (minimum, maximum)
        }

        mutating func parseAtom() throws(Failure) -> Node {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "("):
                if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "?"),
                    bytes[position + 1] == UInt8(ascii: ":")
                {
                    position += 2
                }
                guard depth < Self.maxDepth else { throw Failure(message: "regex nests groups deeper than 64") }
                depth += 1
                defer { depth -= 1 }
                let inner = try parseAlternation()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ")") else {
                    throw Failure(message: "regex: unbalanced parenthesis")
                }
                position += 1
                return inner
            case UInt8(ascii: "["): return .bytes(try parseClass())
            case UInt8(ascii: "."):
                var any = ByteSet()
                any.insert(0x0A)
                any.invert()
                return .bytes(any)
            case UInt8(ascii: "^"): return .atStart
            case UInt8(ascii: "$"): return .atEnd
            case UInt8(ascii: "\\"): return .bytes(try parseEscape())
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                throw Failure(message: "regex: nothing to repeat")
            default:
                var set = ByteSet()
                set.insert(byte)
                return .bytes(set)
            }
        }

        mutating func parseEscape() throws(Failure) -> ByteSet {
            guard position < bytes.count else { throw Failure(message: "regex ends with a backslash") }
            let byte = bytes[position]
            position += 1
            var set = ByteSet()
            func add(_ range: ClosedRange<UInt8>) { for value in range { set.insert(value) } }
            switch byte {
            case UInt8(ascii: "d"), UInt8(ascii: "D"): add(0x30...0x39)
            case UInt8(ascii: "w"), UInt8(ascii: "W"):
                add(0x30...0x39)
                add(0x41...0x5A)
                add(0x61...0x7A)
                set.insert(UInt8(ascii: "_"))
            case UInt8(ascii: "s"), UInt8(ascii: "S"):
                for value: UInt8 in [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D] { set.insert(value) }
            case UInt8(ascii: "t"): set.insert(0x09)
            case UInt8(ascii: "n"): set.insert(0x0A)
            case UInt8(ascii: "r"): set.insert(0x0D)
            case _
            where (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A):
                throw Failure(message: "regex: unsupported escape \\\(Character(UnicodeScalar(byte)))")
            default: set.insert(byte)
            }
            if byte == UInt8(ascii: "D") || byte == UInt8(ascii: "W") || byte == UInt8(ascii: "S") { set.invert() }
            return set
        }

        mutating func parseClass() throws(Failure) -> ByteSet {
            var set = ByteSet()
            var negated = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "^") {
                negated = true
                position += 1
            }
            var first = true
            while true {
                guard position < bytes.count else { throw Failure(message: "regex: unterminated [") }
                var byte = bytes[position]
                if byte == UInt8(ascii: "]") && !first {
                    position += 1
                    break
                }
                first = false
                position += 1
                if byte == UInt8(ascii: "\\") {
                    let escaped = try parseEscape()
                    set.formUnion(escaped)
                    continue
                }
                if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "-"),
                    bytes[position + 1] != UInt8(ascii: "]")
                {
                    var upper = bytes[position + 1]
                    position += 2
                    if upper == UInt8(ascii: "\\"), position < bytes.count {
                        upper = bytes[position]
                        position += 1
                    }
                    guard byte <= upper else { throw Failure(message: "regex: bad range in class") }
                    while true {
                        set.insert(byte)
                        if byte == upper { break }
                        byte += 1
                    }
                } else {
                    set.insert(byte)
                }
            }
            if negated { set.invert() }
            return set
        }
    }
}

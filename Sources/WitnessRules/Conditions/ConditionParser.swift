/// Parses Falco's condition language into `ConditionSyntax`:
///
///     expr       := and_expr ("or" and_expr)*
///     and_expr   := not_expr ("and" not_expr)*
///     not_expr   := "not" not_expr | primary
///     primary    := "(" expr ")" | field operator operand | field "exists" | macro
///     operand    := value | "(" [value ("," value)*] ")"
///
/// `not` binds tighter than `and`, which binds tighter than `or`, as in Falco.
/// Values are bare words (anything up to space, comma or parenthesis) or strings
/// in single or double quotes. Errors carry the offset in the condition text.
struct ConditionParser {
    private let text: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 200

    init(_ condition: String) {
        text = Array(condition.utf8)
    }

    static func parse(_ condition: String) throws(ConditionError) -> ConditionSyntax {
        var parser = ConditionParser(condition)
        let expression = try parser.parseOr()
        parser.skipSpace()
        if parser.position < parser.text.count {
            throw ConditionError(message: "unexpected '\(parser.peekWord())'", offset: parser.position)
        }
        return expression
    }

    // MARK: Grammar

    private mutating func parseOr() throws(ConditionError) -> ConditionSyntax {
        var items = [try parseAnd()]
        while consumeKeyword("or") { items.append(try parseAnd()) }
        return items.count == 1 ? items[0] : .or(items)
    }

    private mutating func parseAnd() throws(ConditionError) -> ConditionSyntax {
        var items = [try parseNot()]
        while consumeKeyword("and") { items.append(try parseNot()) }
        return items.count == 1 ? items[0] : .and(items)
    }

    private mutating func parseNot() throws(ConditionError) -> ConditionSyntax {
        if consumeKeyword("not") {
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ConditionError) -> ConditionSyntax {
        skipSpace()
        guard position < text.count else { throw ConditionError(message: "condition ends too early", offset: position) }
        if text[position] == UInt8(ascii: "(") {
            let open = position
            position += 1
            try enter()
            defer { depth -= 1 }
            let inner = try parseOr()
            skipSpace()
            guard position < text.count, text[position] == UInt8(ascii: ")") else {
                throw ConditionError(message: "unbalanced parentheses: '(' is not closed", offset: open)
            }
            position += 1
            return inner
        }
        let start = position
        let name = readIdentifier()
        guard !name.isEmpty else {
            throw ConditionError(message: "expected a field or macro, found '\(peekWord())'", offset: position)
        }
        if ["and", "or", "not"].contains(name) {
            throw ConditionError(message: "unexpected '\(name)'", offset: start)
        }
        var argument: String?
        if position < text.count, text[position] == UInt8(ascii: "[") {
            argument = try readBracketArgument()
        }
        // A dotted name is a field; an undotted one is a macro unless an operator follows.
        skipSpace()
        let op = peekOperator()
        if op == nil {
            if name.contains(".") || argument != nil {
                throw ConditionError(
                    message: "expected an operator after '\(name)', found '\(peekWord())'", offset: position)
            }
            return .macro(name: name, offset: start)
        }
        let field = FieldSyntax(name: name, argument: argument, offset: start)
        let (comparison, length) = op!
        position += length
        switch comparison {
        case .exists:
            return .comparison(field: field, op: .exists, operand: .none, offset: start)
        case .in, .intersects, .pmatch:
            skipSpace()
            guard position < text.count, text[position] == UInt8(ascii: "(") else {
                throw ConditionError(message: "'\(comparison.rawValue)' needs a list in parentheses", offset: position)
            }
            return .comparison(field: field, op: comparison, operand: .list(try readList()), offset: start)
        default:
            skipSpace()
            if position < text.count, text[position] == UInt8(ascii: "(") {
                // `=` and friends with a parenthesised list behave as Falco's `in` does only for `in`;
                // a list here is an error.
                throw ConditionError(message: "'\(comparison.rawValue)' takes one value, not a list", offset: position)
            }
            guard let value = try readValue() else {
                throw ConditionError(message: "'\(comparison.rawValue)' needs a value", offset: position)
            }
            return .comparison(field: field, op: comparison, operand: .value(value), offset: start)
        }
    }

    private mutating func enter() throws(ConditionError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw ConditionError(message: "condition nests deeper than \(Self.maximumDepth) levels", offset: position)
        }
    }

    // MARK: Tokens

    private mutating func skipSpace() {
        while position < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[position]) { position += 1 }
    }

    private func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    private mutating func readIdentifier() -> String {
        let start = position
        while position < text.count, isIdentifierByte(text[position]) { position += 1 }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    private mutating func readBracketArgument() throws(ConditionError) -> String {
        let open = position
        position += 1
        let start = position
        while position < text.count, text[position] != UInt8(ascii: "]") { position += 1 }
        guard position < text.count else { throw ConditionError(message: "'[' is not closed", offset: open) }
        let argument = String(decoding: text[start..<position], as: UTF8.self)
        position += 1
        return argument
    }

    /// Whether the keyword follows as a whole word; consumes it if so.
    private mutating func consumeKeyword(_ keyword: String) -> Bool {
        skipSpace()
        let bytes = Array(keyword.utf8)
        guard position + bytes.count <= text.count, Array(text[position..<position + bytes.count]) == bytes else {
            return false
        }
        let end = position + bytes.count
        if end < text.count, isIdentifierByte(text[end]) { return false }
        position = end
        return true
    }

    /// The operator at the current position and its length, without consuming it.
    private func peekOperator() -> (ComparisonOperator, Int)? {
        guard position < text.count else { return nil }
        let symbols: [(String, ComparisonOperator)] = [
            ("==", .doubleEqual), ("!=", .notEqual), ("<=", .lessOrEqual), (">=", .greaterOrEqual), ("=", .equal),
            ("<", .less), (">", .greater),
        ]
        for (symbol, op) in symbols {
            let bytes = Array(symbol.utf8)
            if position + bytes.count <= text.count, Array(text[position..<position + bytes.count]) == bytes {
                return (op, bytes.count)
            }
        }
        var end = position
        while end < text.count, isIdentifierByte(text[end]) { end += 1 }
        let word = String(decoding: text[position..<end], as: UTF8.self)
        if let op = ComparisonOperator.words[word] { return (op, end - position) }
        return nil
    }

    private func peekWord() -> String {
        var end = position
        while end < text.count, ![0x20, 0x09, 0x0A].contains(text[end]) { end += 1 }
        return end == position ? "end of condition" : String(decoding: text[position..<end], as: UTF8.self)
    }

    /// A quoted string or a bare word; nil at the end or at a closing parenthesis.
    private mutating func readValue() throws(ConditionError) -> String? {
        skipSpace()
        guard position < text.count else { return nil }
        let first = text[position]
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            let open = position
            position += 1
            var bytes: [UInt8] = []
            while position < text.count, text[position] != first {
                if text[position] == UInt8(ascii: "\\"), position + 1 < text.count {
                    position += 1
                }
                bytes.append(text[position])
                position += 1
            }
            guard position < text.count else { throw ConditionError(message: "unterminated string", offset: open) }
            position += 1
            return String(decoding: bytes, as: UTF8.self)
        }
        let start = position
        while position < text.count,
            ![0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ",")].contains(text[position])
        {
            position += 1
        }
        return position == start ? nil : String(decoding: text[start..<position], as: UTF8.self)
    }

    private mutating func readList() throws(ConditionError) -> [String] {
        let open = position
        position += 1  // "("
        var items: [String] = []
        while true {
            skipSpace()
            guard position < text.count else {
                throw ConditionError(message: "unbalanced parentheses: list is not closed", offset: open)
            }
            if text[position] == UInt8(ascii: ")") {
                position += 1
                return items
            }
            if text[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard let item = try readValue() else {
                throw ConditionError(message: "unexpected '\(peekWord())' in list", offset: position)
            }
            items.append(item)
        }
    }
}

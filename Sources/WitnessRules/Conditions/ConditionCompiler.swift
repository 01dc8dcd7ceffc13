import WitnessCore

/// Turns `ConditionSyntax` into a `Predicate`: expands macros (each compiled once),
/// flattens lists (which may name other lists), resolves fields and converts values
/// to each field's type. Unknown fields are reported apart from real errors: a rule
/// that needs one is skipped, not fatal.
final class ConditionCompiler {
    enum Failure: Error, Equatable {
        /// A field Witness does not know: the rule is skipped with a warning.
        case unknownField(String)
        /// A field Witness knows of but cannot observe: the condition cannot be evaluated.
        case unavailableField(String)
        /// An operator Witness does not implement (regex, bcontains...): skipped too.
        case unsupportedOperator(String)
        case unknownMacro(String)
        case recursiveMacro(String)
        case badValue(String)
        case badMacroCondition(macro: String, ConditionError)

        var isSkip: Bool {
            switch self {
            case .unknownField, .unavailableField, .unsupportedOperator: return true
            default: return false
            }
        }

        var message: String {
            switch self {
            case .unknownField(let name): return "uses field '\(name)', which Witness does not know"
            case .unavailableField(let name): return "tests field '\(name)', which Witness cannot observe"
            case .unsupportedOperator(let name): return "uses operator '\(name)', which Witness does not support"
            case .unknownMacro(let name): return "unknown macro '\(name)'"
            case .recursiveMacro(let name): return "macro '\(name)' refers to itself"
            case .badValue(let text): return text
            case let .badMacroCondition(macro, error): return "in macro '\(macro)': \(error.message)"
            }
        }
    }

    private let macroConditions: [String: String]
    private let lists: [String: [String]]
    private var compiledMacros: [String: Result<Predicate, Failure>] = [:]
    private var expanding: Set<String> = []

    init(macros: [String: String], lists: [String: [String]]) {
        macroConditions = macros
        self.lists = lists
    }

    func compile(_ syntax: ConditionSyntax) throws(Failure) -> Predicate {
        switch syntax {
        case .and(let items):
            var compiled: [Predicate] = []
            for item in items { compiled.append(try compile(item)) }
            return .all(compiled)
        case .or(let items):
            var compiled: [Predicate] = []
            for item in items { compiled.append(try compile(item)) }
            return .any(compiled)
        case .not(let inner):
            return .not(try compile(inner))
        case let .macro(name, _):
            return try macro(name)
        case let .comparison(field, op, operand, _):
            return try comparison(field, op, operand)
        }
    }

    private func macro(_ name: String) throws(Failure) -> Predicate {
        if let done = compiledMacros[name] { return try done.get() }
        guard let condition = macroConditions[name] else { throw .unknownMacro(name) }
        guard !expanding.contains(name) else { throw .recursiveMacro(name) }
        expanding.insert(name)
        defer { expanding.remove(name) }
        let result: Result<Predicate, Failure>
        do throws(ConditionError) {
            let syntax = try ConditionParser.parse(condition)
            do throws(Failure) {
                result = .success(try compile(syntax))
            } catch {
                result = .failure(error)
            }
        } catch {
            result = .failure(.badMacroCondition(macro: name, error))
        }
        // A recursion failure is not cached: the macro may compile from another path.
        if case .failure(.recursiveMacro) = result {} else { compiledMacros[name] = result }
        return try result.get()
    }

    /// List items with list references expanded (lists were flattened at load).
    func expand(_ items: [String]) -> [String] {
        var result: [String] = []
        for item in items {
            // As Falco splices list items into the condition: a quoted item is a string.
            if let list = lists[item] {
                result.append(contentsOf: list.map(Self.unquote))
            } else {
                result.append(Self.unquote(item))
            }
        }
        return result
    }

    /// `cafebabe` → [0xca, 0xfe, 0xba, 0xbe]; nil for an odd length or a non-hex digit.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }

    static func unquote(_ item: String) -> String {
        if item.count >= 2, let first = item.first, first == "\"" || first == "'", item.last == first {
            return String(item.dropFirst().dropLast())
        }
        return item
    }

    func comparison(_ syntax: FieldSyntax, _ op: ComparisonOperator, _ operand: Operand) throws(Failure) -> Predicate {
        let field: FieldRef
        switch FieldRef.resolve(name: syntax.name, argument: syntax.argument) {
        case .success(let resolved): field = resolved
        case .failure(let unknown): throw .unknownField(unknown.name)
        }
        if field.id == .unavailable { throw .unavailableField(field.displayName) }
        if op == .exists { return .exists(field) }
        let values: [String]
        switch operand {
        case .none: throw .badValue("'\(op.rawValue)' needs a value")
        case .value(let value): values = [value]
        case .list(let items): values = expand(items)
        }
        switch field.id.kind {
        case .string: return try text(field, op, values)
        case .number: return try number(field, op, values)
        case .boolean: return try boolean(field, op, values)
        case .network: return try network(field, op, values)
        case .hostName:
            return try membership(field, op, values, of: "host name") {
                .hostName(field, ResolvedNames(names: $0), negated: $1)
            }
        }
    }

    private func network(_ field: FieldRef, _ op: ComparisonOperator, _ values: [String]) throws(Failure) -> Predicate {
        let networks = try converted(values, for: field, as: "an IP address or network (a.b.c.d/n, x::/n)") {
            IPNetwork($0)
        }
        return try membership(field, op, networks, of: "address") { .network(field, $0, negated: $1) }
    }

    /// Operands converted to a field's type, or an error naming the first that is not one.
    private func converted<Value>(
        _ values: [String], for field: FieldRef, as kind: String, _ convert: (String) -> Value?
    ) throws(Failure) -> [Value] {
        var result: [Value] = []
        for value in values {
            guard let converted = convert(value) else {
                throw .badValue("'\(value)' is not \(kind), as \(field.displayName) needs")
            }
            result.append(converted)
        }
        return result
    }

    /// How address and host-name tests read their operands: `=` the first value,
    /// `!=` its negation, `in` (and `intersects`) every value.
    private func membership<Value>(
        _ field: FieldRef, _ op: ComparisonOperator, _ values: [Value], of kind: String,
        _ make: ([Value], Bool) -> Predicate
    ) throws(Failure) -> Predicate {
        switch op {
        case .equal, .doubleEqual: return make(Array(values.prefix(1)), false)
        case .notEqual: return make(Array(values.prefix(1)), true)
        case .in, .intersects: return make(values, false)
        default: throw .badValue("operator '\(op.rawValue)' does not apply to the \(kind) \(field.displayName)")
        }
    }

    private func text(_ field: FieldRef, _ op: ComparisonOperator, _ values: [String]) throws(Failure) -> Predicate {
        if field.id == .evtType, [.equal, .doubleEqual, .notEqual, .in].contains(op) {
            // Event types Witness never sees simply never match.
            var mask: UInt128 = 0
            for syscall in Syscall.allCases where values.contains("\(syscall.eventType)") {
                mask |= 1 << UInt128(syscall.rawValue)
            }
            return .eventType(mask: mask, negated: op == .notEqual)
        }
        let first = Array((values.first ?? "").utf8)
        switch op {
        case .equal, .doubleEqual: return .text(field, .equal(first))
        case .notEqual: return .text(field, .notEqual(first))
        case .contains: return .text(field, .contains(first))
        case .icontains: return .text(field, .containsIgnoringCase(first.map(ByteMatching.lower)))
        case .startswith: return .text(field, .startsWith(first))
        case .endswith: return .text(field, .endsWith(first))
        case .glob: return .text(field, .glob(first, caseInsensitive: false))
        case .iglob: return .text(field, .glob(first, caseInsensitive: true))
        case .in, .intersects: return .text(field, .member(values.map { Array($0.utf8) }))
        case .pmatch: return .text(field, .pathMatch(values.map { Array($0.utf8) }))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            throw .badValue("operator '\(op.rawValue)' compares numbers, but \(field.displayName) is a string")
        case .regex:
            do throws(SafeRegex.Failure) {
                return .text(field, .regex(try SafeRegex(values.first ?? "")))
            } catch {
                throw .badValue(error.message)
            }
        case .bcontains, .bstartswith:
            // The operand is hex: `bcontains cafebabe` looks for those four bytes.
            guard let text = values.first, let bytes = Self.hexBytes(text) else {
                throw .badValue("'\(values.first ?? "")' is not hex bytes, as '\(op.rawValue)' needs")
            }
            return .text(field, op == .bcontains ? .contains(bytes) : .startsWith(bytes))
        case .exists:
            return .exists(field)
        }
    }

    private func number(_ field: FieldRef, _ op: ComparisonOperator, _ values: [String]) throws(Failure) -> Predicate {
        let numbers = try converted(values, for: field, as: "a number") { Int64($0) }
        let first = numbers.first ?? 0
        switch op {
        case .equal, .doubleEqual: return .number(field, .equal(first))
        case .notEqual: return .number(field, .notEqual(first))
        case .less: return .number(field, .less(first))
        case .lessOrEqual: return .number(field, .lessOrEqual(first))
        case .greater: return .number(field, .greater(first))
        case .greaterOrEqual: return .number(field, .greaterOrEqual(first))
        case .in, .intersects: return .number(field, .member(Set(numbers)))
        default: throw .badValue("operator '\(op.rawValue)' does not apply to the number \(field.displayName)")
        }
    }

    private func boolean(_ field: FieldRef, _ op: ComparisonOperator, _ values: [String]) throws(Failure) -> Predicate {
        guard let text = values.first, let value = Bool(text.lowercased()) else {
            throw .badValue("\(field.displayName) is true or false, not '\(values.first ?? "")'")
        }
        switch op {
        case .equal, .doubleEqual: return .boolean(field, value)
        case .notEqual: return .boolean(field, !value)
        default: throw .badValue("operator '\(op.rawValue)' does not apply to the boolean \(field.displayName)")
        }
    }
}

import WitnessCore

/// A compiled condition: fields resolved, macros expanded, lists flattened, values
/// converted to the field's type. Evaluating it reads fields from `EventFields` and
/// compares bytes or integers — no parsing, no allocation.
indirect enum Predicate {
    case all([Predicate])
    case any([Predicate])
    case not(Predicate)
    case constant(Bool)
    case text(FieldRef, TextTest)
    case number(FieldRef, NumberTest)
    case boolean(FieldRef, Bool)
    case exists(FieldRef)
    /// `evt.type` tests, compiled to a bit per syscall: no string compared. 128 bits,
    /// one per `Syscall` case (a test checks they fit).
    case eventType(mask: UInt128, negated: Bool)
    /// An address field against networks: true when one of the field's ends is in
    /// one of them (with `negated`, when one of its ends is in none of them).
    case network(FieldRef, [IPNetwork], negated: Bool)
    /// An address field against host names' current addresses.
    case hostName(FieldRef, ResolvedNames, negated: Bool)

    enum TextTest {
        case equal([UInt8])
        case notEqual([UInt8])
        case contains([UInt8])
        case containsIgnoringCase([UInt8])  // needle stored lower-cased
        case startsWith([UInt8])
        case endsWith([UInt8])
        case glob([UInt8], caseInsensitive: Bool)
        case member(ByteStringSet)
        case pathMatch([[UInt8]])
        /// The whole value matches (Falco's `regex`, RE2's ANCHOR_BOTH).
        case regex(SafeRegex)
    }

    enum NumberTest {
        case equal(Int64)
        case notEqual(Int64)
        case less(Int64)
        case lessOrEqual(Int64)
        case greater(Int64)
        case greaterOrEqual(Int64)
        case member(Set<Int64>)
    }

    func evaluate(_ fields: EventFields) -> Bool {
        switch self {
        case .all(let items):
            for item in items where !item.evaluate(fields) { return false }
            return true
        case .any(let items):
            for item in items where item.evaluate(fields) { return true }
            return false
        case .not(let inner):
            return !inner.evaluate(fields)
        case .constant(let value):
            return value
        case let .text(field, test):
            return Self.forEachValue(field, fields) { value in
                value.withBytes { test.matches($0) } ?? false
            }
        case let .number(field, test):
            return Self.forEachValue(field, fields) { value in
                guard case .number(let number) = value else { return false }
                return test.matches(number)
            }
        case let .boolean(field, expected):
            guard case .boolean(let value) = fields.value(field) else { return false }
            return value == expected
        case .exists(let field):
            return !fields.value(field).isNone
        case let .eventType(mask, negated):
            return (mask & (1 << UInt128(fields.syscall.rawValue)) != 0) != negated
        case let .network(field, networks, negated):
            let ends = fields.endpoints(field.id)
            if let end = ends.client, networks.contains(where: { $0.contains(end) }) != negated { return true }
            if let end = ends.server, networks.contains(where: { $0.contains(end) }) != negated { return true }
            return false
        case let .hostName(field, names, negated):
            let ends = fields.endpoints(field.id)
            guard let end = ends.server ?? ends.client else { return false }
            return names.contains(end) != negated
        }
    }

    /// A field without its ancestor index (`proc.aname`) stands for every ancestor:
    /// the test holds if it holds for any of them, as in Falco.
    @inline(__always)
    private static func forEachValue(_ field: FieldRef, _ fields: EventFields, _ test: (FieldValue) -> Bool) -> Bool {
        // fd.port is either end's, as in Falco.
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

    /// The event types this predicate can be true for; nil when it can be true for any.
    var eventTypes: Set<String>? {
        switch self {
        case .all(let items):
            var result: Set<String>?
            for item in items {
                guard let types = item.eventTypes else { continue }
                result = result.map { $0.intersection(types) } ?? types
            }
            return result
        case .any(let items):
            var result = Set<String>()
            for item in items {
                guard let types = item.eventTypes else { return nil }
                result.formUnion(types)
            }
            return result
        case let .eventType(mask, false):
            var types = Set<String>()
            for syscall in Syscall.allCases where mask & (1 << UInt128(syscall.rawValue)) != 0 {
                types.insert("\(syscall.eventType)")
            }
            return types
        case .constant(false):
            return []
        default:
            return nil
        }
    }
}

extension Predicate.TextTest {
    @inline(__always)
    func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .equal(let pattern): return ByteMatching.equal(value, pattern)
        case .notEqual(let pattern): return !ByteMatching.equal(value, pattern)
        case .contains(let needle): return ByteMatching.contains(value, needle)
        case .containsIgnoringCase(let needle): return ByteMatching.contains(value, needle, caseInsensitive: true)
        case .startsWith(let prefix): return ByteMatching.hasPrefix(value, prefix)
        case .endsWith(let suffix): return ByteMatching.hasSuffix(value, suffix)
        case let .glob(pattern, caseInsensitive): return ByteMatching.glob(value, pattern, caseInsensitive: caseInsensitive)
        case .member(let set): return set.contains(value)
        case .pathMatch(let prefixes):
            for prefix in prefixes where ByteMatching.pathMatch(value, prefix) { return true }
            return false
        case .regex(let expression): return expression.matches(value)
        }
    }
}

extension Predicate.NumberTest {
    @inline(__always)
    func matches(_ value: Int64) -> Bool {
        switch self {
        case .equal(let other): return value == other
        case .notEqual(let other): return value != other
        case .less(let other): return value < other
        case .lessOrEqual(let other): return value <= other
        case .greater(let other): return value > other
        case .greaterOrEqual(let other): return value >= other
        case .member(let set): return set.contains(value)
        }
    }
}

import WitnessCore

/// A compiled condition: fields resolved, macros expanded, lists flattened, values
/// converted to the field's type. A tree, for the compiler to build and to read
/// event types from; `RuleProgram` flattens it into what runs per event.
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
        case member([[UInt8]])
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

    /// The predicate for events of `syscall` alone: every `evt.type` test answered,
    /// and what that decides folded away (a rule for opens is `false` for a connect).
    func folded(for syscall: Syscall) -> Predicate {
        switch self {
        case .all(let items):
            var kept: [Predicate] = []
            for item in items {
                let folded = item.folded(for: syscall)
                if case .constant(let value) = folded {
                    if value { continue } else { return .constant(false) }
                }
                kept.append(folded)
            }
            return kept.isEmpty ? .constant(true) : kept.count == 1 ? kept[0] : .all(kept)
        case .any(let items):
            var kept: [Predicate] = []
            for item in items {
                let folded = item.folded(for: syscall)
                if case .constant(let value) = folded {
                    if value { return .constant(true) } else { continue }
                }
                kept.append(folded)
            }
            return kept.isEmpty ? .constant(false) : kept.count == 1 ? kept[0] : .any(kept)
        case .not(let inner):
            let folded = inner.folded(for: syscall)
            if case .constant(let value) = folded { return .constant(!value) }
            return .not(folded)
        case let .eventType(mask, negated):
            return .constant((mask & (1 << UInt128(syscall.rawValue)) != 0) != negated)
        default:
            return self
        }
    }

    /// Every `evt.type` mask the predicate tests.
    var eventTypeMasks: [UInt128] {
        switch self {
        case .all(let items), .any(let items): return items.flatMap(\.eventTypeMasks)
        case .not(let inner): return inner.eventTypeMasks
        case .eventType(let mask, _): return [mask]
        default: return []
        }
    }
}

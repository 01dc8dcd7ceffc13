/// A condition as written, before fields are resolved and macros expanded: what the
/// parser produces and the compiler consumes.
indirect enum ConditionSyntax: Equatable {
    case and([ConditionSyntax])
    case or([ConditionSyntax])
    case not(ConditionSyntax)
    /// A bare identifier: a macro (or, after expansion, nothing else).
    case macro(name: String, offset: Int)
    /// `field op value`, `field op (list)`, or `field exists`.
    case comparison(field: FieldSyntax, op: ComparisonOperator, operand: Operand, offset: Int)
}

/// A field reference as written: `proc.aname[2]`, `evt.arg.flags`, `fd.name`.
struct FieldSyntax: Equatable {
    var name: String
    var argument: String?
    var offset: Int
}

/// The right-hand side of a comparison.
enum Operand: Equatable {
    case none
    case value(String)
    /// Items of a parenthesised list; an item may name a list, expanded later.
    case list([String])
}

/// Falco's comparison operators.
enum ComparisonOperator: String, CaseIterable {
    case equal = "="
    case doubleEqual = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case contains
    case icontains
    case bcontains
    case startswith
    case bstartswith
    case endswith
    case glob
    case iglob
    case pmatch
    case `in`
    case intersects
    case exists
    case regex

    static let words: [String: ComparisonOperator] = Dictionary(
        uniqueKeysWithValues: allCases.filter { $0.rawValue.first!.isLetter }.map { ($0.rawValue, $0) })
}

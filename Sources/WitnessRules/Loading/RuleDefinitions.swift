import WitnessCore

/// Where something is in a rules file.
struct SourceLocation: Equatable {
    var file: String
    var line: Int
    var column: Int
    /// A block scalar (`|`, `>`): its text starts on the next line.
    var block = false

    /// The location of `offset` inside the scalar that starts here.
    func advanced(in text: String, by offset: Int) -> SourceLocation {
        let prefix = Array(text.utf8).prefix(max(0, offset))
        let newlines = prefix.filter { $0 == 0x0A }.count
        if block {
            let lastLine = prefix.split(separator: 0x0A, omittingEmptySubsequences: false).last ?? []
            return SourceLocation(file: file, line: line + 1 + newlines, column: column + 2 + lastLine.count)
        }
        if newlines == 0 { return SourceLocation(file: file, line: line, column: column + offset) }
        let lastLine = prefix.split(separator: 0x0A, omittingEmptySubsequences: false).last ?? []
        return SourceLocation(file: file, line: line + newlines, column: lastLine.count + 1)
    }
}

/// A rule as files define it, after appends and overrides, before compilation.
struct RuleDefinition {
    var name: String
    var location: SourceLocation
    var description: String?
    var condition: String?
    var conditionLocation: SourceLocation
    var output: String?
    var outputLocation: SourceLocation
    var priority: String?
    var priorityLocation: SourceLocation
    var tags: [String] = []
    var enabled = true
    var source = "syscall"
    var exceptions: [ExceptionDefinition] = []
}

/// One entry of a rule's `exceptions:`: the rule does not fire when, for any of
/// `values`, every field compares true against its value.
struct ExceptionDefinition {
    var name: String
    var fields: [String]
    /// True when `fields` was a single field (then each value is compared with `in`).
    var singleField: Bool
    var comparisons: [String]
    /// Rows of cells; a cell is one value, or a list of them (a nested list, or a
    /// list's name) for an `in`, `pmatch` or `intersects` comparison.
    var values: [[[String]]]
    var location: SourceLocation
}

/// A rule ready to evaluate.
package struct CompiledRule {
    package let name: String
    package let priority: Priority
    package let tags: [String]
    package let description: String
    let predicate: Predicate
    let output: OutputTemplate
    /// Event types the rule can fire on; nil: any.
    let eventTypes: Set<String>?
}

/// A rule that could not be used, and why.
package struct SkippedRule: Sendable, Equatable {
    package var name: String
    package var reason: String
}

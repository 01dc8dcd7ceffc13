/// A problem found in a rules file, with where it is: printed as
/// `file:line:column: message` by `rules validate`, as compilers do.
package struct RulesDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Severity: String, Sendable { case error, warning }

    package var file: String
    package var line: Int
    package var column: Int
    package var severity: Severity
    package var message: String

    package init(file: String, line: Int, column: Int, severity: Severity = .error, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
    }

    package var description: String {
        "\(file):\(line):\(column): \(severity.rawValue): \(message)"
    }
}

/// A failure in a condition or output string, located within that string; the
/// loader turns it into a `RulesDiagnostic` at the right line of the file.
struct ConditionError: Error, Equatable {
    var message: String
    var offset: Int
}

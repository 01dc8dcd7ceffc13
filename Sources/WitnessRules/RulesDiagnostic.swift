/// A problem found in a rules file, with where it is: printed as
/// `file:line:column: message` by `rules validate`, as compilers do.
public struct RulesDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var file: String
    public var line: Int
    public var column: Int
    public var severity: Severity
    public var message: String

    public init(file: String, line: Int, column: Int, severity: Severity = .error, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
    }

    public var description: String {
        "\(file):\(line):\(column): \(severity.rawValue): \(message)"
    }
}

/// A failure in a condition or output string, located within that string; the
/// loader turns it into a `RulesDiagnostic` at the right line of the file.
struct ConditionError: Error, Equatable {
    var message: String
    var offset: Int
}

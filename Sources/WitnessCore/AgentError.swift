/// An error the agent reports as one line and an exit status: 2 for bad usage or
/// bad input (the user can fix it), 1 for a failure at run time.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let exitCode: Int32

    public init(_ message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    public static func usage(_ message: String) -> AgentError { AgentError(message, exitCode: 2) }
    public static func runtime(_ message: String) -> AgentError { AgentError(message, exitCode: 1) }

    public var description: String { message }
}

/// An error the agent reports as one line and an exit status: 2 for bad usage or
/// bad input (the user can fix it), 1 for a failure at run time.
package struct AgentError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package let exitCode: Int32

    package init(_ message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    package static func usage(_ message: String) -> AgentError { AgentError(message, exitCode: 2) }
    package static func runtime(_ message: String) -> AgentError { AgentError(message, exitCode: 1) }

    package var description: String { message }
}

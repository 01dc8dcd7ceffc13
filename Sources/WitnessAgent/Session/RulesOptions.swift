import ArgumentParser
import WitnessCore
import WitnessRules

/// Which rules classify events: files given with --rules (in order, later ones
/// refining earlier ones), else the default rules built into the agent.
struct RulesOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: "A Falco-format rules file (repeatable; default: the built-in rules).")
    var files: [String] = []

    @Flag(name: .customLong("no-rules"), help: "Load no rules: print events only.")
    var noRules = false

    @Option(
        name: .customLong("min-priority"),
        help: "Drop rules less severe than this Falco priority (like Falco's priority:).")
    var minimumPriority: String = "debug"

    func validate() throws {
        guard Priority(falcoName: minimumPriority) != nil else {
            throw ValidationError(
                "bad --min-priority '\(minimumPriority)': use emergency, alert, critical, error, warning, notice, informational or debug"
            )
        }
    }

    /// Loads and compiles the rules; any error in them stops the agent with its location.
    func load() throws(AgentError) -> LoadedRules? {
        guard !noRules else { return nil }
        return try RulesLoader.loadForAgent(
            paths: files, minimumPriority: Priority(falcoName: minimumPriority) ?? .debug)
    }
}

import ArgumentParser
import Glibc
import WitnessCore
import WitnessRules

/// `witness-agent rules`: work with rules files without loading any BPF.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check rules files.",
        subcommands: [ValidateRules.self])
}

/// `witness-agent rules validate FILE...`: every problem as `file:line:column:
/// severity: message`, then a summary; exit 0 only when every rule loads.
struct ValidateRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load rules files as the agent would and list every problem (exit 2 if any rule does not load).")

    @Argument(help: "Rules files, loaded in order (none: the built-in rules).")
    var files: [String] = []

    func run() throws {
        let sources = files.isEmpty ? RulesLoader.defaultSources() : try RulesLoader.sources(paths: files)
        let loaded = RulesLoader.load(sources)
        for diagnostic in loaded.diagnostics {
            print(diagnostic)
        }
        let errors = loaded.diagnostics.filter { $0.severity == .error }.count
        print(
            "\(loaded.rules.count) rules loaded, \(loaded.skipped.count) skipped, \(loaded.disabled) disabled, \(errors) errors"
        )
        if errors > 0 || !loaded.skipped.isEmpty { throw ExitCode(2) }
    }
}

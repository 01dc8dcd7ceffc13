import ArgumentParser
import Dispatch
import Glibc
import WitnessCore
import WitnessNode
import WitnessRules

/// `witness-agent run`: node mode, the DaemonSet agent (API, outputs, metrics).
/// The config file gives the defaults; the flags given override it.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Node mode: serve the controller's API, open witness windows on request, stream alerts.")

    @Option(name: .long, help: "The YAML config file (see README: Node mode).")
    var config: String?

    @Option(name: .long, help: "Listen on HOST:PORT (overrides api.listen).")
    var listen: String?

    @Option(name: .customLong("token-file"), help: "File holding the API bearer token (overrides api.token_file).")
    var tokenFile: String?

    @Option(name: .customLong("rules"), help: "A Falco-format rules file (repeatable; overrides rules_files).")
    var rulesFiles: [String] = []

    @Option(name: .customLong("ring-buffer"), help: "Kernel ring buffer size (overrides ring_buffer).")
    var ringBuffer: String?

    @Option(name: .customLong("spool-dir"), help: "Spool directory (overrides spool.directory).")
    var spoolDirectory: String?

    @Option(name: .customLong("proc-root"), help: "Where the host's /proc is mounted (overrides proc_root).")
    var procRoot: String?

    @Flag(name: .long, help: "Show libbpf warnings and debug logs.")
    var verbose: Int

    /// The config file with the flags applied, validated.
    func effectiveConfig() throws(AgentError) -> NodeConfig {
        var effective = NodeConfig()
        if let config {
            guard let data = BoundedFile.read(config, limit: 4 << 20) else {
                throw AgentError.usage("cannot read config file \(config)")
            }
            effective = try NodeConfig(yaml: String(decoding: data, as: UTF8.self), name: config)
        }
        if let listen { effective.api.listen = listen }
        if let tokenFile { effective.api.tokenFile = tokenFile }
        if !rulesFiles.isEmpty { effective.rulesFiles = rulesFiles }
        if let ringBuffer { effective.ringBuffer = ringBuffer }
        if let spoolDirectory { effective.spool.directory = spoolDirectory }
        if let procRoot { effective.procRoot = procRoot }
        try effective.validate()
        return effective
    }

    func validate() throws {
        let effective = try effectiveConfig()
        _ = try BearerToken(file: effective.api.tokenFile!, privateOnly: true)
    }

    func run() throws {
        let effective = try effectiveConfig()
        let loaded = try RulesLoader.loadForAgent(
            paths: effective.rulesFiles, minimumPriority: Priority(falcoName: effective.minimumPriority) ?? .debug)
        let verbose = self.verbose
        let ruleCount = loaded.rules.count
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await NodeAgent.run(config: effective, rules: loaded, verbose: verbose) { message in
                    FileHandleWriter.standardError(
                        "witness-agent: loaded in \((StartupClock.elapsedMilliseconds() * 10).rounded() / 10) ms (linked while a window is open), \(ruleCount) rules; \(message)\n"
                    )
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            if let error = error as? AgentError { throw error }
            throw AgentError.runtime("\(error)")
        }
    }

    private final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
}

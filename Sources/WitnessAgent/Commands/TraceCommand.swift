import ArgumentParser
import Glibc
import WitnessCore
import WitnessKernel

/// `witness-agent trace`: local debugging. Follows a process tree — a command it
/// starts, or a live PID — and prints every event the kernel reports for it.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print every exec, open and connect of a process tree.",
        discussion: """
            witness-agent trace -- COMMAND ARGS...   run COMMAND as the subject; exit with its status
            witness-agent trace --pid PID            follow a live process and its descendants until Ctrl-C
            witness-agent trace --alerts -- COMMAND  only Falco alert lines, one per rule that fired
            """)

    @Option(name: .long, help: "Follow this live process and every descendant.")
    var pid: Int32?

    @Flag(name: .long, help: "Print Falco alert lines (one per rule fired) instead of every event.")
    var alerts = false

    @OptionGroup var common: CommonOptions

    @OptionGroup var rules: RulesOptions

    @Argument(parsing: .postTerminator, help: "The command to run as the subject (after --).")
    var command: [String] = []

    func validate() throws {
        if pid == nil && command.isEmpty {
            throw ValidationError("trace needs --pid PID or -- COMMAND ARGS...")
        }
        if pid != nil && !command.isEmpty {
            throw ValidationError("trace takes --pid PID or -- COMMAND, not both")
        }
        if let pid { try SubjectChecks.process(pid) }
    }

    func run() throws {
        let session = try WitnessSession(options: common, rules: rules, printsEvents: !alerts)
        let slot = 0
        if let pid {
            try session.watch(.processTree(pid), slot: slot)
            session.announceAttached("following pid \(pid) and its descendants (Ctrl-C to stop)")
            let reason = session.run()
            WitnessSession.report(session.finish(slot: slot))
            if case .signal = reason { return }
            return
        }

        guard let executable = GatedChild.resolve(command[0]) else {
            throw AgentError.usage("command not found: \(command[0])")
        }
        let child = try GatedChild(path: executable, arguments: command)
        try session.probe.addPidSubject(pid: child.pid, slot: slot)
        session.pipeline.label(slot: slot, as: "pid:\(child.pid)")
        try session.consumer.watchProcessExit(pid: child.pid)
        session.announceAttached("running \(command[0]) as pid \(child.pid)")
        if let error = child.release() {
            _ = session.run()
            WitnessSession.report(session.finish(slot: slot))
            _ = child.wait()
            throw AgentError.usage("cannot run \(command[0]): \(String(cString: strerror(error)))")
        }
        let reason = session.run()
        if case let .signal(number) = reason {
            child.kill(number)
        }
        WitnessSession.report(session.finish(slot: slot))
        throw ExitCode(child.wait())
    }
}

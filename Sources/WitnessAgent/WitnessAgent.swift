import ArgumentParser
import Glibc
import WitnessCore
import WitnessKernel

/// The `witness-agent` executable: parses the command line, runs the subcommand,
/// and turns every failure into one line on stderr and an exit status — 2 for bad
/// usage or input, 1 for a runtime failure — never a stack trace.
@main
struct WitnessAgentMain {
    static func main() {
        StartupClock.mark()
        signal(SIGPIPE, SIG_IGN)
        let command: any ParsableCommand
        do {
            command = try WitnessAgentCommand.parseAsRoot()
        } catch {
            exitIfClean(error)
            fail(oneLine(WitnessAgentCommand.message(for: error)), code: 2)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch let error as AgentError {
            fail(error.message, code: error.exitCode)
        } catch let error as BPFError {
            fail(error.message, code: error.isUsageError ? 2 : 1)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            exitIfClean(error)
            fail(oneLine(WitnessAgentCommand.message(for: error)), code: 1)
        }
    }

    /// A clean exit ArgumentParser signals — help (`--help`, `-h`, `help [SUBCOMMAND]`,
    /// no arguments), `--version`, a completion script — wherever it is thrown: while
    /// parsing, or by a command's `run` (the root and `help` throw it there). Its whole
    /// text goes to standard output and the agent exits 0.
    static func exitIfClean(_ error: any Error) {
        guard WitnessAgentCommand.exitCode(for: error) == .success else { return }
        let text = WitnessAgentCommand.fullMessage(for: error)
        if !text.isEmpty { print(text) }
        exit(0)
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandleWriter.standardError("witness-agent: \(message)\n")
        exit(code)
    }

    /// ArgumentParser messages may span lines; the first one says what is wrong.
    static func oneLine(_ message: String) -> String {
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        return first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
    }
}

/// The root command.
struct WitnessAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness-agent",
        abstract: "A kernel-level runtime witness: eBPF exec/open/connect tracing with Falco-format output.",
        version: WitnessVersion.current,
        subcommands: [
            TraceCommand.self, WitnessCommand.self, RunCommand.self, RulesCommand.self, ProfileCommand.self,
            ReplayCommand.self, KeygenCommand.self, VerifyCommand.self,
        ])
}

/// Time since the process started, for the "attached in N ms" figure.
enum StartupClock {
    nonisolated(unsafe) private static var start = timespec()

    static func mark() {
        clock_gettime(CLOCK_MONOTONIC, &start)
    }

    static func elapsedMilliseconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec - start.tv_sec) * 1000 + Double(now.tv_nsec - start.tv_nsec) / 1_000_000
    }
}

/// Unbuffered writes to stderr for the agent's own messages.
enum FileHandleWriter {
    static func standardError(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in _ = FileWrites.all(2, UnsafeRawBufferPointer(buffer)) }
    }

    /// All of `bytes` to standard output, or an error saying why not (a closed pipe,
    /// a full disk): a command's result is never cut short silently.
    static func standardOutput(_ bytes: [UInt8]) throws(AgentError) {
        let written = bytes.withUnsafeBytes { FileWrites.all(1, $0) }
        guard written == bytes.count else {
            throw AgentError.runtime("cannot write standard output: \(String(cString: strerror(errno)))")
        }
    }
}

import Foundation
import Testing

/// The command line a newcomer meets first: help for the root and every subcommand,
/// nested ones included, printed whole on standard output with exit 0; bad flags still
/// one line and exit 2. No BPF is loaded: the binary is run as a user would.
@Suite("Help")
struct HelpTests {
    /// Each command line that asks for help, with options its help must list.
    static let commands: [([String], [String])] = [
        ([], ["trace", "witness", "run", "rules", "profile", "replay"]),
        (["trace"], ["--pid", "--alerts", "--ring-buffer"]),
        (["witness"], ["--cgroup", "--window", "--pod-uid", "--container-id", "--testimony"]),
        (["run"], ["--listen", "--token-file", "--config"]),
        (["rules"], ["validate"]),
        (["rules", "validate"], ["<files>"]),
        (["profile"], ["diff", "seccomp"]),
        (["profile", "diff"], ["--output"]),
        (["profile", "seccomp"], ["--output"]),
        (["replay"], ["--events", "--no-rules", "--baseline"]),
    ]

    @Test(arguments: commands.indices)
    func helpIsPrintedWholeAndExitsZero(index: Int) throws {
        let (path, options) = Self.commands[index]
        var spellings: [[String]] = [path + ["--help"], path + ["-h"], ["help"] + path]
        if path.isEmpty { spellings.append([]) }
        for arguments in spellings {
            let result = try Agent.run(arguments, timeout: 30)
            let shown = "witness-agent \(arguments.joined(separator: " "))"
            #expect(result.status == 0, "\(shown): exit \(result.status), stderr \(result.stderr)")
            #expect(result.stderr.isEmpty, "\(shown): stderr \(result.stderr)")
            #expect(result.stdout.contains("USAGE:"), "\(shown): \(result.stdout.prefix(200))")
            for option in options {
                #expect(result.stdout.contains(option), "\(shown) lists \(option)")
            }
        }
    }

    @Test func versionAndCompletionScriptsAreCleanExits() throws {
        let version = try Agent.run(["--version"], timeout: 30)
        #expect(version.status == 0 && !version.stdout.isEmpty && version.stderr.isEmpty)
        for shell in ["bash", "zsh", "fish"] {
            let script = try Agent.run(["--generate-completion-script", shell], timeout: 30)
            #expect(script.status == 0 && script.stderr.isEmpty, "\(shell): \(script.stderr)")
            #expect(script.stdout.contains("witness-agent"), "\(shell) completion names the command")
        }
    }

    @Test func aBadFlagIsStillOneLineAndExitTwo() throws {
        for arguments in [["--no-such-flag"], ["witness", "--no-such-flag"], ["rules", "validate", "--bogus"]] {
            let result = try Agent.run(arguments, timeout: 30)
            #expect(result.status == 2, "\(arguments): exit \(result.status)")
            #expect(result.stdout.isEmpty, "\(arguments): stdout \(result.stdout)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("witness-agent: "), "\(arguments): \(result.stderr)")
        }
    }
}

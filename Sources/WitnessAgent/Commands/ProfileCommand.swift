import ArgumentParser
import Glibc
import WitnessCore

/// `witness-agent profile`: work with the runtime profiles testimonies carry,
/// without loading any BPF.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Compare runtime profiles and export them as seccomp profiles.",
        subcommands: [ProfileDiff.self, ProfileSeccomp.self])
}

/// `witness-agent profile diff OLD NEW`: what NEW did that OLD (the baseline) did
/// not — the drift a window held to OLD would alert on. Exit 0 when there is none,
/// 1 when there is (as diff(1)), 2 for a file that is not a profile.
struct ProfileDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List what NEW did that the baseline OLD did not (exit 1 if anything).")

    @Argument(help: "The baseline: a testimony (a witness run's output or --testimony file) or a profile.")
    var old: String

    @Argument(help: "The profile to hold to it, in the same forms.")
    var new: String

    @Option(name: .long, help: "json (one object per line) or text (default).")
    var output: String = "text"

    func validate() throws {
        guard ["json", "text"].contains(output) else { throw ValidationError("--output must be json or text") }
    }

    func run() throws {
        let baseline = ProfileBaseline(try ProfileReader.read(file: old))
        let findings = baseline.drift(of: try ProfileReader.read(file: new))
        var writer = JSONWriter(capacity: 4096)
        for finding in findings {
            if output == "json" {
                writer.raw("{\"kind\":")
                writer.string(finding.kind.rawValue)
                writer.raw(",\"item\":")
                writer.string(finding.item)
                writer.raw("}\n")
            } else {
                writer.raw("+ ")
                writer.escaped(finding.kind.rawValue)
                writer.byte(UInt8(ascii: " "))
                writer.escaped(finding.item)
                writer.byte(UInt8(ascii: "\n"))
            }
        }
        if output == "text" {
            writer.bytes.append(contentsOf: "\(findings.count) new against the baseline\n".utf8)
        }
        try FileHandleWriter.standardOutput(writer.bytes)
        if !findings.isEmpty { throw ExitCode(1) }
    }
}

/// `witness-agent profile seccomp FILE`: the seccomp profile that allows exactly the
/// syscalls the profile saw (kubelet `localhost/` profiles, runc, crun).
struct ProfileSeccomp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seccomp",
        abstract: "Write the seccomp profile (JSON) that allows the observed syscalls and refuses the rest with EPERM.")

    @Argument(help: "A testimony or a profile.")
    var file: String

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output.")
    var output: String?

    func run() throws {
        let profile = try ProfileReader.read(file: file)
        guard !profile.syscalls.isEmpty || !profile.compatSyscalls.isEmpty else {
            throw AgentError.usage("\(file): the profile has no syscalls to allow")
        }
        let (json, unnamed) = SeccompProfile.make(from: profile)
        if profile.syscalls["io_uring_setup"] != nil || profile.syscalls["io_uring_enter"] != nil {
            FileHandleWriter.standardError(
                "witness-agent: warning: the subject used io_uring: operations submitted to a ring pass no syscall, so seccomp does not filter them\n"
            )
        }
        if !unnamed.isEmpty {
            FileHandleWriter.standardError(
                "witness-agent: warning: no name in this build for \(unnamed.joined(separator: ", ")): not allowed by the profile\n"
            )
        }
        var copy = json
        if let output {
            let written = copy.withUTF8 { AtomicFile.replace(output, with: UnsafeRawBufferPointer($0)) }
            guard written else {
                throw AgentError.runtime("cannot write '\(output)': \(String(cString: strerror(errno)))")
            }
        } else {
            try FileHandleWriter.standardOutput(Array(json.utf8))
        }
    }
}

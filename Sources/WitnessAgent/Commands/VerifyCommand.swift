import ArgumentParser
import WitnessAttestation
import WitnessCore

/// `witness-agent verify`: checks a signed testimony as a controller should
/// before trusting it, and prints what it attests. Exit 0: verified (and, with
/// --require-pass, passed); 1: not.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Verify a signed testimony (a DSSE envelope, or a testimony line or window carrying one) against a public key."
    )

    @Option(name: .long, help: "A trusted Ed25519 public key PEM (repeatable: e.g. the current and previous keys).")
    var key: [String] = []

    @Option(name: .customLong("trial-id"), help: "Fail unless the testimony is for this trial.")
    var trialID: String?

    @Option(name: .long, help: "Fail unless the testimony is for this window (its id, or the testimony's uuid).")
    var window: String?

    @Option(
        name: .long,
        help:
            "Fail unless the window's subject is this, as the testimony says it: pod:UID, container:ID, cgroup:PATH, pid:N."
    )
    var subject: String?

    @Flag(name: .customLong("require-pass"), help: "Exit 1 also when the verified testimony did not pass.")
    var requirePass = false

    @Argument(help: "The envelope file ('-': standard input).")
    var file: String

    func validate() throws {
        guard !key.isEmpty else { throw ValidationError("verify needs --key PUBLIC_KEY_FILE") }
    }

    func run() throws {
        var keys: [VerificationKey] = []
        for path in key {
            guard let bytes = BoundedFile.read(path, limit: 64 * 1024) else {
                throw AgentError.usage("cannot read public key file \(path)")
            }
            do { keys.append(try VerificationKey(pem: String(decoding: bytes, as: UTF8.self))) } catch {
                throw AgentError.usage("public key file \(path): \(error.description)")
            }
        }
        let input = BoundedFile.read(file == "-" ? "/dev/stdin" : file, limit: 256 << 20)
        guard let input else { throw AgentError.usage("cannot read \(file)") }
        do {
            let verified = try AttestationVerifier.verify(
                AttestationVerifier.input(input), keys: keys,
                expected: .init(trialID: trialID, window: window, subject: subject))
            var lines = ["verified: signed by key \(verified.keyID)"]
            lines += verified.subjects.map { "subject: \($0.name) sha256:\($0.sha256)" }
            lines.append("host: \(verified.hostID)")
            lines.append("trial: \(verified.trialID ?? "null")")
            lines.append("window: \(verified.window)")
            lines.append("witnessed: \(verified.subject)")
            lines.append("verdict: \(verified.verdictHint) (\(verified.passed ? "passed" : "not passed"))")
            try FileHandleWriter.standardOutput(Array((lines.joined(separator: "\n") + "\n").utf8))
            if requirePass && !verified.passed {
                throw AgentError.runtime("verify: the testimony is genuine and did not pass (\(verified.verdictHint))")
            }
        } catch let error as AttestationError {
            throw AgentError.runtime("verify: \(error.description)")
        }
    }
}

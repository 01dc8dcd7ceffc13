import ArgumentParser
import Glibc
import WitnessAttestation
import WitnessCore

/// `witness-agent keygen`: a new Ed25519 key pair for signing testimonies, the
/// private key readable by its owner only, the public key as `/v1/identity` serves it.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new Ed25519 key pair for signed testimonies and print its key id.")

    @Argument(help: "The private key file to create (PKCS#8 PEM, mode 0400).")
    var key: String

    @Option(name: .customLong("public"), help: "The public key file to create (default: KEY.pub).")
    var publicKey: String?

    func validate() throws {
        for path in [key, publicPath] where access(path, F_OK) == 0 {
            throw ValidationError("'\(path)' exists: keygen never overwrites a key")
        }
    }

    private var publicPath: String { publicKey ?? key + ".pub" }

    func run() throws {
        let pair = SigningKey.generate()
        try Self.create(key, pair.privatePEM, mode: 0o400)
        try Self.create(publicPath, pair.publicKey.pem, mode: 0o444)
        try FileHandleWriter.standardOutput(Array("keyid \(pair.publicKey.keyID)\n".utf8))
    }

    /// Writes a new file (never an existing one) with `mode`, synced.
    private static func create(_ path: String, _ text: String, mode: mode_t) throws(AgentError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentError.runtime("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { FileWrites.all(fd, $0) }
        guard written == bytes.count, fsync(fd) == 0, fchmod(fd, mode) == 0 else {
            throw AgentError.runtime("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

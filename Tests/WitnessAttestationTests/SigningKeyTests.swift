import Foundation
import Testing
import WitnessAttestation

/// The node's key: loaded only when it is an Ed25519 PKCS#8 key that others cannot
/// read or change, re-read on rotation, the replaced key still listed.
@Suite struct SigningKeyTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String, mode: mode_t) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: path)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
        return path
    }

    func openssl(_ arguments: String) throws -> String {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "openssl \(arguments) 2>/dev/null"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        shell.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test func theModesSecretVolumesGiveAreAcceptedAndOpenOnesRefused() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let pem = SigningKey.generate().privatePEM
        for mode: mode_t in [0o400, 0o440, 0o600, 0o640] {
            let path = try write("ok-\(String(mode, radix: 8))", pem, mode: mode)
            _ = try SigningKey.load(file: path)
        }
        for mode: mode_t in [0o444, 0o404, 0o604, 0o644, 0o620, 0o602, 0o660] {
            let path = try write("open-\(String(mode, radix: 8))", pem, mode: mode)
            #expect(throws: AttestationError.self, "mode \(String(mode, radix: 8))") {
                try SigningKey.load(file: path)
            }
        }
        // A Secret volume's file is a link into its current data: followed.
        let target = try write("target", pem, mode: 0o400)
        let link = directory.appendingPathComponent("link").path
        symlink(target, link)
        _ = try SigningKey.load(file: link)
    }

    @Test func whatIsNotAnEd25519PrivateKeyIsAOneLineError() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let rsa = try openssl("genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024")
        let ec = try openssl("genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256")
        let x25519 = try openssl("genpkey -algorithm x25519")
        let cases = [
            ("rsa", rsa), ("ec", ec), ("x25519", x25519), ("empty", ""), ("garbage", "hello\n"),
            ("public", SigningKey.generate().publicKey.pem),
            ("truncated", String(SigningKey.generate().privatePEM.dropLast(20))),
        ]
        for (name, text) in cases {
            let path = try write(name, text, mode: 0o400)
            do {
                _ = try SigningKey.load(file: path)
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description.contains(path) && !error.description.contains("\n"), "\(name)")
            }
        }
        // Nor is an X25519 public key an Ed25519 one, though the PEM reader takes it.
        let x25519Public = try openssl("pkey -in \(directory.path)/x25519 -pubout")
        #expect(x25519Public.contains("PUBLIC KEY"))
        #expect(throws: AttestationError.self) { try VerificationKey(pem: x25519Public) }
        #expect(throws: AttestationError.self) { try SigningKey.load(file: directory.path + "/missing") }
        #expect(throws: AttestationError.self) { try SigningKey.load(file: directory.path) }
    }

    @Test func anOpenSSLKeyLoadsAndItsPublicKeyIsTheSame() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let pem = try openssl("genpkey -algorithm ed25519")
        let path = try write("openssl.pem", pem, mode: 0o400)
        let key = try SigningKey.load(file: path)
        let publicPEM = try openssl("pkey -in \(path) -pubout")
        #expect(key.publicKey.pem == publicPEM)
    }

    @Test func aRotatedKeyFileSignsTheNextTestimonyAndTheOldKeyStaysListed() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = SigningKey.generate()
        let path = try write("key.pem", first.privatePEM, mode: 0o400)
        let rotating = try RotatingSigningKey(file: path)
        #expect(rotating.current.publicKey == first.publicKey)
        // A Secret rotation: new content under the same name, a new inode.
        let second = SigningKey.generate()
        _ = try write("key.pem", second.privatePEM, mode: 0o400)
        #expect(rotating.current.publicKey == second.publicKey)
        #expect(rotating.retired.map(\.key) == [first.publicKey])
        let envelope = try rotating.envelope(statement: Array("{}".utf8))
        #expect(envelope.signatures.first?.keyID == second.publicKey.keyID)
        // A replacement that cannot be used is never used: the last good key signs on.
        _ = try write("key.pem", "not a key\n", mode: 0o400)
        #expect(rotating.current.publicKey == second.publicKey)
        #expect(rotating.lastError?.contains(path) == true)
        _ = try write("key.pem", SigningKey.generate().privatePEM, mode: 0o644)
        #expect(rotating.current.publicKey == second.publicKey, "a key others can read is refused on rotation too")
        #expect(throws: AttestationError.self) { try RotatingSigningKey(file: directory.path + "/none") }
    }
}

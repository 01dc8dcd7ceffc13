import Crypto
import CryptoExtras
import Foundation
import Glibc
import WitnessCore

/// An Ed25519 private key from a PKCS#8 PEM file, with what verifiers are told of
/// it: the public key's PEM and its key id. The key id is the hex sha256 of exactly
/// those PEM bytes, so a controller that pinned the PEM computes the same id.
package struct SigningKey: Sendable {
    package let privateKey: Curve25519.Signing.PrivateKey
    package let publicKey: VerificationKey

    package init(_ privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        publicKey = VerificationKey(privateKey.publicKey)
    }

    /// A new random key (`witness-agent keygen`).
    package static func generate() -> SigningKey { SigningKey(Curve25519.Signing.PrivateKey()) }

    /// The private key as PKCS#8 PEM, newline-terminated.
    package var privatePEM: String { VerificationKey.terminated(privateKey.pemRepresentation) }

    /// Loads the key at `file`. Refused: a file others can read or anyone but its
    /// owner can write, or owned by another user than root or the agent's (the key
    /// is the node's word); the modes Kubernetes Secret volumes give (0400, 0440
    /// with an fsGroup) pass. Symbolic links are followed, as a Secret volume's files
    /// are links into its current data. One open: what is checked is what is read.
    package static func load(file: String) throws(AttestationError) -> SigningKey {
        let fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw AttestationError("cannot read signing key file \(file)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw AttestationError("signing key file \(file) is not a regular file")
        }
        if info.st_mode & 0o026 != 0 {
            throw AttestationError(
                "signing key file \(file) can be read or changed by other users (mode \(String(info.st_mode & 0o777, radix: 8))): make it 0400 or 0440"
            )
        }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw AttestationError("signing key file \(file) belongs to uid \(info.st_uid), not to root or the agent")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= 64 * 1024 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw AttestationError("cannot read signing key file \(file)") }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("-----BEGIN PRIVATE KEY-----") else {
            throw AttestationError(
                "signing key file \(file) holds no PKCS#8 private key PEM (make one with witness-agent keygen)")
        }
        // The PEM reader checks no algorithm: an X25519 key would load as a signing key.
        guard Ed25519PEM.names(.privateKey, text), let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: text)
        else {
            throw AttestationError(
                "signing key file \(file) is not an Ed25519 private key (make one with witness-agent keygen)")
        }
        return SigningKey(key)
    }

    /// Signs `statement` (an in-toto statement's JSON) into a DSSE envelope.
    package func envelope(statement: [UInt8]) throws(AttestationError) -> DSSEEnvelope {
        var envelope = DSSEEnvelope(payloadType: DSSEEnvelope.inTotoPayloadType, payload: statement, signatures: [])
        let signature: Data
        do {
            signature = try privateKey.signature(for: envelope.preAuthenticationEncoding)
        } catch {
            throw AttestationError("signing failed: \(error)")
        }
        envelope.signatures = [DSSEEnvelope.Signature(keyID: publicKey.keyID, bytes: Array(signature))]
        return envelope
    }
}

/// An Ed25519 public key as the node serves it (`/v1/identity`) and a verifier pins it.
package struct VerificationKey: Sendable, Equatable {
    package let key: Curve25519.Signing.PublicKey
    /// SubjectPublicKeyInfo PEM, newline-terminated: the bytes the key id hashes.
    package let pem: String
    /// Hex sha256 of `pem`'s bytes.
    package let keyID: String

    package init(_ key: Curve25519.Signing.PublicKey) {
        self.key = key
        pem = Self.terminated(key.pemRepresentation)
        keyID = Self.keyID(of: pem)
    }

    /// Reads a public key PEM (what `witness-agent keygen` writes and `/v1/identity` serves).
    package init(pem text: String) throws(AttestationError) {
        guard Ed25519PEM.names(.publicKey, text), let key = try? Curve25519.Signing.PublicKey(pemRepresentation: text)
        else { throw AttestationError("not an Ed25519 public key PEM") }
        self.init(key)
    }

    package static func == (lhs: VerificationKey, rhs: VerificationKey) -> Bool { lhs.pem == rhs.pem }

    /// The key id of a PEM text: hex sha256 of its bytes.
    package static func keyID(of pem: String) -> String {
        WitnessCore.SHA256.hex(of: pem)
    }

    /// Whether `signature` is this key's over `message`.
    package func accepts(_ signature: [UInt8], over message: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    static func terminated(_ pem: String) -> String { pem.hasSuffix("\n") ? pem : pem + "\n" }
}

/// Whether a PEM's DER names the Ed25519 algorithm (OID 1.3.101.112) where PKCS#8
/// (`PRIVATE KEY`) or SubjectPublicKeyInfo (`PUBLIC KEY`) puts it.
enum Ed25519PEM {
    enum Kind {
        case privateKey, publicKey
    }

    /// `SEQUENCE { OID 1.3.101.112 }`: the AlgorithmIdentifier, no parameters.
    private static let algorithm: [UInt8] = [0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70]

    static func names(_ kind: Kind, _ text: String) -> Bool {
        let label = kind == .privateKey ? "PRIVATE KEY" : "PUBLIC KEY"
        guard let begin = text.range(of: "-----BEGIN \(label)-----"),
            let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex),
            let der = Data(
                base64Encoded: String(text[begin.upperBound..<end.lowerBound]), options: .ignoreUnknownCharacters)
        else { return false }
        let bytes = Array(der)
        // PKCS#8: SEQUENCE, INTEGER version (0 or 1), then the algorithm; SPKI: SEQUENCE, then it.
        let offset = kind == .privateKey ? 5 : 2
        guard bytes.count > offset + algorithm.count, bytes[0] == 0x30, bytes[1] < 0x80 else { return false }
        if kind == .privateKey && bytes[2..<4] != [0x02, 0x01] { return false }
        return Array(bytes[offset..<(offset + algorithm.count)]) == algorithm
    }
}

import Crypto

/// SHA-256, streaming: what the runtime profile and the found scan name each
/// executable by, and what attestations name rules and subjects by. swift-crypto's
/// (BoringSSL, with the CPU's SHA instructions where it has them) measured 1,673
/// MB/s here against 258 MB/s for the pure-Swift digest it replaced
/// (`WitnessBench --sha256`), which is most of the time to hash a subject's programs.
/// No allocation per block; one context per hasher.
package struct SHA256 {
    private var state = Crypto.SHA256()

    package init() {}

    /// Feeds `bytes` into the digest; any chunking gives the same result.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        state.update(bufferPointer: bytes)
    }

    /// The 32-byte digest of everything fed so far; the hasher starts over.
    package mutating func finish() -> [UInt8] {
        let digest = Array(state.finalize())
        state = Crypto.SHA256()
        return digest
    }

    /// Lowercase hex of a digest.
    package static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Lowercase hex of the digest of `text`'s UTF-8 bytes (what attestations name
    /// rules, keys and testimonies by).
    package static func hex(of text: String) -> String {
        hex(hash(Array(text.utf8)))
    }

    /// The digest of `bytes` in one call.
    package static func hash(_ bytes: [UInt8]) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: bytes))
    }
}

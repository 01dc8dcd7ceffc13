/// SHA-256 (FIPS 180-4), streaming, in pure Swift.
///
/// The runtime profile names each executable by the sha256 of its content; a pure-Swift digest keeps a crypto
/// library (and its memory) off the agent. No heap allocation per block: the state and the partial block are
/// fixed-size stored tuples, and the message schedule lives in a temporary (stack) buffer per `update` call.
package struct SHA256 {
    /// The eight working hash words H0...H7 (FIPS 180-4 §5.3.3).
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    /// The partial block, 64 bytes.
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes held in `block`, 0..<64.
    private var buffered = 0
    /// Total message length in bytes.
    private var length: UInt64 = 0

    package init() {}

    /// Feeds `bytes` into the digest; any chunking gives the same result.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        length &+= UInt64(remaining)
        if buffered > 0 {
            let take = min(64 - buffered, remaining)
            let offset = buffered
            withUnsafeMutableBytes(of: &block) {
                $0.baseAddress!.advanced(by: offset).copyMemory(from: source, byteCount: take)
            }
            buffered += take
            source += take
            remaining -= take
            guard buffered == 64 else { return }
            let full = block
            withUnsafeBytes(of: full) { Self.compress(&state, $0.baseAddress!, blocks: 1) }
            buffered = 0
        }
        let whole = remaining / 64
        if whole > 0 {
            Self.compress(&state, source, blocks: whole)
            source += whole * 64
            remaining -= whole * 64
        }
        if remaining > 0 {
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: source, byteCount: remaining) }
            buffered = remaining
        }
    }

    /// Pads the message, returns the 32-byte digest and resets the hasher to its initial state.
    package mutating func finish() -> [UInt8] {
        let bitLength = length &* 8
        var padded = block
        var blocks = 1
        var tail = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &padded) { first in
            first[buffered] = 0x80
            for i in (buffered + 1)..<64 { first[i] = 0 }
            withUnsafeMutableBytes(of: &tail) { second in
                // The 0x80 byte and the 8-byte length must fit; otherwise the length goes in a second block.
                let last = buffered < 56 ? first : second
                if buffered >= 56 { blocks = 2 }
                last.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
            }
        }
        withUnsafeBytes(of: padded) { Self.compress(&state, $0.baseAddress!, blocks: 1) }
        if blocks == 2 { withUnsafeBytes(of: tail) { Self.compress(&state, $0.baseAddress!, blocks: 1) } }
        let words = state
        var digest = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: words) { raw in
            for i in 0..<8 {
                let word = raw.load(fromByteOffset: i * 4, as: UInt32.self)
                digest[i * 4] = UInt8(truncatingIfNeeded: word >> 24)
                digest[i * 4 + 1] = UInt8(truncatingIfNeeded: word >> 16)
                digest[i * 4 + 2] = UInt8(truncatingIfNeeded: word >> 8)
                digest[i * 4 + 3] = UInt8(truncatingIfNeeded: word)
            }
        }
        self = SHA256()
        return digest
    }

    /// Lowercase hex of `digest`.
    package static func hex(_ digest: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        var text = [UInt8]()
        text.reserveCapacity(digest.count * 2)
        digits.withUTF8Buffer { table in
            for byte in digest {
                text.append(table[Int(byte >> 4)])
                text.append(table[Int(byte & 0x0F)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The digest of `bytes` in one call.
    package static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }

    /// The round constants K0...K63 (FIPS 180-4 §4.2.2).
    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x >> n) | (x << (32 &- n))
    }

    /// Runs the compression function (FIPS 180-4 §6.2.2) over `blocks` consecutive 64-byte blocks at `data`.
    private static func compress(
        _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
        _ data: UnsafeRawPointer,
        blocks: Int
    ) {
        roundConstants.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var (h0, h1, h2, h3, h4, h5, h6, h7) = state
                var p = data
                for _ in 0..<blocks {
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        let x = w[t &- 15]
                        let y = w[t &- 2]
                        let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
                        let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
                        w[t] = s1 &+ w[t &- 7] &+ s0 &+ w[t &- 16]
                    }
                    var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                    for t in 0..<64 {
                        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                        let choose = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ choose &+ k[t] &+ w[t]
                        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ majority
                        h = g
                        g = f
                        f = e
                        e = d &+ t1
                        d = c
                        c = b
                        b = a
                        a = t1 &+ t2
                    }
                    h0 &+= a
                    h1 &+= b
                    h2 &+= c
                    h3 &+= d
                    h4 &+= e
                    h5 &+= f
                    h6 &+= g
                    h7 &+= h
                    p += 64
                }
                state = (h0, h1, h2, h3, h4, h5, h6, h7)
            }
        }
    }
}

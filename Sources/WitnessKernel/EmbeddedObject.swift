/// The compiled kernel object, embedded in the binary by BPFObjectPlugin as base64
/// and decoded once at startup (a few hundred KiB, well under a millisecond).
enum EmbeddedObject {
    static func bytes() -> [UInt8] {
        Base64.decode(embeddedBPFObjectBase64)
    }
}

/// A minimal standard-alphabet base64 decoder: enough for the embedded object, no
/// Foundation needed in the agent's startup path.
enum Base64 {
    static func decode(_ text: String) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(char)] = UInt8(index)
        }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for char in text.utf8 {
            let value = table[Int(char)]
            if value == 0xFF { continue }  // padding or whitespace
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}

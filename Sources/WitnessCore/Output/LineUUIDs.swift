/// The `uuid` of an alert or testimony line (Falcosidekick's field), so that a
/// receiver can drop the second copy of a line delivered twice: delivery is at least
/// once, and a line sent just before a crash is sent again after it.
///
/// Random version-4 UUIDs without a random draw per line: a random 122-bit base per
/// run, plus a counter. Distinct within a run by the counter, across runs and nodes
/// by the base; cheap enough for the alert path (no allocation, no syscall).
package struct LineUUIDs: Sendable {
    private let high: UInt64
    private let low: UInt64
    private var counter: UInt64 = 0

    package init() {
        var generator = SystemRandomNumberGenerator()
        high = generator.next()
        low = generator.next()
    }

    /// The next identifier, as a quoted JSON string.
    mutating func appendNext(to writer: inout JSONWriter) {
        counter &+= 1
        Self.append(high: high, low: low &+ counter, to: &writer)
    }

    /// A fresh random identifier (a testimony: one per window), unquoted.
    package static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var writer = JSONWriter(capacity: 40)
        append(high: generator.next(), low: generator.next(), to: &writer)
        return String(decoding: writer.bytes.dropFirst().dropLast(), as: UTF8.self)
    }

    /// `"xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"` with the version and variant bits set.
    private static func append(high: UInt64, low: UInt64, to writer: inout JSONWriter) {
        let versioned = (high & ~0xF000) | 0x4000
        let variant = (low & ~(0xC << 60)) | (0x8 << 60)
        let digits: StaticString = "0123456789abcdef"
        writer.byte(UInt8(ascii: "\""))
        for index in 0..<32 {
            if index == 8 || index == 12 || index == 16 || index == 20 { writer.byte(UInt8(ascii: "-")) }
            let word = index < 16 ? versioned : variant
            let nibble = Int((word >> UInt64(60 - 4 * (index % 16))) & 0xF)
            writer.byte(digits.withUTF8Buffer { $0[nibble] })
        }
        writer.byte(UInt8(ascii: "\""))
    }
}

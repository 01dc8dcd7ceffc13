/// Appends JSON to a reusable byte buffer without Foundation and without allocating
/// once the buffer has grown: the encoder of every alert and event line.
///
/// Strings from the kernel are untrusted bytes. Quotes, backslashes and control
/// characters are escaped; valid UTF-8 passes through; every byte that is not part
/// of a valid UTF-8 sequence becomes U+FFFD, one per byte. The output is always
/// valid JSON, whatever the input.
package struct JSONWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 64 * 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    package mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    /// `"key":` — keys are our own constants and need no escaping.
    @inline(__always)
    package mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func string(_ text: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        text.withUTF8Buffer { escaped($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    package mutating func string(_ value: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        escaped(UnsafeBufferPointer(start: value.baseAddress?.assumingMemoryBound(to: UInt8.self), count: value.count))
        bytes.append(UInt8(ascii: "\""))
    }

    package mutating func string(_ value: [UInt8]) {
        value.withUnsafeBytes { string($0) }
    }

    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        escaped(value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Escapes `text` into the buffer (no quotes); native strings are not copied.
    package mutating func escaped(_ text: String) {
        var copy = text
        copy.withUTF8 { escaped($0) }
    }

    package mutating func integer<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            decimal(UInt64(truncatingIfNeeded: 0 &- Int64(value)))
        } else {
            decimal(UInt64(value))
        }
    }

    /// `{"name":count,...}` in the order given.
    package mutating func counts<Count: BinaryInteger>(_ pairs: [(String, Count)]) {
        byte(UInt8(ascii: "{"))
        for (index, pair) in pairs.enumerated() {
            if index > 0 { byte(UInt8(ascii: ",")) }
            string(pair.0)
            byte(UInt8(ascii: ":"))
            integer(pair.1)
        }
        byte(UInt8(ascii: "}"))
    }

    package mutating func boolean(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Digits of `value` without a leading sign.
    mutating func decimal(_ value: UInt64) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            while rest > 0 {
                scratch[23 - count] = UInt8(ascii: "0") &+ UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            bytes.append(contentsOf: scratch[(24 - count)...])
        }
    }

    /// Zero-padded decimal of exactly `width` digits.
    package mutating func padded(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Escapes `input` into the buffer (no quotes). Validates UTF-8 as it goes.
    package mutating func escaped(_ input: UnsafeBufferPointer<UInt8>) {
        var index = 0
        let count = input.count
        while index < count {
            let lead = input[index]
            if lead >= 0x20 && lead < 0x80 {
                if lead == UInt8(ascii: "\"") || lead == UInt8(ascii: "\\") {
                    bytes.append(UInt8(ascii: "\\"))
                }
                bytes.append(lead)
                index += 1
                continue
            }
            if lead < 0x20 || lead == 0x7F {
                control(lead)
                index += 1
                continue
            }
            let length = Self.validSequenceLength(input, at: index)
            if length == 0 {
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD] as [UInt8])  // U+FFFD
                index += 1
            } else {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<index + length]))
                index += length
            }
        }
    }

    /// Escapes NUL-separated strings (an argument vector) joined by single spaces;
    /// trailing NULs are ignored.
    mutating func escapedJoined(_ input: UnsafeBufferPointer<UInt8>) {
        var end = input.count
        while end > 0 && input[end - 1] == 0 { end -= 1 }
        var start = 0
        for index in 0...end where index == end || input[index] == 0 {
            escaped(UnsafeBufferPointer(rebasing: input[start..<index]))
            if index < end { bytes.append(UInt8(ascii: " ")) }
            start = index + 1
        }
    }

    private mutating func control(_ value: UInt8) {
        switch value {
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        default:
            let hex: StaticString = "0123456789abcdef"
            raw("\\u00")
            hex.withUTF8Buffer { digits in
                bytes.append(digits[Int(value >> 4)])
                bytes.append(digits[Int(value & 0xF)])
            }
        }
    }

    /// Length of the well-formed UTF-8 sequence starting at `index` (2-4), or 0.
    /// Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629).
    static func validSequenceLength(_ input: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = input[index]
        let remaining = input.count - index
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            offset < remaining && input[index + offset] >= low && input[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}

/// Parses window durations as written on a command line or in an API request:
/// `60s`, `5m`, `1h30m`, `500ms`, or a bare number of seconds.
package enum DurationParser {
    /// Milliseconds in `text`.
    /// - Throws: `AgentError.usage` naming the text when it is not a positive duration.
    package static func milliseconds(_ text: String) throws(AgentError) -> Int {
        let bad = AgentError.usage(
            "bad duration '\(text)': use a positive number with a unit, like 60s, 5m, 1h or 500ms")
        if let seconds = Int(text) {
            guard seconds > 0 else { throw bad }
            return seconds * 1000
        }
        var total = 0
        var number = 0
        var digits = 0
        var units = Array(text.utf8)[...]
        guard !units.isEmpty else { throw bad }
        while let byte = units.first {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                guard digits < 9 else { throw bad }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                units = units.dropFirst()
                continue
            }
            guard digits > 0 else { throw bad }
            let unit: Int
            if units.starts(with: "ms".utf8) {
                unit = 1
                units = units.dropFirst(2)
            } else if byte == UInt8(ascii: "s") {
                unit = 1000
                units = units.dropFirst()
            } else if byte == UInt8(ascii: "m") {
                unit = 60_000
                units = units.dropFirst()
            } else if byte == UInt8(ascii: "h") {
                unit = 3_600_000
                units = units.dropFirst()
            } else {
                throw bad
            }
            total += number * unit
            number = 0
            digits = 0
        }
        guard digits == 0, total > 0 else { throw bad }
        return total
    }

    /// Bytes in a size such as `8M`, `256K`, `1G` or a plain number of bytes.
    package static func bytes(_ text: String) throws(AgentError) -> Int {
        let bad = AgentError.usage("bad size '\(text)': use a number of bytes or K, M, G (like 8M)")
        guard let last = text.last else { throw bad }
        var multiplier = 1
        var digits = Substring(text)
        switch last {
        case "K", "k": multiplier = 1 << 10
        case "M", "m": multiplier = 1 << 20
        case "G", "g": multiplier = 1 << 30
        default: break
        }
        if multiplier != 1 { digits = digits.dropLast() }
        guard let value = Int(digits), value > 0, value <= (1 << 40) / multiplier else { throw bad }
        return value * multiplier
    }
}

import Glibc

/// The string tests of Falco conditions on raw bytes: no String, no allocation.
enum ByteMatching {
    typealias Pattern = UnsafeBufferPointer<UInt8>

    static func equal(_ value: UnsafeRawBufferPointer, _ pattern: Pattern) -> Bool {
        value.count == pattern.count
            && (pattern.isEmpty || memcmp(value.baseAddress!, pattern.baseAddress!, pattern.count) == 0)
    }

    static func hasPrefix(_ value: UnsafeRawBufferPointer, _ prefix: Pattern) -> Bool {
        value.count >= prefix.count
            && (prefix.isEmpty || memcmp(value.baseAddress!, prefix.baseAddress!, prefix.count) == 0)
    }

    static func hasSuffix(_ value: UnsafeRawBufferPointer, _ suffix: Pattern) -> Bool {
        value.count >= suffix.count
            && (suffix.isEmpty
                || memcmp(value.baseAddress! + (value.count - suffix.count), suffix.baseAddress!, suffix.count) == 0)
    }

    static func contains(_ value: UnsafeRawBufferPointer, _ needle: Pattern, caseInsensitive: Bool = false) -> Bool {
        if needle.isEmpty { return true }
        guard value.count >= needle.count else { return false }
        for start in 0...(value.count - needle.count) {
            var index = 0
            while index < needle.count {
                let byte = caseInsensitive ? lower(value[start + index]) : value[start + index]
                if byte != needle[index] { break }
                index += 1
            }
            if index == needle.count { return true }
        }
        return false
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Falco's pmatch: `value` is `prefix` or lies below it as a path.
    static func pathMatch(_ value: UnsafeRawBufferPointer, _ prefix: Pattern) -> Bool {
        guard hasPrefix(value, prefix) else { return false }
        if value.count == prefix.count || prefix.last == UInt8(ascii: "/") { return true }
        return value[prefix.count] == UInt8(ascii: "/")
    }

    /// fnmatch(3)-style matching without FNM_PATHNAME (`*` crosses `/`, as in
    /// Falco's glob): `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\\x`. Iterative, with one
    /// backtracking point: linear in practice, never recursive on hostile input.
    static func glob(_ value: UnsafeRawBufferPointer, _ pattern: Pattern, caseInsensitive: Bool = false) -> Bool {
        var v = 0
        var p = 0
        var starP = -1
        var starV = 0
        while v < value.count {
            if p < pattern.count {
                let token = pattern[p]
                if token == UInt8(ascii: "*") {
                    starP = p
                    starV = v
                    p += 1
                    continue
                }
                let byte = caseInsensitive ? lower(value[v]) : value[v]
                if token == UInt8(ascii: "?") {
                    p += 1
                    v += 1
                    continue
                }
                if token == UInt8(ascii: "["),
                    let (matched, next) = classMatch(pattern, at: p, byte: byte, caseInsensitive)
                {
                    if matched {
                        p = next
                        v += 1
                        continue
                    }
                } else {
                    var literal = token
                    var next = p + 1
                    if token == UInt8(ascii: "\\"), p + 1 < pattern.count {
                        literal = pattern[p + 1]
                        next = p + 2
                    }
                    if (caseInsensitive ? lower(literal) : literal) == byte {
                        p = next
                        v += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starV += 1
            v = starV
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// A `[...]` class at `start`: whether `byte` is in it and where it ends; nil
    /// when the bracket is not closed (then it is a literal).
    private static func classMatch(
        _ pattern: Pattern, at start: Int, byte: UInt8, _ caseInsensitive: Bool
    )
        -> (Bool, Int)?
    {
        var index = start + 1
        var negate = false
        if index < pattern.count, pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^") {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.count {
            let low = pattern[index]
            if low == UInt8(ascii: "]") && !first { return (matched != negate, index + 1) }
            first = false
            if index + 2 < pattern.count, pattern[index + 1] == UInt8(ascii: "-"),
                pattern[index + 2] != UInt8(ascii: "]")
            {
                let high = pattern[index + 2]
                let candidate = caseInsensitive ? lower(byte) : byte
                if candidate >= (caseInsensitive ? lower(low) : low)
                    && candidate <= (caseInsensitive ? lower(high) : high)
                {
                    matched = true
                }
                index += 3
            } else {
                if (caseInsensitive ? lower(low) : low) == (caseInsensitive ? lower(byte) : byte) { matched = true }
                index += 1
            }
        }
        return nil
    }
}

/// The string tests of Falco conditions on raw bytes: no String, no allocation.
enum ByteMatching {
    static func equal(_ value: UnsafeRawBufferPointer, _ pattern: [UInt8]) -> Bool {
        value.count == pattern.count && pattern.withUnsafeBytes { value.elementsEqual($0) }
    }

    static func hasPrefix(_ value: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        value.count >= prefix.count && prefix.withUnsafeBytes { value.prefix(prefix.count).elementsEqual($0) }
    }

    static func hasSuffix(_ value: UnsafeRawBufferPointer, _ suffix: [UInt8]) -> Bool {
        value.count >= suffix.count && suffix.withUnsafeBytes { value.suffix(suffix.count).elementsEqual($0) }
    }

    static func contains(_ value: UnsafeRawBufferPointer, _ needle: [UInt8], caseInsensitive: Bool = false) -> Bool {
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
    static func pathMatch(_ value: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard hasPrefix(value, prefix) else { return false }
        if value.count == prefix.count || prefix.last == UInt8(ascii: "/") { return true }
        return value[prefix.count] == UInt8(ascii: "/")
    }

    /// fnmatch(3)-style matching without FNM_PATHNAME (`*` crosses `/`, as in
    /// Falco's glob): `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\\x`. Iterative, with one
    /// backtracking point: linear in practice, never recursive on hostile input.
    static func glob(_ value: UnsafeRawBufferPointer, _ pattern: [UInt8], caseInsensitive: Bool = false) -> Bool {
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
                if token == UInt8(ascii: "["), let (matched, next) = classMatch(pattern, at: p, byte: byte, caseInsensitive) {
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
    private static func classMatch(_ pattern: [UInt8], at start: Int, byte: UInt8, _ caseInsensitive: Bool)
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
            if index + 2 < pattern.count, pattern[index + 1] == UInt8(ascii: "-"), pattern[index + 2] != UInt8(ascii: "]") {
                let high = pattern[index + 2]
                let candidate = caseInsensitive ? lower(byte) : byte
                if candidate >= (caseInsensitive ? lower(low) : low) && candidate <= (caseInsensitive ? lower(high) : high) {
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

/// A set of byte strings answering membership for borrowed bytes without building
/// a key: an open hash table of FNV-1a hashes over the stored strings.
struct ByteStringSet {
    private var buckets: [[Int]]
    private(set) var items: [[UInt8]]

    init(_ items: [[UInt8]]) {
        var unique: [[UInt8]] = []
        for item in items where !unique.contains(item) { unique.append(item) }
        self.items = unique
        let size = max(8, (unique.count * 2).nextPowerOfTwo)
        buckets = Array(repeating: [], count: size)
        for (index, item) in unique.enumerated() {
            let hash = item.withUnsafeBytes { Self.hash($0) }
            buckets[Int(hash & UInt64(size - 1))].append(index)
        }
    }

    func contains(_ value: UnsafeRawBufferPointer) -> Bool {
        let bucket = buckets[Int(Self.hash(value) & UInt64(buckets.count - 1))]
        for index in bucket where ByteMatching.equal(value, items[index]) { return true }
        return false
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int {
        var value = 1
        while value < self { value <<= 1 }
        return value
    }
}

/// Writes socket addresses as Falco prints them: `1.2.3.4:80`, IPv6 in the RFC 5952
/// short form (`::1:443`, Falco does not bracket), a unix socket by its path.
package enum SocketAddressFormatter {
    /// `host:port` (or the path / family for non-IP addresses).
    package static func append(_ address: SocketAddress, to writer: inout JSONWriter) {
        switch address {
        case .ipv4, .ipv6:
            appendHost(address, to: &writer)
            writer.byte(UInt8(ascii: ":"))
            writer.integer(address.port ?? 0)
        case let .unix(path):
            unixName(path) { abstract, name in
                if abstract { writer.byte(UInt8(ascii: "@")) }
                writer.escaped(name)
            }
        case .unspecified:
            writer.raw("AF_UNSPEC")
        case let .other(family):
            writer.raw("family=")
            writer.integer(family)
        }
    }

    /// A unix socket's name as every output shows it: a path as it is; an abstract
    /// name (a NUL, then bytes) as `@name`, as ss(8) writes it, its NUL padding dropped.
    static func unixName(
        _ path: UnsafeRawBufferPointer, _ body: (_ abstract: Bool, _ name: UnsafeBufferPointer<UInt8>) -> Void
    ) {
        var bytes = UnsafeBufferPointer(start: path.baseAddress?.assumingMemoryBound(to: UInt8.self), count: path.count)
        guard bytes.first == 0 else { return body(false, bytes) }
        bytes = UnsafeBufferPointer(rebasing: bytes.dropFirst())
        while bytes.last == 0 { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        body(true, bytes)
    }

    /// The address alone, without port.
    package static func appendHost(_ address: SocketAddress, to writer: inout JSONWriter) {
        switch address {
        case let .ipv4(value, _):
            appendIPv4(value, to: &writer)
        case let .ipv6(high, low, _):
            appendIPv6(high: high, low: low, to: &writer)
        default:
            append(address, to: &writer)
        }
    }

    static func appendIPv4(_ value: UInt32, to writer: inout JSONWriter) {
        writer.decimal(UInt64(value >> 24))
        writer.byte(UInt8(ascii: "."))
        writer.decimal(UInt64(value >> 16 & 0xFF))
        writer.byte(UInt8(ascii: "."))
        writer.decimal(UInt64(value >> 8 & 0xFF))
        writer.byte(UInt8(ascii: "."))
        writer.decimal(UInt64(value & 0xFF))
    }

    static func appendIPv6(high: UInt64, low: UInt64, to writer: inout JSONWriter) {
        var groups: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &groups) { raw in
            let words = raw.bindMemory(to: UInt16.self)
            for index in 0..<4 {
                words[index] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * index))
                words[index + 4] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * index))
            }
        }
        withUnsafeBytes(of: groups) { raw in
            let words = raw.bindMemory(to: UInt16.self)
            // IPv4-mapped: ::ffff:a.b.c.d
            if high == 0, low >> 32 == 0xFFFF {
                writer.raw("::ffff:")
                appendIPv4(UInt32(truncatingIfNeeded: low), to: &writer)
                return
            }
            // The longest run of two or more zero groups becomes "::" (the first, on a tie).
            var bestStart = -1
            var bestLength = 1
            var index = 0
            while index < 8 {
                if words[index] == 0 {
                    var end = index
                    while end < 8 && words[end] == 0 { end += 1 }
                    if end - index > bestLength {
                        bestStart = index
                        bestLength = end - index
                    }
                    index = end
                } else {
                    index += 1
                }
            }
            index = 0
            while index < 8 {
                if index == bestStart {
                    writer.raw("::")
                    index += bestLength
                    continue
                }
                if index > 0 && index != bestStart + bestLength { writer.byte(UInt8(ascii: ":")) }
                appendHex(words[index], to: &writer)
                index += 1
            }
        }
    }

    private static func appendHex(_ value: UInt16, to writer: inout JSONWriter) {
        let digits: StaticString = "0123456789abcdef"
        var started = false
        digits.withUTF8Buffer { table in
            for shift in stride(from: 12, through: 0, by: -4) {
                let digit = Int(value >> UInt16(shift) & 0xF)
                if digit != 0 || started || shift == 0 {
                    writer.byte(table[digit])
                    started = true
                }
            }
        }
    }
}

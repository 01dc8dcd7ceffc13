/// A socket address as connect(2) received it, decoded from raw sockaddr bytes.
/// IPv6 addresses are kept as two integers so decoding never allocates.
package enum SocketAddress: Equatable {
    case ipv4(address: UInt32, port: UInt16)  // address in network byte order as read
    case ipv6(high: UInt64, low: UInt64, port: UInt16)  // bytes 0-7 and 8-15, big-endian
    case unix(path: UnsafeRawBufferPointer)
    case unspecified
    case other(family: UInt16)

    static let familyInet: UInt16 = 2
    static let familyInet6: UInt16 = 10
    static let familyUnix: UInt16 = 1
    static let familyUnspec: UInt16 = 0

    package static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        switch (lhs, rhs) {
        case let (.ipv4(a, p), .ipv4(b, q)): return a == b && p == q
        case let (.ipv6(a, b, p), .ipv6(c, d, q)): return a == c && b == d && p == q
        case let (.unix(a), .unix(b)): return a.elementsEqual(b)
        case (.unspecified, .unspecified): return true
        case let (.other(a), .other(b)): return a == b
        default: return false
        }
    }

    /// Decodes `bytes` (a struct sockaddr of `bytes.count` meaningful bytes).
    package init(sockaddr bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 2 else {
            self = .unspecified
            return
        }
        let family = bytes.loadUnaligned(as: UInt16.self)  // host order, as the kernel stores it
        switch family {
        case Self.familyInet where bytes.count >= 8:
            self = .ipv4(address: Self.bigEndian32(bytes, at: 4), port: Self.bigEndian16(bytes, at: 2))
        case Self.familyInet6 where bytes.count >= 24:
            self = .ipv6(
                high: Self.bigEndian64(bytes, at: 8), low: Self.bigEndian64(bytes, at: 16),
                port: Self.bigEndian16(bytes, at: 2))
        case Self.familyUnix:
            let path = UnsafeRawBufferPointer(rebasing: bytes[2...])
            // A pathname socket ends at its NUL; an abstract one starts with NUL and uses every byte.
            if let first = path.first, first != 0, let end = path.firstIndex(of: 0) {
                self = .unix(path: UnsafeRawBufferPointer(rebasing: path[..<end]))
            } else {
                self = .unix(path: path)
            }
        case Self.familyUnspec:
            self = .unspecified
        default:
            self = .other(family: family)
        }
    }

    /// An address from the kernel's view of the local end (`family` is 4 or 6).
    static func local(ipv6: Bool, bytes: UnsafeRawBufferPointer, port: UInt16) -> SocketAddress {
        if ipv6 {
            return .ipv6(high: bigEndian64(bytes, at: 0), low: bigEndian64(bytes, at: 8), port: port)
        }
        return .ipv4(address: bigEndian32(bytes, at: 0), port: port)
    }

    package var port: UInt16? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, _, let port): return port
        default: return nil
        }
    }

    /// Falco's fd.typechar: 4, 6, u, or o.
    var typeChar: StaticString {
        switch self {
        case .ipv4: return "4"
        case .ipv6: return "6"
        case .unix: return "u"
        default: return "o"
        }
    }

    private static func bigEndian16(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    private static func bigEndian32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    private static func bigEndian64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }
}

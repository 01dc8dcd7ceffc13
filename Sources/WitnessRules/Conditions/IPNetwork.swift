import Glibc
import WitnessCore

/// An IP network a rule names (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`), parsed once at
/// load: what fd.net, fd.snet, fd.cnet and fd.ip are compared with (Falco's CIDR
/// operands). A plain address is a network of one.
struct IPNetwork: Sendable, Hashable {
    private let isIPv6: Bool
    /// The address, big-endian: IPv4 in the low 32 bits of `low`; IPv6 in both.
    private let high: UInt64
    private let low: UInt64
    private let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let address = String(parts[0])
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            isIPv6 = false
            high = 0
            low = UInt64(UInt32(bigEndian: v4.s_addr))
            prefix = parts.count == 2 ? (Int(parts[1]) ?? -1) : 32
            guard (0...32).contains(prefix) else { return nil }
        } else if inet_pton(AF_INET6, address, &v6) == 1 {
            isIPv6 = true
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
            prefix = parts.count == 2 ? (Int(parts[1]) ?? -1) : 128
            guard (0...128).contains(prefix) else { return nil }
        } else {
            return nil
        }
    }

    /// Whether `address` (an IPv4 or IPv6 socket address) is in this network.
    func contains(_ address: SocketAddress) -> Bool {
        switch address {
        case let .ipv4(value, _):
            guard !isIPv6 else { return false }
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            return value & mask == UInt32(truncatingIfNeeded: low) & mask
        case let .ipv6(0, addressLow, port) where !isIPv6 && addressLow >> 32 == 0xFFFF:
            // An IPv4-mapped address (::ffff:a.b.c.d, a dual-stack socket's IPv4 peer)
            // is that IPv4 address: an IPv4 network holds it.
            return contains(.ipv4(address: UInt32(truncatingIfNeeded: addressLow), port: port))
        case let .ipv6(addressHigh, addressLow, _):
            guard isIPv6 else { return false }
            let highMask: UInt64 = prefix == 0 ? 0 : prefix >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - prefix)
            let lowMask: UInt64 = prefix <= 64 ? 0 : prefix == 128 ? ~0 : ~UInt64(0) << UInt64(128 - prefix)
            return addressHigh & highMask == high & highMask && addressLow & lowMask == low & lowMask
        default:
            return false
        }
    }
}

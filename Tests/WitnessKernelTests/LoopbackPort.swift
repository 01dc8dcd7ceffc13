import Foundation
import Synchronization

/// Ports for the tests' own servers on loopback. They are taken below the kernel's
/// ephemeral range, where no outgoing connection can hold one: a port picked there
/// may meanwhile be the source port of a client socket (or of a TCP self-connect to
/// a receiver that is still down), and a receiver started later then cannot bind.
/// Each port is handed out once per test process and checked free when handed out.
enum LoopbackPort {
    private static let handedOut = Mutex<Set<Int>>([])

    static func next() -> Int {
        let ceiling = ephemeralRangeStart() - 1
        return handedOut.withLock { taken in
            while true {
                let port = Int.random(in: 10_000...max(10_001, ceiling))
                if !taken.contains(port) && isFree(port) {
                    taken.insert(port)
                    return port
                }
            }
        }
    }

    /// The first port of `ip_local_port_range` (32768 by default).
    private static func ephemeralRangeStart() -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

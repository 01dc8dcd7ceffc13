/// The sockets of one network namespace, by inode, from /proc/PID/net/{tcp,tcp6,
/// udp,udp6,unix}: what a descriptor `socket:[inode]` is connected to or listens on.
/// Read once per namespace while a window's subject is scanned.
struct SocketTable {
    struct Entry {
        /// AF_INET, AF_INET6 or AF_UNIX.
        var family: UInt16
        /// IPPROTO_TCP or IPPROTO_UDP (0 for unix).
        var transport: UInt16
        var listening: Bool
        /// Connected to a peer (a TCP connection in any state but LISTEN and CLOSE, a connected UDP socket).
        var connected: Bool
        var localAddress: [UInt8]
        var localPort: UInt16
        var remoteAddress: [UInt8]
        var remotePort: UInt16
        /// A unix socket's bound name.
        var path: [UInt8]

        /// The peer as a sockaddr (a unix listener: its own bound name, as a listen record carries it).
        var remoteSockaddr: [UInt8] {
            switch family {
            case SocketAddress.familyInet:
                return le16(family) + be16(remotePort) + remoteAddress + [UInt8](repeating: 0, count: 8)
            case SocketAddress.familyInet6:
                return le16(family) + be16(remotePort) + [0, 0, 0, 0] + remoteAddress + [0, 0, 0, 0]
            default:
                return le16(family) + path + [0]
            }
        }

        private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
        private func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    }

    private(set) var entries: [UInt64: Entry] = [:]

    /// Reads the tables as the process or thread at `directory` sees them (its
    /// network namespace).
    init(directory: String) {
        let base = directory + "/net/"
        for (file, family, transport) in [
            ("tcp", SocketAddress.familyInet, UInt16(6)), ("tcp6", SocketAddress.familyInet6, 6),
            ("udp", SocketAddress.familyInet, 17), ("udp6", SocketAddress.familyInet6, 17),
        ] {
            readInet(base + file, family: family, transport: transport)
        }
        readUnix(base + "unix")
    }

    /// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`, addresses as
    /// hex words in host order, ports as hex.
    private mutating func readInet(_ path: String, family: UInt16, transport: UInt16) {
        guard let text = BoundedFile.read(path, limit: 16 << 20, regularOnly: true) else { return }
        for line in text.split(separator: 0x0A).dropFirst() {
            let fields = line.split(separator: 0x20)
            guard fields.count > 9, let state = UInt8(String(decoding: fields[3], as: UTF8.self), radix: 16),
                let inode = UInt64(String(decoding: fields[9], as: UTF8.self)), inode != 0,
                let local = Self.endpoint(fields[1]), let remote = Self.endpoint(fields[2])
            else { continue }
            let listening = transport == 6 && state == 0x0A
            let connected = transport == 6 ? state != 0x0A && state != 0x07 && remote.port != 0 : state == 0x01
            entries[inode] = Entry(
                family: family, transport: transport, listening: listening, connected: connected,
                localAddress: local.address, localPort: local.port, remoteAddress: remote.address,
                remotePort: remote.port, path: [])
        }
    }

    /// `Num RefCount Protocol Flags Type St Inode Path`; flag 0x10000 is a listener.
    private mutating func readUnix(_ path: String) {
        guard let text = BoundedFile.read(path, limit: 16 << 20, regularOnly: true) else { return }
        for line in text.split(separator: 0x0A).dropFirst() {
            let fields = line.split(separator: 0x20, maxSplits: 7)
            guard fields.count >= 7, let flags = UInt32(String(decoding: fields[3], as: UTF8.self), radix: 16),
                let inode = UInt64(String(decoding: fields[6], as: UTF8.self))
            else { continue }
            let name = fields.count > 7 ? Array(fields[7]) : []
            // The kernel prints a socket's name as it was bound, newlines too: a line
            // made up inside a name never replaces a socket the TCP or UDP tables hold.
            guard entries[inode] == nil, fields[0].last == UInt8(ascii: ":"), fields[0].count >= 9 else { continue }
            entries[inode] = Entry(
                family: SocketAddress.familyUnix, transport: 0, listening: flags & 0x10000 != 0, connected: false,
                localAddress: [], localPort: 0, remoteAddress: [], remotePort: 0, path: name)
        }
    }

    /// `0100007F:1F90` or 32 hex digits and a port: the address in network byte order.
    private static func endpoint(_ field: ArraySlice<UInt8>) -> (address: [UInt8], port: UInt16)? {
        let parts = field.split(separator: UInt8(ascii: ":"))
        guard parts.count == 2, let port = UInt16(String(decoding: parts[1], as: UTF8.self), radix: 16) else {
            return nil
        }
        let hex = Array(parts[0])
        guard hex.count == 8 || hex.count == 32 else { return nil }
        var address: [UInt8] = []
        for word in stride(from: 0, to: hex.count, by: 8) {
            guard let value = UInt32(String(decoding: hex[word..<word + 8], as: UTF8.self), radix: 16) else {
                return nil
            }
            withUnsafeBytes(of: value.littleEndian) { address.append(contentsOf: $0) }
        }
        return (address, port)
    }
}

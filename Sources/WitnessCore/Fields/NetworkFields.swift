/// fd.* of sockets: ends, addresses, ports, networks, names and transport.
extension ResolvedEvent {
    func networkValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
        case .fdSockfamily:
            guard case let .connect(_, remote, _, _) = payload else { return .none }
            switch remote {
            case .ipv4, .ipv6: return .text("ip")
            case .unix: return .text("unix")
            default: return .none
            }
        case .fdPort:
            // In outputs the server's port; a condition tests either (Predicate).
            return value(FieldRef(id: .fdSport))
        case .fdConnected:
            guard case .connect = payload else { return .none }
            return .boolean(header.result == 0)
        case .fdLport, .fdRport, .fdLip, .fdRip:
            guard case let .connect(_, remote, local, _) = payload else { return .none }
            let end = field.id == .fdLport || field.id == .fdLip ? local : remote
            guard let end, let port = end.port else { return .none }
            if field.id == .fdLport || field.id == .fdRport { return .number(Int64(port)) }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return borrow(address.bytes[...])
        case .fdSipName, .fdCipName, .fdRipName, .fdLipName:
            return .none  // a condition compares names; Witness keeps no reverse map to print one
        case .fdIp, .fdNet, .fdSnet, .fdCnet, .fdRnet, .fdLnet:
            // In outputs: the server end's address (the client's for fd.cnet).
            let ends = endpoints(field.id)
            guard let end = ends.server ?? ends.client else { return .none }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return borrow(address.bytes[...])
        case .fdSip, .fdSport, .fdCip, .fdCport:
            guard case let .connect(_, remote, local, _) = payload else { return .none }
            let server = field.id == .fdSip || field.id == .fdSport
            // A listener is the server: its own end is the server's.
            let serverEnd = header.syscall == .listen && local != nil ? local : remote
            guard let end = server ? serverEnd : local, let port = end.port else { return .none }
            if field.id == .fdSport || field.id == .fdCport { return .number(Int64(port)) }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return borrow(address.bytes[...])
        case .fdL4proto:
            guard case let .connect(_, _, _, transport) = payload, let name = transport.name else { return .none }
            return .text(name)
        default: return .none
        }
    }
}

import WitnessCore

/// The runtime-trace predicate's `monitorLog`, from the window's runtime profile:
/// programs by path and content digest, endpoints (`ip`, `port`, `protocol` as the
/// predicate's v0.2 recommends, plus what Witness knows: the direction and how a
/// connect ended), and files as ResourceDescriptors (`uri`, the access in an
/// annotation). Digests are where Witness has them: programs, not data files.
enum MonitorLog {
    static func append(_ profile: RuntimeProfile?, to writer: inout JSONWriter) {
        let profile = profile ?? RuntimeProfile()
        writer.raw("{\"process\":[")
        for (index, executable) in profile.executables.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.raw("{\"processBinary\":")
            writer.string(executable.path)
            if let sha256 = executable.sha256 {
                writer.raw(",\"digest\":{\"sha256\":")
                writer.string(sha256)
                writer.raw("}")
            }
            writer.raw(",\"count\":")
            writer.integer(executable.count)
            if let parent = executable.parent {
                writer.raw(",\"parent\":")
                writer.string(parent)
            }
            writer.raw("}")
        }
        writer.raw("],\"network\":[")
        var first = true
        for connection in profile.connections {
            separate(&first, &writer)
            appendEndpoint(connection.family, connection.address, connection.port, connection.transport, to: &writer)
            writer.raw(",\"direction\":\"connect\",\"result\":")
            writer.string(connection.result)
            writer.raw(",\"count\":")
            writer.integer(connection.count)
            writer.raw("}")
        }
        for listener in profile.listening {
            separate(&first, &writer)
            appendEndpoint(listener.family, listener.address, listener.port, listener.transport, to: &writer)
            writer.raw(",\"direction\":\"listen\"}")
        }
        writer.raw("],\"fileAccess\":[")
        first = true
        for (access, paths) in [("read", profile.filesRead), ("write", profile.filesWritten)] {
            for path in paths {
                separate(&first, &writer)
                writer.raw("{\"uri\":")
                writer.string(ResourceURI.file(path))
                writer.raw(",\"annotations\":{\"access\":")
                writer.string(access)
                writer.raw("}}")
            }
        }
        writer.raw("]}")
    }

    /// `{"ip":..,"port":..,"protocol":..,"family":..` (left open); a unix socket's
    /// path goes in `path`, with neither ip nor port.
    private static func appendEndpoint(
        _ family: String, _ address: String, _ port: UInt16, _ transport: String, to writer: inout JSONWriter
    ) {
        writer.raw("{\"family\":")
        writer.string(family)
        if family == "ipv4" || family == "ipv6" {
            writer.raw(",\"ip\":")
            writer.string(address)
            if port != 0 {
                writer.raw(",\"port\":")
                writer.integer(port)
            }
        } else {
            writer.raw(",\"path\":")
            writer.string(address)
        }
        if !transport.isEmpty {
            writer.raw(",\"protocol\":")
            writer.string(transport)
        }
    }

    private static func separate(_ first: inout Bool, _ writer: inout JSONWriter) {
        if !first { writer.byte(UInt8(ascii: ",")) }
        first = false
    }
}

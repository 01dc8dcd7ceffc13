import Glibc

/// This host's name, as alert lines carry it in `hostname` (Falco's field).
package enum HostName {
    package static func current() -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return Array("unknown".utf8) }
        return buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
    }
}

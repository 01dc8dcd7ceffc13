/// Linux capability names, for thread.cap_effective (space-separated, as Falco prints them)
/// and the profile's capabilities gained.
package enum Capabilities {
    package static let names: [StaticString] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    package static func append(_ set: UInt64, to writer: inout JSONWriter) {
        var first = true
        for (bit, name) in names.enumerated() where set & (1 << UInt64(bit)) != 0 {
            if !first { writer.byte(UInt8(ascii: " ")) }
            writer.raw(name)
            first = false
        }
    }
}

extension Capabilities {
    /// The names of the bits set in `set`, lowest first (`CAP_<bit>` past the known ones).
    package static func list(_ set: UInt64) -> [String] {
        (0..<64).compactMap { bit in
            guard set & (1 << UInt64(bit)) != 0 else { return nil }
            return bit < names.count ? "\(names[bit])" : "CAP_\(bit)"
        }
    }
}

/// Renders open(2) flags and modes the way Falco prints `evt.arg.flags`
/// (`O_RDONLY|O_CLOEXEC`) and answers the questions rules ask of them.
package enum OpenFlags {
    // Linux generic values (x86_64, arm64 and most others share them).
    static let writeOnly: UInt32 = 0o1
    static let readWrite: UInt32 = 0o2
    static let accessMask: UInt32 = 0o3
    package static let create: UInt32 = 0o100
    package static let truncate: UInt32 = 0o1000

    /// Composite flags first, so O_SYNC is not shown as O_DSYNC nor O_TMPFILE as O_DIRECTORY.
    private static let names: [(UInt32, StaticString)] = [
        (0o4010000, "O_SYNC"), (0o20200000, "O_TMPFILE"), (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"),
        (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
    ]

    /// An O_PATH descriptor reads nothing: it only names the file.
    package static func isRead(_ flags: UInt32) -> Bool {
        flags & accessMask != writeOnly && flags & 0o10000000 == 0
    }

    /// Whether an open with `flags` can change the file: opened for writing, created,
    /// or truncated (O_TRUNC empties a file even opened read-only).
    static func modifies(_ flags: UInt32) -> Bool {
        isWrite(flags) || flags & (create | truncate) != 0
    }

    package static func isWrite(_ flags: UInt32) -> Bool {
        flags & accessMask == writeOnly || flags & accessMask == readWrite
    }

    /// Appends the symbolic form of `flags` (no quotes).
    package static func append(_ flags: UInt32, to writer: inout JSONWriter) {
        switch flags & accessMask {
        case writeOnly: writer.raw("O_WRONLY")
        case readWrite: writer.raw("O_RDWR")
        default: writer.raw("O_RDONLY")
        }
        var remaining = flags & ~accessMask
        for (bits, name) in names where remaining & bits == bits {
            writer.byte(UInt8(ascii: "|"))
            writer.raw(name)
            remaining &= ~bits
        }
    }
}

/// Renders the arguments of generic syscalls as Falco prints them: paths joined
/// with their directory, ptrace requests and namespace flags by name, file modes
/// as octal with their bits named (`04755(S_ISUID|S_IRUSR|...)`), the rest as
/// decimal numbers.
package enum SyscallFormatter {
    /// Argument `index` of `record` (a JSON string body).
    static func appendArgument(
        _ syscall: Syscall, _ shape: SyscallShape, _ record: SyscallRecord, _ index: Int, to writer: inout JSONWriter
    ) {
        if shape.path?.index == index {
            appendPath(record.path, record.directory, shape.path!.directory, to: &writer)
            return
        }
        if shape.path2?.index == index {
            appendPath(record.path2, record.directory2, shape.path2!.directory, to: &writer)
            return
        }
        let value = record.argument(index)
        let name = shape.arguments[index]
        switch (syscall, name) {
        case (.ptrace, "request"):
            if let request = ptraceRequests.first(where: { $0.0 == value }) {
                writer.raw(request.1)
            } else {
                writer.integer(value)
            }
        case (.unshare, "flags"), (.setns, "nstype"):
            appendFlags(UInt64(truncatingIfNeeded: value), namespaceFlags, to: &writer)
        case (_, "mode") where syscall == .chmod || syscall == .fchmod || syscall == .fchmodat:
            appendMode(UInt32(truncatingIfNeeded: value), to: &writer)
        default:
            writer.integer(value)
        }
    }

    private static func appendPath(
        _ path: UnsafeRawBufferPointer, _ directory: UnsafeRawBufferPointer, _ kind: SyscallShape.Directory,
        to writer: inout JSONWriter
    ) {
        if kind == .asIs {
            writer.escaped(
                UnsafeBufferPointer(start: path.baseAddress?.assumingMemoryBound(to: UInt8.self), count: path.count))
        } else {
            PathResolver.appendJoined(directory: directory, path: path, to: &writer)
        }
    }

    /// A one-line summary for `output` and the text format: the paths, else the arguments.
    static func appendSummary(_ syscall: Syscall, _ record: SyscallRecord, to writer: inout JSONWriter) {
        guard let shape = SyscallTable.shape(of: syscall) else { return }
        if let path = shape.path {
            appendPath(record.path, record.directory, path.directory, to: &writer)
            if let second = shape.path2 {
                writer.raw(" -> ")
                appendPath(record.path2, record.directory2, second.directory, to: &writer)
            }
            return
        }
        for index in shape.arguments.indices {
            if index > 0 { writer.byte(UInt8(ascii: " ")) }
            writer.escaped(shape.arguments[index])
            writer.byte(UInt8(ascii: "="))
            appendArgument(syscall, shape, record, index, to: &writer)
        }
    }

    static func appendFlags(_ value: UInt64, _ names: [(UInt64, StaticString)], to writer: inout JSONWriter) {
        var first = true
        var rest = value
        for (bit, name) in names where value & bit == bit && bit != 0 {
            if !first { writer.byte(UInt8(ascii: "|")) }
            writer.raw(name)
            first = false
            rest &= ~bit
        }
        if rest != 0 || first {
            if !first { writer.byte(UInt8(ascii: "|")) }
            writer.integer(Int64(bitPattern: rest))
        }
    }

    /// `04755(S_ISUID|S_IRWXU...)`: the permission bits in octal, then by name.
    static func appendMode(_ mode: UInt32, to writer: inout JSONWriter) {
        let bits = mode & 0o7777
        writer.byte(UInt8(ascii: "0"))
        for shift in stride(from: 9, through: 0, by: -3) where shift < 9 || bits >> 9 != 0 {
            writer.byte(UInt8(ascii: "0") + UInt8(bits >> UInt32(shift) & 7))
        }
        writer.byte(UInt8(ascii: "("))
        appendFlags(UInt64(mode & 0o7777), modeBits, to: &writer)
        writer.byte(UInt8(ascii: ")"))
    }

    static let modeBits: [(UInt64, StaticString)] = [
        (0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX"), (0o400, "S_IRUSR"), (0o200, "S_IWUSR"),
        (0o100, "S_IXUSR"), (0o40, "S_IRGRP"), (0o20, "S_IWGRP"), (0o10, "S_IXGRP"), (0o4, "S_IROTH"),
        (0o2, "S_IWOTH"), (0o1, "S_IXOTH"),
    ]

    /// clone/clone3 flags: the namespace flags and the sharing flags by name, the
    /// exit signal (low byte) left out.
    package static func appendCloneFlags(_ flags: UInt64, to writer: inout JSONWriter) {
        appendFlags(flags & ~0xFF, cloneFlags, to: &writer)
    }

    /// Every CLONE_NEW* flag (bit 31 is CLONE_IO, not a namespace).
    static let namespaceMask: UInt64 = 0x7E02_0080

    static let cloneFlags: [(UInt64, StaticString)] =
        namespaceFlags + [
            (0x0000_0100, "CLONE_VM"), (0x0000_1000, "CLONE_PIDFD"), (0x0000_2000, "CLONE_PTRACE"),
            (0x0000_4000, "CLONE_VFORK"), (0x0000_8000, "CLONE_PARENT"), (0x0001_0000, "CLONE_THREAD"),
            (0x0008_0000, "CLONE_SETTLS"), (0x0010_0000, "CLONE_PARENT_SETTID"), (0x0020_0000, "CLONE_CHILD_CLEARTID"),
            (0x0080_0000, "CLONE_UNTRACED"), (0x0100_0000, "CLONE_CHILD_SETTID"), (0x8000_0000, "CLONE_IO"),
            (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"), (0x2_0000_0000, "CLONE_INTO_CGROUP"),
        ]

    static let namespaceFlags: [(UInt64, StaticString)] = [
        (0x0002_0000, "CLONE_NEWNS"), (0x0200_0000, "CLONE_NEWCGROUP"), (0x0400_0000, "CLONE_NEWUTS"),
        (0x0800_0000, "CLONE_NEWIPC"), (0x1000_0000, "CLONE_NEWUSER"), (0x2000_0000, "CLONE_NEWPID"),
        (0x4000_0000, "CLONE_NEWNET"), (0x0000_0080, "CLONE_NEWTIME"), (0x0000_0200, "CLONE_FS"),
        (0x0000_0400, "CLONE_FILES"), (0x0000_0800, "CLONE_SIGHAND"), (0x0004_0000, "CLONE_SYSVSEM"),
    ]

    static let ptraceRequests: [(Int64, StaticString)] = [
        (0, "PTRACE_TRACEME"), (1, "PTRACE_PEEKTEXT"), (2, "PTRACE_PEEKDATA"), (3, "PTRACE_PEEKUSR"),
        (4, "PTRACE_POKETEXT"), (5, "PTRACE_POKEDATA"), (6, "PTRACE_POKEUSR"), (7, "PTRACE_CONT"), (8, "PTRACE_KILL"),
        (9, "PTRACE_SINGLESTEP"), (12, "PTRACE_GETREGS"), (13, "PTRACE_SETREGS"), (14, "PTRACE_GETFPREGS"),
        (15, "PTRACE_SETFPREGS"), (16, "PTRACE_ATTACH"), (17, "PTRACE_DETACH"), (24, "PTRACE_SYSCALL"),
        (0x4200, "PTRACE_SETOPTIONS"), (0x4204, "PTRACE_GETREGSET"), (0x4205, "PTRACE_SETREGSET"),
        (0x4206, "PTRACE_SEIZE"), (0x4207, "PTRACE_INTERRUPT"),
    ]
}

import CBPF

/// The generic syscalls Witness attaches to, and what their arguments are: the one
/// place a syscall is added. The probe packs each row into the BPF cookie of its
/// attachment; the decoder, encoders and rules name arguments from it (Falco's
/// `evt.arg.<name>`).
public struct SyscallShape: Sendable {
    /// How a path argument's directory is found.
    public enum Directory: Sendable, Equatable {
        /// Relative to the working directory.
        case workingDirectory
        /// Relative to the dirfd in this argument.
        case argument(Int)
        /// Not a path on disk to resolve (a symlink target, a memfd name).
        case asIs
    }

    public struct PathArgument: Sendable {
        public var index: Int
        public var directory: Directory
    }

    public var syscall: Syscall
    /// The tracepoint suffix: sys_enter_<name> / sys_exit_<name>.
    public var tracepoint: String
    /// Argument names, in order, as Falco's evt.arg.<name>.
    public var arguments: [String]
    public var path: PathArgument?
    public var path2: PathArgument?
    /// An argument holding a descriptor whose socket family is reported (dup2, dup3).
    public var socketArgument: Int?

    /// The 64-bit cookie (layout in bpf/witness_event.h).
    public var cookie: UInt64 {
        func directory(_ path: PathArgument?) -> UInt64 {
            switch path?.directory {
            case .workingDirectory?: return UInt64(WITNESS_ARG_CWD)
            case .argument(let index)?: return UInt64(index)
            default: return UInt64(WITNESS_ARG_NONE)
            }
        }
        let none = UInt64(WITNESS_ARG_NONE)
        return UInt64(syscall.rawValue) | (path.map { UInt64($0.index) } ?? none) << 16 | directory(path) << 24
            | (path2.map { UInt64($0.index) } ?? none) << 32 | directory(path2) << 40
            | (socketArgument.map(UInt64.init) ?? none) << 48
    }

    /// Index of argument `name`, or nil.
    public func index(of name: String) -> Int? {
        arguments.firstIndex(of: name)
    }

    /// Whether argument `index` is one of the paths (then its value is text).
    public func isPath(_ index: Int) -> Bool {
        path?.index == index || path2?.index == index
    }
}

public enum SyscallTable {
    private static func shape(
        _ syscall: Syscall, _ arguments: [String], path: (Int, SyscallShape.Directory)? = nil,
        path2: (Int, SyscallShape.Directory)? = nil, socket: Int? = nil
    ) -> SyscallShape {
        SyscallShape(
            syscall: syscall, tracepoint: "\(syscall.eventType)", arguments: arguments,
            path: path.map { SyscallShape.PathArgument(index: $0.0, directory: $0.1) },
            path2: path2.map { SyscallShape.PathArgument(index: $0.0, directory: $0.1) }, socketArgument: socket)
    }

    public static let shapes: [SyscallShape] = [
        shape(.ptrace, ["request", "pid", "addr", "data"]),
        shape(.initModule, ["umod", "len", "uargs"]),
        shape(.finitModule, ["fd", "uargs", "flags"]),
        shape(.mount, ["dev", "dir", "type", "flags", "data"], path: (0, .workingDirectory), path2: (1, .workingDirectory)),
        shape(.umount2, ["name", "flags"], path: (0, .workingDirectory)),
        shape(.unshare, ["flags"]),
        shape(.setns, ["fd", "nstype"]),
        shape(.chmod, ["filename", "mode"], path: (0, .workingDirectory)),
        shape(.fchmod, ["fd", "mode"]),
        shape(.fchmodat, ["dirfd", "filename", "mode"], path: (1, .argument(0))),
        shape(.unlink, ["path"], path: (0, .workingDirectory)),
        shape(.unlinkat, ["dirfd", "name", "flags"], path: (1, .argument(0))),
        shape(.rename, ["oldpath", "newpath"], path: (0, .workingDirectory), path2: (1, .workingDirectory)),
        shape(.renameat, ["olddirfd", "oldpath", "newdirfd", "newpath"], path: (1, .argument(0)), path2: (3, .argument(2))),
        shape(
            .renameat2, ["olddirfd", "oldpath", "newdirfd", "newpath", "flags"], path: (1, .argument(0)),
            path2: (3, .argument(2))),
        shape(.link, ["oldpath", "newpath"], path: (0, .workingDirectory), path2: (1, .workingDirectory)),
        shape(
            .linkat, ["olddirfd", "oldpath", "newdirfd", "newpath", "flags"], path: (1, .argument(0)),
            path2: (3, .argument(2))),
        shape(.symlink, ["target", "linkpath"], path: (0, .asIs), path2: (1, .workingDirectory)),
        shape(.symlinkat, ["target", "linkdirfd", "linkpath"], path: (0, .asIs), path2: (2, .argument(1))),
        shape(.memfdCreate, ["name", "flags"], path: (0, .asIs)),
        shape(.setuid, ["uid"]),
        shape(.setgid, ["gid"]),
        shape(.setreuid, ["ruid", "euid"]),
        shape(.setregid, ["rgid", "egid"]),
        shape(.setresuid, ["ruid", "euid", "suid"]),
        shape(.setresgid, ["rgid", "egid", "sgid"]),
        shape(.dup2, ["oldfd", "newfd"], socket: 0),
        shape(.dup3, ["oldfd", "newfd", "flags"], socket: 0),
    ]

    private static let bySyscall: [SyscallShape?] = {
        var table = [SyscallShape?](repeating: nil, count: Syscall.allCases.count)
        for shape in shapes { table[Int(shape.syscall.rawValue)] = shape }
        return table
    }()

    /// The shape of `syscall`, nil for the ones with their own event kinds.
    public static func shape(of syscall: Syscall) -> SyscallShape? {
        bySyscall[Int(syscall.rawValue)]
    }
}

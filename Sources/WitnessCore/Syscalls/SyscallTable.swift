import CBPF

/// How one syscall is reported, and what its arguments are: the one place a syscall
/// is added. The probe writes each row into the kernel's shapes map for the
/// syscall's number in every table where it exists (layout in bpf/witness_event.h);
/// the decoder, encoders and rules name arguments from it (Falco's `evt.arg.<name>`).
package struct SyscallShape: Sendable {
    /// What the kernel program does with the syscall (`enum witness_handler`).
    package enum Handler: UInt8, Sendable {
        /// A generic syscall record: arguments as numbers, paths as the row says.
        case generic = 1
        /// An open record (open, openat, openat2, creat).
        case open = 2
        /// A connect record.
        case connect = 3
        /// A failed exec (a successful one comes from sched_process_exec).
        case exec = 4
        /// A failed clone, fork or vfork (a successful one comes from sched_process_fork).
        case clone = 5
        /// sendto/sendmsg with MSG_FASTOPEN: a connect record.
        case fastOpen = 6
        /// ia32 socketcall(2): SYS_CONNECT as a connect record.
        case socketcall = 7
        /// exit, exit_group: counted in the profile when the thread exits.
        case exit = 8
        /// mmap: a generic record, only for an executable mapping of a file.
        case mmap = 9
        /// mprotect: a generic record naming the file whose mapping became executable.
        case mprotect = 10
        /// A listen that succeeded: a connect record with only the local end.
        case listen = 11
    }

    /// How a path argument's directory is found.
    package enum Directory: Sendable, Equatable {
        /// Relative to the working directory.
        case workingDirectory
        /// Relative to the dirfd in this argument.
        case argument(Int)
        /// Not a path on disk to resolve (a symlink target, a memfd name).
        case asIs
        /// The argument is a descriptor: the kernel writes the path of its file.
        case descriptor
        /// prctl: the argument is a name when the option is PR_SET_NAME.
        case prctlName
    }

    package struct PathArgument: Sendable {
        package var index: Int
        package var directory: Directory
    }

    package var syscall: Syscall
    package var handler: Handler
    /// The kernel's names for it, in any table (the ia32 table has `setuid32` beside `setuid`).
    package var kernelNames: [String]
    /// Argument names, in order, as Falco's evt.arg.<name> (generic records only).
    package var arguments: [String]
    package var path: PathArgument?
    package var path2: PathArgument?
    /// An argument holding a descriptor whose file the kernel describes: its socket
    /// family (dup2, dup3) and its identity, device and inode (ftruncate, mmap).
    var socketArgument: Int?
    /// Bytes 2 to 5 of the shape for handlers that read them their own way.
    var handlerBytes: [UInt8]?

    /// The 64-bit shape (layout in bpf/witness_event.h).
    package var shape: UInt64 {
        let none = UInt64(WITNESS_ARG_NONE)
        var bytes2to5: UInt64
        if let handlerBytes {
            bytes2to5 = 0
            for (offset, byte) in handlerBytes.enumerated() { bytes2to5 |= UInt64(byte) << UInt64(8 * offset) }
        } else {
            func directory(_ path: PathArgument?) -> UInt64 {
                switch path?.directory {
                case .workingDirectory?: return UInt64(WITNESS_ARG_CWD)
                case .argument(let index)?: return UInt64(index)
                case .descriptor?: return UInt64(WITNESS_ARG_FD)
                case .prctlName?: return UInt64(WITNESS_ARG_PRCTL_NAME)
                default: return none
                }
            }
            bytes2to5 =
                (path.map { UInt64($0.index) } ?? none) | directory(path) << 8
                | (path2.map { UInt64($0.index) } ?? none) << 16 | directory(path2) << 24
        }
        return UInt64(syscall.rawValue) | bytes2to5 << 16 | (socketArgument.map(UInt64.init) ?? none) << 48
            | UInt64(handler.rawValue) << 56
    }

    /// Whether some syscall table of this architecture has it (the ia32 `socketcall`
    /// exists only there; a row the build's headers do not know is reported nowhere).
    package var existsHere: Bool {
        kernelNames.contains { name in
            SyscallNumbers.Table.allCases.contains { SyscallNumbers.number(of: name, in: $0) != nil }
        }
    }

    /// Index of argument `name`, or nil.
    package func index(of name: String) -> Int? {
        arguments.firstIndex(of: name)
    }

    /// Whether argument `index` is shown as a path (then its value is text).
    package func isPath(_ index: Int) -> Bool {
        (path?.index == index && path?.directory != .descriptor) || path2?.index == index
    }
}

package enum SyscallTable {
    private static func shape(
        _ syscall: Syscall, _ arguments: [String], path: (Int, SyscallShape.Directory)? = nil,
        path2: (Int, SyscallShape.Directory)? = nil, socket: Int? = nil, alsoNamed: [String] = []
    ) -> SyscallShape {
        SyscallShape(
            syscall: syscall, handler: .generic, kernelNames: ["\(syscall.eventType)"] + alsoNamed,
            arguments: arguments,
            path: path.map { SyscallShape.PathArgument(index: $0.0, directory: $0.1) },
            path2: path2.map { SyscallShape.PathArgument(index: $0.0, directory: $0.1) }, socketArgument: socket)
    }

    /// A row whose handler reads shape bytes 2-5 its own way.
    private static func special(
        _ syscall: Syscall, _ handler: SyscallShape.Handler, _ names: [String], _ bytes: [UInt8] = []
    ) -> SyscallShape {
        let none = UInt8(WITNESS_ARG_NONE)
        return SyscallShape(
            syscall: syscall, handler: handler, kernelNames: names, arguments: [],
            handlerBytes: bytes + [UInt8](repeating: none, count: 4 - bytes.count))
    }

    private static let cwd = UInt8(WITNESS_ARG_CWD)

    private static var executableMapping: SyscallShape {
        var row = shape(
            .mmap, ["addr", "length", "prot", "flags", "fd", "offset"], path: (4, .descriptor), socket: 4,
            alsoNamed: ["mmap2"])
        row.handler = .mmap
        return row
    }

    /// The file is found by the kernel from the address (the mapping's file).
    private static var executableProtection: SyscallShape {
        var row = shape(.mprotect, ["addr", "len", "prot"], path: (0, .descriptor), alsoNamed: ["pkey_mprotect"])
        row.handler = .mprotect
        return row
    }

    package static let shapes: [SyscallShape] = [
        // Processes. Successful execs and clones are reported by the scheduler's tracepoints.
        special(.execve, .exec, ["execve"], [0, cwd, 1]),
        special(.execveat, .exec, ["execveat"], [1, 0, 2]),
        special(.clone, .clone, ["clone"], [0]),
        special(.clone3, .clone, ["clone3"], [UInt8(WITNESS_ARG_CLONE_ARGS)]),
        special(.fork, .clone, ["fork"]),
        special(.vfork, .clone, ["vfork"]),
        special(.none, .exit, ["exit", "exit_group"]),
        // Files: path, directory, flags, mode.
        special(.open, .open, ["open"], [0, cwd, 1, 2]),
        special(.openat, .open, ["openat"], [1, 0, 2, 3]),
        special(.openat2, .open, ["openat2"], [1, 0, UInt8(WITNESS_ARG_OPEN_HOW)]),
        special(.creat, .open, ["creat"], [0, cwd, UInt8(WITNESS_ARG_CREAT_FLAGS), 1]),
        // Connections: connect, a TCP fast open (address, flags, address length), ia32 socketcall.
        special(.connect, .connect, ["connect"]),
        special(.connect, .fastOpen, ["sendto"], [4, 3, 5]),
        special(.connect, .fastOpen, ["sendmsg"], [UInt8(WITNESS_ARG_MSGHDR), 2]),
        // sendmmsg's vector starts with a msghdr: the first message's destination.
        special(.connect, .fastOpen, ["sendmmsg"], [UInt8(WITNESS_ARG_MSGHDR), 3]),
        special(.connect, .socketcall, ["socketcall"]),
        special(.listen, .listen, ["listen"]),
        // Generic syscalls.
        shape(.ptrace, ["request", "pid", "addr", "data"]),
        shape(.initModule, ["umod", "len", "uargs"]),
        shape(.finitModule, ["fd", "uargs", "flags"], path: (0, .descriptor)),
        shape(.deleteModule, ["name", "flags"], path: (0, .asIs)),
        shape(.kexecLoad, ["entry", "nr_segments", "segments", "flags"]),
        shape(.kexecFileLoad, ["kernel_fd", "initrd_fd", "cmdline_len", "cmdline", "flags"], path: (0, .descriptor)),
        shape(.bpf, ["cmd", "attr", "size"]),
        shape(.perfEventOpen, ["attr", "pid", "cpu", "group_fd", "flags"]),
        shape(.keyctl, ["operation", "arg2", "arg3", "arg4", "arg5"]),
        shape(.addKey, ["type", "description", "payload", "plen", "keyring"], path: (0, .asIs), path2: (1, .asIs)),
        shape(.requestKey, ["type", "description", "callout_info", "keyring"], path: (0, .asIs), path2: (1, .asIs)),
        shape(.processVmReadv, ["pid", "local_iov", "liovcnt", "remote_iov", "riovcnt", "flags"]),
        shape(.processVmWritev, ["pid", "local_iov", "liovcnt", "remote_iov", "riovcnt", "flags"]),
        // Another process's descriptor taken through its pidfd (needs ptrace's access).
        shape(.pidfdGetfd, ["pidfd", "targetfd", "flags"]),
        shape(
            .mount, ["dev", "dir", "type", "flags", "data"], path: (0, .workingDirectory), path2: (1, .workingDirectory)
        ),
        shape(.umount2, ["name", "flags"], path: (0, .workingDirectory)),
        shape(.pivotRoot, ["new_root", "put_old"], path: (0, .workingDirectory), path2: (1, .workingDirectory)),
        shape(.chroot, ["path"], path: (0, .workingDirectory)),
        shape(.fsopen, ["fsname", "flags"], path: (0, .asIs)),
        shape(.fsmount, ["fs_fd", "flags", "attr_flags"]),
        shape(
            .moveMount, ["from_dfd", "from_pathname", "to_dfd", "to_pathname", "flags"], path: (1, .argument(0)),
            path2: (3, .argument(2))),
        shape(.openTree, ["dfd", "filename", "flags"], path: (1, .argument(0))),
        shape(.unshare, ["flags"]),
        shape(.setns, ["fd", "nstype"]),
        shape(.chmod, ["filename", "mode"], path: (0, .workingDirectory)),
        shape(.fchmod, ["fd", "mode"], path: (0, .descriptor)),
        shape(.fchmodat, ["dirfd", "filename", "mode"], path: (1, .argument(0)), alsoNamed: ["fchmodat2"]),
        shape(.truncate, ["path", "length"], path: (0, .workingDirectory), alsoNamed: ["truncate64"]),
        shape(.ftruncate, ["fd", "length"], path: (0, .descriptor), socket: 0, alsoNamed: ["ftruncate64"]),
        shape(.unlink, ["path"], path: (0, .workingDirectory)),
        // Directories, device nodes and owners: writes the profile and the rules see.
        shape(.mkdir, ["path", "mode"], path: (0, .workingDirectory)),
        shape(.mkdirat, ["dirfd", "path", "mode"], path: (1, .argument(0))),
        shape(.rmdir, ["path"], path: (0, .workingDirectory)),
        shape(.mknod, ["path", "mode", "dev"], path: (0, .workingDirectory)),
        shape(.mknodat, ["dirfd", "path", "mode", "dev"], path: (1, .argument(0))),
        shape(.chown, ["path", "uid", "gid"], path: (0, .workingDirectory), alsoNamed: ["chown32"]),
        shape(.lchown, ["path", "uid", "gid"], path: (0, .workingDirectory), alsoNamed: ["lchown32"]),
        shape(.fchown, ["fd", "uid", "gid"], path: (0, .descriptor), alsoNamed: ["fchown32"]),
        shape(.fchownat, ["dirfd", "path", "uid", "gid", "flags"], path: (1, .argument(0))),
        shape(.unlinkat, ["dirfd", "name", "flags"], path: (1, .argument(0))),
        shape(.rename, ["oldpath", "newpath"], path: (0, .workingDirectory), path2: (1, .workingDirectory)),
        shape(
            .renameat, ["olddirfd", "oldpath", "newdirfd", "newpath"], path: (1, .argument(0)), path2: (3, .argument(2))
        ),
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
        shape(.setuid, ["uid"], alsoNamed: ["setuid32"]),
        shape(.setgid, ["gid"], alsoNamed: ["setgid32"]),
        shape(.setreuid, ["ruid", "euid"], alsoNamed: ["setreuid32"]),
        shape(.setregid, ["rgid", "egid"], alsoNamed: ["setregid32"]),
        shape(.setresuid, ["ruid", "euid", "suid"], alsoNamed: ["setresuid32"]),
        shape(.setresgid, ["rgid", "egid", "sgid"], alsoNamed: ["setresgid32"]),
        shape(.dup2, ["oldfd", "newfd"], socket: 0),
        shape(.dup3, ["oldfd", "newfd", "flags"], socket: 0),
        shape(.ioUringSetup, ["entries", "params"]),
        shape(.ioUringEnter, ["fd", "to_submit", "min_complete", "flags", "argp", "argsz"]),
        shape(.ioUringRegister, ["fd", "opcode", "arg", "nr_args"]),
        shape(.userfaultfd, ["flags"]),
        shape(.personality, ["persona"]),
        shape(.prctl, ["option", "arg2", "arg3", "arg4", "arg5"], path: (1, .prctlName)),
        // Code mapped from a file (a library, the dynamic loader's target): the file by
        // its descriptor, and by identity for fd.writer.
        executableMapping,
        executableProtection,
    ]

    /// io_uring operations reported as their syscall twin: (opcode, the twin's row).
    /// The kernel program lays each operation's fields out as the twin's arguments
    /// (bpf/witness_event.h), so the twin's decoding, fields and rules apply.
    package static let ioUringOperations: [(opcode: UInt32, shape: SyscallShape)] = {
        let twins: [(witness_io_uring_op, Syscall)] = [
            (WITNESS_IORING_OP_OPENAT, .openat), (WITNESS_IORING_OP_OPENAT2, .openat2),
            (WITNESS_IORING_OP_CONNECT, .connect), (WITNESS_IORING_OP_RENAMEAT, .renameat2),
            (WITNESS_IORING_OP_UNLINKAT, .unlinkat), (WITNESS_IORING_OP_SYMLINKAT, .symlinkat),
            (WITNESS_IORING_OP_LINKAT, .linkat),
        ]
        return twins.map { opcode, syscall in
            var shape: SyscallShape
            if syscall == .openat2 {
                // The ring holds flags and mode themselves, laid out as openat's.
                shape = special(.openat2, .open, ["openat2"], [1, 0, 2, 3])
            } else {
                shape = shapes.first { $0.syscall == syscall && $0.handler != .fastOpen && $0.handler != .socketcall }!
            }
            return (UInt32(opcode.rawValue), shape)
        }
    }()

    private static let bySyscall: [SyscallShape?] = {
        var table = [SyscallShape?](repeating: nil, count: Syscall.allCases.count)
        // Rows whose records are generic ones: their arguments are named from here.
        for shape in shapes where shape.handler == .generic || shape.handler == .mmap || shape.handler == .mprotect {
            table[Int(shape.syscall.rawValue)] = shape
        }
        return table
    }()

    /// The shape of generic syscall `syscall`, nil for the ones with their own event kinds.
    package static func shape(of syscall: Syscall) -> SyscallShape? {
        bySyscall[Int(syscall.rawValue)]
    }

    /// The shapes map's entries: (table * WITNESS_SYSCALL_SLOTS + number, shape) for
    /// every row in every table that has one of its names.
    package static func kernelEntries() -> [(index: UInt32, shape: UInt64)] {
        var entries: [(index: UInt32, shape: UInt64)] = []
        for shape in shapes {
            for table in SyscallNumbers.Table.allCases {
                for name in shape.kernelNames {
                    guard let number = SyscallNumbers.number(of: name, in: table) else { continue }
                    entries.append((UInt32(table.rawValue * SyscallNumbers.slots + number), shape.shape))
                }
            }
        }
        return entries
    }
}

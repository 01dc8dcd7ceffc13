import CBPF

/// What a ring buffer record reports, decoded without copying: string fields are
/// views into the record and valid only while it is being handled. It exists so
/// that the rest of the pipeline reads named, typed fields and never an offset.
package struct KernelEvent {
    package var header: EventHeader
    package var payload: EventPayload

    package init(header: EventHeader, payload: EventPayload) {
        self.header = header
        self.payload = payload
    }
}

/// The kind of a record, as `enum witness_event_kind` in bpf/witness_event.h.
package enum EventKind: UInt16, Sendable, CaseIterable {
    case exec = 1
    case exit = 2
    case fork = 3
    case open = 4
    case connect = 5
    /// Any generic syscall (SyscallTable).
    case syscall = 7
}

/// Flags of a record: which strings were cut or could not be read.
package struct EventFlags: OptionSet, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    static let pathTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_PATH_TRUNCATED.rawValue))
    static let argsTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_ARGS_TRUNCATED.rawValue))
    static let addressTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_ADDR_TRUNCATED.rawValue))
    static let pathUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_PATH_UNREADABLE.rawValue))
    static let argsUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_ARGS_UNREADABLE.rawValue))
    static let addressUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_ADDR_UNREADABLE.rawValue))
    package static let localAddress = EventFlags(rawValue: UInt32(WITNESS_FLAG_LOCAL_ADDR.rawValue))
    static let directoryTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_DIR_TRUNCATED.rawValue))
    static let executableIsMemfd = EventFlags(rawValue: UInt32(WITNESS_FLAG_EXE_MEMFD.rawValue))
    static let secondPathTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_PATH2_TRUNCATED.rawValue))
    package static let compat = EventFlags(rawValue: UInt32(WITNESS_FLAG_COMPAT.rawValue))
    static let x32 = EventFlags(rawValue: UInt32(WITNESS_FLAG_X32.rawValue))
    static let fastOpen = EventFlags(rawValue: UInt32(WITNESS_FLAG_FASTOPEN.rawValue))
    package static let socketcall = EventFlags(rawValue: UInt32(WITNESS_FLAG_SOCKETCALL.rawValue))
    static let ioUring = EventFlags(rawValue: UInt32(WITNESS_FLAG_IO_URING.rawValue))
    static let executableIsDeleted = EventFlags(rawValue: UInt32(WITNESS_FLAG_EXE_DELETED.rawValue))
    static let executableInUpperLayer = EventFlags(rawValue: UInt32(WITNESS_FLAG_EXE_UPPER.rawValue))
    static let executableIsScript = EventFlags(rawValue: UInt32(WITNESS_FLAG_EXE_SCRIPT.rawValue))
    static let environmentTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_ENV_TRUNCATED.rawValue))
    /// A connect record for the first datagram a socket sent to an address (sendto, sendmsg).
    package static let datagram = EventFlags(rawValue: UInt32(WITNESS_FLAG_DATAGRAM.rawValue))
    /// An open that made its file (the kernel's FMODE_CREATED), not one that found it.
    package static let created = EventFlags(rawValue: UInt32(WITNESS_FLAG_CREATED.rawValue))
    /// Made by the agent from state found as a window began (`FoundScanner`), not by a syscall.
    package static let found = EventFlags(rawValue: UInt32(WITNESS_FLAG_FOUND.rawValue))

    /// Which gate into the kernel the syscall took, as the `evt.gate` field says it.
    package var gate: StaticString {
        if contains(.ioUring) { return "io_uring" }
        if contains(.compat) { return "ia32" }
        if contains(.x32) { return "x32" }
        return "syscall"
    }
}

/// The fields every record carries.
package struct EventHeader {
    package var kind: EventKind
    package var syscall: Syscall
    /// CLOCK_BOOTTIME nanoseconds; `WallClock` converts.
    package var timestamp: UInt64
    /// Bit i set: subject slot i witnessed this.
    package var subjects: UInt64
    package var cgroupID: UInt64
    /// Return value of the syscall (negative errno on failure); the wait status for exits.
    package var result: Int64
    package var pid: Int32
    package var tid: Int32
    package var ppid: Int32
    package var uid: UInt32
    package var gid: UInt32
    package var flags: EventFlags
    /// The thread's comm, without its NUL padding.
    package var comm: UnsafeRawBufferPointer
    /// The file the event is about, by identity (an opened file, the executable, a
    /// descriptor argument); `.none` when there is none.
    package var file: FileID = .none

    package init(
        kind: EventKind, syscall: Syscall, timestamp: UInt64, subjects: UInt64, cgroupID: UInt64, result: Int64,
        pid: Int32,
        tid: Int32, ppid: Int32, uid: UInt32, gid: UInt32, flags: EventFlags, comm: UnsafeRawBufferPointer
    ) {
        self.kind = kind
        self.syscall = syscall
        self.timestamp = timestamp
        self.subjects = subjects
        self.cgroupID = cgroupID
        self.result = result
        self.pid = pid
        self.tid = tid
        self.ppid = ppid
        self.uid = uid
        self.gid = gid
        self.flags = flags
        self.comm = comm
    }
}

/// What a standard descriptor was at exec, as Falco's proc.stdin_type names it.
package enum StdioType: UInt8, Sendable {
    case none = 0, file, directory, pipe, ipv4, ipv6, unix, socket

    package var name: StaticString? {
        switch self {
        case .none: return nil
        case .file: return "file"
        case .directory: return "directory"
        case .pipe: return "pipe"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        case .unix: return "unix"
        case .socket: return "socket"
        }
    }

    /// Descriptor `fd` (0 to 2) of a packed `ExecIdentity.stdio`.
    package static func of(_ packed: UInt32, fd: Int) -> StdioType {
        StdioType(rawValue: UInt8(truncatingIfNeeded: packed >> UInt32(8 * fd)) & ~namedFIFO) ?? .none
    }

    /// Whether descriptor `fd` of a packed `ExecIdentity.stdio` is a named FIFO (a
    /// pipe made by mkfifo, on a file system): its type is `pipe` all the same.
    static func isNamedFIFO(_ packed: UInt32, fd: Int) -> Bool {
        UInt8(truncatingIfNeeded: packed >> UInt32(8 * fd)) & namedFIFO != 0
    }

    private static let namedFIFO = UInt8(WITNESS_STDIO_NAMED_FIFO.rawValue)
}

/// Which file, whatever its name: device and inode, as the kernel saw it. A rename,
/// a hard link, a symlink or a renamed directory changes names, never this.
package struct FileID: Hashable, Sendable {
    package var device: UInt32
    package var inode: UInt64

    package init(device: UInt32, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    package static let none = FileID(device: 0, inode: 0)
    package var isNone: Bool { inode == 0 }
}

/// The kind-specific part of a record.
package enum EventPayload {
    /// A successful exec (reported in the new image) or a failed one (result < 0).
    /// `args` holds the argument vector, NUL-separated, argv[0] first; `directory`
    /// is what a relative filename is relative to (empty for an absolute one).
    /// `executable` is the kernel's own path of the file it runs (empty for a script,
    /// run by its interpreter, and for a failed exec); `environment` the new image's
    /// environment, NUL-separated (successful execs; cut at 4 KiB).
    case exec(
        filename: UnsafeRawBufferPointer, args: UnsafeRawBufferPointer, directory: UnsafeRawBufferPointer,
        identity: ExecIdentity, executable: UnsafeRawBufferPointer, environment: UnsafeRawBufferPointer)
    case exit
    /// A new process (childPID 0 when the call failed), or a thread given a namespace
    /// of its own; `flags` are the CLONE_* flags of clone and clone3 (0 for fork, vfork).
    case fork(childPID: Int32, flags: UInt64)
    /// `path` names the file: for a successful open the kernel's own path of the file
    /// it opened (from the root of the mount namespace, `directory` empty); otherwise
    /// the string the process passed, with `directory`, what a relative one is
    /// relative to, resolved by the kernel. `raw` is always the string as passed
    /// (Falco's fd.nameraw).
    case open(
        dirfd: Int32, flags: UInt32, mode: UInt32, path: UnsafeRawBufferPointer, directory: UnsafeRawBufferPointer,
        raw: UnsafeRawBufferPointer)
    case connect(fd: Int32, remote: SocketAddress, local: SocketAddress?, transport: Transport)
    /// Any other witnessed syscall: its arguments and paths, named by `SyscallTable`.
    case syscall(SyscallRecord)
}

/// Who a new image runs as, read by the kernel at exec.
package struct ExecIdentity: Equatable, Sendable {
    /// Audit login uid; UInt32.max when unset.
    package var loginUID: UInt32
    /// Controlling terminal as /proc/PID/stat's tty_nr; 0 for none.
    package var tty: UInt32
    /// Effective capability set.
    package var capabilities: UInt64
    /// Permitted and inheritable sets.
    package var permitted: UInt64 = 0
    package var inheritable: UInt64 = 0
    /// Session id (host numbering) and process group id in the process's namespace; 0 unknown.
    var sessionID: UInt32 = 0
    var namespaceProcessGroupID: UInt32 = 0
    /// The pid in the process's own PID namespace (1: a container's init); 0 unknown.
    package var vpid: UInt32
    /// What descriptors 0, 1 and 2 are (`StdioType`, a byte each).
    package var stdio: UInt32
    /// When the run file's inode last changed, ns since the epoch (0: unknown).
    package var changeTime: UInt64 = 0

    package init(
        loginUID: UInt32 = .max, tty: UInt32 = 0, capabilities: UInt64 = 0, vpid: UInt32 = 0, stdio: UInt32 = 0
    ) {
        self.loginUID = loginUID
        self.tty = tty
        self.capabilities = capabilities
        self.vpid = vpid
        self.stdio = stdio
    }
}

/// The arguments of a generic syscall: six integers and up to two paths, each with
/// the directory a relative one is relative to.
package struct SyscallRecord {
    package var arguments: (Int64, Int64, Int64, Int64, Int64, Int64)
    package var path: UnsafeRawBufferPointer
    package var path2: UnsafeRawBufferPointer
    package var directory: UnsafeRawBufferPointer
    package var directory2: UnsafeRawBufferPointer
    /// AF_* of the socket in the descriptor argument (dup2, dup3), 0 if not a socket.
    package var socketFamily: UInt16
    var socketProtocol: UInt16

    package func argument(_ index: Int) -> Int64 {
        switch index {
        case 0: return arguments.0
        case 1: return arguments.1
        case 2: return arguments.2
        case 3: return arguments.3
        case 4: return arguments.4
        default: return arguments.5
        }
    }
}

/// The transport protocol of a socket (Falco's fd.l4proto).
package struct Transport: Equatable, Sendable {
    package var number: UInt16

    package init(number: UInt16) { self.number = number }

    package var name: StaticString? {
        switch number {
        case 6: return "tcp"
        case 17: return "udp"
        case 1, 58: return "icmp"
        case 132: return "sctp"
        default: return nil
        }
    }
}

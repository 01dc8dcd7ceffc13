import CBPF

/// What a ring buffer record reports, decoded without copying: string fields are
/// views into the record and valid only while it is being handled. It exists so
/// that the rest of the pipeline reads named, typed fields and never an offset.
public struct KernelEvent {
    public var header: EventHeader
    public var payload: EventPayload

    public init(header: EventHeader, payload: EventPayload) {
        self.header = header
        self.payload = payload
    }
}

/// The kind of a record, as `enum witness_event_kind` in bpf/witness_event.h.
public enum EventKind: UInt16, Sendable, CaseIterable {
    case exec = 1
    case exit = 2
    case fork = 3
    case open = 4
    case connect = 5
}

/// The system call behind a record, as `enum witness_syscall`.
public enum Syscall: UInt16, Sendable, CaseIterable {
    case none = 0
    case execve = 1
    case execveat = 2
    case open = 3
    case openat = 4
    case openat2 = 5
    case connect = 6
    case clone = 7
    case exit = 8

    /// The name Falco uses for `evt.type`.
    public var eventType: StaticString {
        switch self {
        case .none: return "unknown"
        case .execve: return "execve"
        case .execveat: return "execveat"
        case .open: return "open"
        case .openat: return "openat"
        case .openat2: return "openat2"
        case .connect: return "connect"
        case .clone: return "clone"
        case .exit: return "procexit"
        }
    }
}

/// Flags of a record: which strings were cut or could not be read.
public struct EventFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let pathTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_PATH_TRUNCATED.rawValue))
    public static let argsTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_ARGS_TRUNCATED.rawValue))
    public static let addressTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_ADDR_TRUNCATED.rawValue))
    public static let pathUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_PATH_UNREADABLE.rawValue))
    public static let argsUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_ARGS_UNREADABLE.rawValue))
    public static let addressUnreadable = EventFlags(rawValue: UInt32(WITNESS_FLAG_ADDR_UNREADABLE.rawValue))
    public static let localAddress = EventFlags(rawValue: UInt32(WITNESS_FLAG_LOCAL_ADDR.rawValue))
    public static let directoryTruncated = EventFlags(rawValue: UInt32(WITNESS_FLAG_DIR_TRUNCATED.rawValue))
}

/// The fields every record carries.
public struct EventHeader {
    public var kind: EventKind
    public var syscall: Syscall
    /// CLOCK_BOOTTIME nanoseconds; `WallClock` converts.
    public var timestamp: UInt64
    /// Bit i set: subject slot i witnessed this.
    public var subjects: UInt64
    public var cgroupID: UInt64
    /// Return value of the syscall (negative errno on failure); the wait status for exits.
    public var result: Int64
    public var pid: Int32
    public var tid: Int32
    public var ppid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var flags: EventFlags
    /// The thread's comm, without its NUL padding.
    public var comm: UnsafeRawBufferPointer
}

/// The kind-specific part of a record.
public enum EventPayload {
    /// A successful exec (reported in the new image) or a failed one (result < 0).
    /// `args` holds the argument vector, NUL-separated, argv[0] first; `directory`
    /// is what a relative filename is relative to (empty for an absolute one).
    case exec(filename: UnsafeRawBufferPointer, args: UnsafeRawBufferPointer, directory: UnsafeRawBufferPointer)
    case exit
    case fork(childPID: Int32)
    /// `directory`: what a relative `path` is relative to, resolved by the kernel.
    case open(dirfd: Int32, flags: UInt32, mode: UInt32, path: UnsafeRawBufferPointer, directory: UnsafeRawBufferPointer)
    case connect(fd: Int32, remote: SocketAddress, local: SocketAddress?)
}

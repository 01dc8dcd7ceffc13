import Synchronization

/// The Falco fields Witness can answer, with their types. A rule that uses a field
/// not listed here is skipped with a warning naming the rule and the field.
package enum FieldID: String, CaseIterable, Sendable {
    case evtType = "evt.type"
    case evtDir = "evt.dir"
    case evtRes = "evt.res"
    case evtRawres = "evt.rawres"
    case evtFailed = "evt.failed"
    case evtTime = "evt.time"
    case evtNum = "evt.num"
    /// Which gate into the kernel the syscall took: `syscall`, `ia32` (int $0x80,
    /// sysenter: the 32-bit table), `x32`, or `io_uring` (an operation submitted to a
    /// ring, reported as its syscall twin).
    case evtGate = "evt.gate"
    case evtArgFlags = "evt.arg.flags"
    case evtArgMode = "evt.arg.mode"
    case evtArgFilename = "evt.arg.filename"
    case evtIsOpenRead = "evt.is_open_read"
    case evtIsOpenWrite = "evt.is_open_write"
    /// An open that created its file (the kernel says so, not O_CREAT, which only
    /// allows it): a file made by `> new.log` was not truncated.
    case evtIsOpenCreate = "evt.is_open_create"
    case procPid = "proc.pid"
    case procPpid = "proc.ppid"
    case procVpid = "proc.vpid"
    case procName = "proc.name"
    case procExe = "proc.exe"
    case procExepath = "proc.exepath"
    case procCmdline = "proc.cmdline"
    case procArgs = "proc.args"
    case procPname = "proc.pname"
    case procPcmdline = "proc.pcmdline"
    case procPexepath = "proc.pexepath"
    case procAname = "proc.aname"
    case procApid = "proc.apid"
    case procTty = "proc.tty"
    case procIsExeUpperLayer = "proc.is_exe_upper_layer"
    case threadTid = "thread.tid"
    /// Whether the thread is its process's main thread (Falco's thread.ismain).
    case threadIsmain = "thread.ismain"
    case userUid = "user.uid"
    case userName = "user.name"
    case groupGid = "group.gid"
    case fdName = "fd.name"
    case fdDirectory = "fd.directory"
    case fdFilename = "fd.filename"
    case fdTypechar = "fd.typechar"
    case fdType = "fd.type"
    case fdSip = "fd.sip"
    case fdSport = "fd.sport"
    case fdCip = "fd.cip"
    case fdCport = "fd.cport"
    case fdL4proto = "fd.l4proto"
    case fdNum = "fd.num"
    case containerId = "container.id"
    case containerName = "container.name"
    case containerImageRepository = "container.image.repository"
    case containerImageTag = "container.image.tag"
    case containerPrivileged = "container.privileged"
    case k8sPodUid = "k8s.pod.uid"
    case k8sPodName = "k8s.pod.name"
    case k8sNsName = "k8s.ns.name"
    case k8sPodLabels = "k8s.pod.labels"
    /// The pod's namespace's labels, `(key:value,...)`.
    case k8sNsLabels = "k8s.ns.labels"
    /// `proc.env`: the environment at exec, as `NAME=value` pairs joined by spaces;
    /// `proc.env[NAME]`: one variable's value.
    case procEnv = "proc.env"
    case procEnvVariable = "proc.env.*"
    /// `k8s.pod.label[KEY]` (or `k8s.pod.label.KEY`): one label's value.
    case k8sPodLabel = "k8s.pod.label.*"
    case userLoginuid = "user.loginuid"
    case userLoginname = "user.loginname"
    case groupName = "group.name"
    case procPexe = "proc.pexe"
    case procCwd = "proc.cwd"
    case procDuration = "proc.duration"
    case procAexepath = "proc.aexepath"
    /// `proc.aexe[N]`: an ancestor's argv[0] (any ancestor without N).
    case procAexe = "proc.aexe"
    /// Session id, process group id in the PID namespace, and whether the process
    /// leads its group (vpgid = vpid): as they were at exec.
    case procSid = "proc.sid"
    case procVpgid = "proc.vpgid"
    case procIsVpgidLeader = "proc.is_vpgid_leader"
    case procIsExeFromMemfd = "proc.is_exe_from_memfd"
    /// The executable had no name left when it ran (unlinked, run by fexecve).
    case procIsExeDeleted = "proc.is_exe_deleted"
    /// For the dynamic loader run as a program (`ld.so FILE`): the file it runs.
    case procExeLoaderTarget = "proc.exe_loader_target"
    /// The executable path of the program that wrote the executable (or the loader's
    /// target) during the subject's window; `<NA>` when nothing did.
    case procExeWriter = "proc.exe_writer"
    /// The executable path of the program that wrote this event's file (an open, an
    /// executable mapping) during the subject's window; `<NA>` when nothing did.
    case fdWriter = "fd.writer"
    /// An open of a file by the name the process's first non-option argument gives
    /// it: an interpreter reading the script it was asked to run (`sh x.sh`, `python3
    /// p.py`, and a script run directly, whose interpreter gets its path).
    case fdNamedInArgs = "fd.named_in_args"
    /// The argument vector was longer than the kernel side keeps (proc.args is cut).
    case procArgsTruncated = "proc.args_truncated"
    /// The program is a script, run by the interpreter its #! line names.
    case procIsExeScript = "proc.is_exe_script"
    /// What the process's standard descriptors were at exec (Falco's names: file,
    /// pipe, ipv4, ipv6, unix, ...).
    case procStdinType = "proc.stdin_type"
    case procStdoutType = "proc.stdout_type"
    case procStderrType = "proc.stderr_type"
    /// Whether descriptor 0 or 1 was a named FIFO (mkfifo) at exec, rather than an
    /// anonymous pipe: both are `pipe` to proc.stdin_type, as to Falco.
    case procStdinIsFifo = "proc.stdin_is_fifo"
    case procStdoutIsFifo = "proc.stdout_is_fifo"
    case threadCapEffective = "thread.cap_effective"
    case threadCapPermitted = "thread.cap_permitted"
    case threadCapInheritable = "thread.cap_inheritable"
    /// Either end's address (Falco's filter-only fd.ip: a test holds if it holds for
    /// one of them).
    case fdIp = "fd.ip"
    /// The network of either end, of the server end, of the client end, against CIDR
    /// operands (`fd.snet in ("10.0.0.0/8")`).
    case fdNet = "fd.net"
    case fdSnet = "fd.snet"
    case fdCnet = "fd.cnet"
    /// The remote and the local end's network (for a connection: the server's and
    /// the client's).
    case fdRnet = "fd.rnet"
    case fdLnet = "fd.lnet"
    /// Either end's port (a test holds if it holds for one of them).
    case fdPort = "fd.port"
    /// `ip` or `unix`: the family of the connection's socket.
    case fdSockfamily = "fd.sockfamily"
    /// Whether the event changed its descriptor's name (Falco: an unconnected UDP send
    /// to a new peer). Witness reports connections, not unconnected sends: false.
    case fdNameChanged = "fd.name_changed"
    /// The server's or client's address against host names, resolved in the
    /// background (`ResolvedNames`): true when the address is one of a name's.
    case fdSipName = "fd.sip.name"
    case fdCipName = "fd.cip.name"
    case fdRipName = "fd.rip.name"
    case fdLipName = "fd.lip.name"
    case fdNameraw = "fd.nameraw"
    /// Whose entry a /proc/<pid>/ path names, seen from the process that opened it:
    /// `self` (its own, or its main thread's task entry), `thread` (another thread of
    /// its own), `other` (another process); none for any other path.
    case fdProcfsTarget = "fd.procfs_target"
    case fdConnected = "fd.connected"
    case fdLport = "fd.lport"
    case fdRport = "fd.rport"
    case fdLip = "fd.lip"
    case fdRip = "fd.rip"
    case evtArgs = "evt.args"
    /// `evt.arg.<name>`: a syscall argument by name, as text.
    case evtArg = "evt.arg.*"
    /// `evt.rawarg.<name>`: a syscall argument by name, as a number.
    case evtRawarg = "evt.rawarg.*"
    /// A Falco field Witness cannot observe (yet): `<NA>` in outputs; a condition
    /// that tests one cannot be evaluated, so its rule is skipped.
    case unavailable = "<unavailable>"

    package enum Kind { case string, number, boolean, network, hostName }

    package var kind: Kind {
        switch self {
        case .evtRawres, .evtTime, .evtNum, .procPid, .procPpid, .procVpid, .procApid, .procTty, .threadTid, .userUid,
            .groupGid, .fdSport, .fdCport, .fdPort, .procSid, .procVpgid, .fdNum, .userLoginuid, .procDuration,
            .fdLport, .fdRport, .evtRawarg:
            return .number
        case .evtFailed, .evtIsOpenRead, .evtIsOpenWrite, .evtIsOpenCreate, .procStdinIsFifo, .procStdoutIsFifo,
            .procIsExeUpperLayer, .procIsExeFromMemfd, .procIsExeDeleted,
            .fdNamedInArgs, .procIsExeScript, .procArgsTruncated, .fdNameChanged, .procIsVpgidLeader,
            .fdConnected,
            .containerPrivileged, .threadIsmain:
            return .boolean
        case .fdIp, .fdNet, .fdSnet, .fdCnet, .fdRnet, .fdLnet:
            return .network
        case .fdSipName, .fdCipName, .fdRipName, .fdLipName:
            return .hostName
        default:
            return .string
        }
    }

    /// Fields that take `[N]`: the N-th ancestor; without it, any ancestor.
    package var takesAncestorIndex: Bool {
        self == .procAname || self == .procApid || self == .procAexepath || self == .procAexe
    }

    /// Falco fields that Witness knows of but cannot observe on this path.
    static let unavailableNames: Set<String> = [
        "proc.sname", "container.start_ts", "proc.exe_ino", "proc.exe_ino.ctime", "proc.exe_ino.mtime",
        "proc.exe_ino.ctime_duration_proc_start", "container.image", "container.image.id",
        "container.mounts",
    ]
}

/// A field with its argument, resolved at load.
package struct FieldRef: Hashable, Sendable {
    package var id: FieldID
    /// For proc.aname/proc.apid: the ancestor generation (1 = parent); nil = any.
    package var ancestor: Int? {
        get { ancestorIndex < 0 ? nil : Int(ancestorIndex) }
        set { ancestorIndex = newValue.map { Int8(clamping: $0) } ?? -1 }
    }
    /// `ancestor` in a byte (-1: any): a FieldRef is eight bytes, which keeps a rule
    /// program's instructions small.
    private var ancestorIndex: Int8
    /// For evt.arg.<name> / evt.rawarg.<name>: the argument; for unavailable fields:
    /// the field. Interned, so that a FieldRef is plain data: copying one while
    /// evaluating a condition retains nothing.
    /// The name's place in `FieldNames`; -1 for none.
    private(set) var nameIndex: Int32

    package init(id: FieldID, ancestor: Int? = nil, name: String? = nil) {
        self.id = id
        ancestorIndex = ancestor.map { Int8(clamping: $0) } ?? -1
        nameIndex = name.map(FieldNames.intern) ?? -1
    }

    package var name: String? { FieldNames.name(nameIndex) }

    /// The field as written in outputs: `proc.aname[2]`, `evt.arg.request`.
    package var displayName: String {
        switch id {
        case .evtArg: return "evt.arg.\(name ?? "")"
        case .evtRawarg: return "evt.rawarg.\(name ?? "")"
        case .k8sPodLabel: return "k8s.pod.label[\(name ?? "")]"
        case .procEnvVariable: return "proc.env[\(name ?? "")]"
        case .unavailable: return name ?? id.rawValue
        default: return ancestor.map { "\(id.rawValue)[\($0)]" } ?? id.rawValue
        }
    }

    /// Resolves `name` and `argument`, or explains why not.
    package static func resolve(name: String, argument: String?) -> Result<FieldRef, UnknownField> {
        if name == "k8s.pod.label", let argument, !argument.isEmpty {
            return .success(FieldRef(id: .k8sPodLabel, name: argument))
        }
        if name == "proc.env", let argument, !argument.isEmpty {
            return .success(FieldRef(id: .procEnvVariable, name: argument))
        }
        guard let id = FieldID(rawValue: name), id != .evtArg, id != .evtRawarg, id != .k8sPodLabel,
            id != .procEnvVariable,
            id != .unavailable
        else {
            if name.hasPrefix("k8s.pod.label."), argument == nil, name.count > 14 {
                return .success(FieldRef(id: .k8sPodLabel, name: String(name.dropFirst(14))))
            }
            if name.hasPrefix("evt.arg."), argument == nil, name.count > 8 {
                return .success(FieldRef(id: .evtArg, name: String(name.dropFirst(8))))
            }
            if name.hasPrefix("evt.rawarg."), argument == nil, name.count > 11 {
                return .success(FieldRef(id: .evtRawarg, name: String(name.dropFirst(11))))
            }
            if FieldID.unavailableNames.contains(name) {
                return .success(FieldRef(id: .unavailable, name: argument.map { "\(name)[\($0)]" } ?? name))
            }
            return .failure(UnknownField(name: name))
        }
        if let argument {
            guard id.takesAncestorIndex, let index = Int(argument), index >= 0, index < 64 else {
                return .failure(UnknownField(name: "\(name)[\(argument)]"))
            }
            return .success(FieldRef(id: id, ancestor: index))
        }
        return .success(FieldRef(id: id, ancestor: nil))
    }

    package struct UnknownField: Error { package var name: String }
}

/// The interned names of FieldRef (argument names, unavailable fields): appended
/// while rules load, read when an event needs an argument by name.
package enum FieldNames {
    private static let table = Mutex<[String]>([])

    static func intern(_ name: String) -> Int32 {
        table.withLock { names in
            if let index = names.firstIndex(of: name) { return Int32(index) }
            names.append(name)
            return Int32(names.count - 1)
        }
    }

    package static func name(_ index: Int32) -> String? {
        guard index >= 0 else { return nil }
        return table.withLock { names in Int(index) < names.count ? names[Int(index)] : nil }
    }

    /// Every name so far, for a reader that keeps its own copy (the event hot path).
    package static func all() -> [String] {
        table.withLock { $0 }
    }
}

/// What the agent knows of one process, kept from its exec (or a /proc read) until
/// its exit, so that an open or connect can name the program that made it.
package struct ProcessRecord: Sendable, Equatable {
    package var pid: Int32
    package var ppid: Int32
    /// The comm: the kernel's 15-byte task name (Falco's proc.name).
    package var name: [UInt8]
    /// Absolute path of the executable, when known (Falco's proc.exepath).
    package var exePath: [UInt8]
    /// The argument vector, NUL-separated, argv[0] first.
    package var argv: [UInt8]
    var argvTruncated: Bool
    /// The controlling terminal (tty_nr), 0 when there is none (Falco's proc.tty).
    package var tty: Int32
    /// Audit login uid (user.loginuid); UInt32.max when unset.
    package var loginUID: UInt32
    /// Working directory at exec (proc.cwd).
    package var cwd: [UInt8]
    /// Effective capabilities after exec (thread.cap_effective); nil when unknown.
    package var capabilities: UInt64?
    /// Permitted and inheritable capabilities after exec (thread.cap_permitted,
    /// thread.cap_inheritable); nil when unknown.
    var permittedCapabilities: UInt64?
    var inheritableCapabilities: UInt64?
    /// The executable is a memfd: an exec that never touched a file system.
    var executableIsMemfd: Bool
    /// The executable had no name left when it ran (unlinked, run through a descriptor).
    var executableIsDeleted: Bool
    /// The executable is in an overlay's upper layer: written in the container, not
    /// shipped in its image (Falco's proc.is_exe_upper_layer); false when unknown.
    var executableInUpperLayer = false
    /// Session id and process group id in its PID namespace, at exec (proc.sid,
    /// proc.vpgid); nil when unknown.
    var sessionID: Int32?
    var namespaceProcessGroupID: Int32?
    /// The environment at exec, NUL-separated (proc.env), and whether it was cut.
    package var environment: [UInt8] = []
    var environmentTruncated = false
    /// The program is a script its #! interpreter runs (proc.exepath is the script's).
    var executableIsScript = false
    /// What descriptors 0, 1 and 2 were at exec (`StdioType`, packed); 0 unknown.
    package var stdio: UInt32 = 0
    /// For the dynamic loader run as a program: the file it runs (`DynamicLoader`).
    var loaderTarget: [UInt8] = []
    /// The program that wrote the executable (or the loader's target) during the
    /// subject's window: a dropped file; nil when none did, empty when unnamed.
    var executableWriter: [UInt8]?
    /// When the process started (exec or fork), CLOCK_BOOTTIME ns; 0 when unknown.
    package var startTime: UInt64
    /// The pid in its own PID namespace (Falco's proc.vpid); nil when unknown.
    package var vpid: Int32?
    /// The subject slots whose windows saw this process (0: read from /proc).
    package var subjects: UInt64 = 0

    package init(
        pid: Int32, ppid: Int32, name: [UInt8], exePath: [UInt8], argv: [UInt8], argvTruncated: Bool = false,
        tty: Int32 = 0, loginUID: UInt32 = .max, cwd: [UInt8] = [], capabilities: UInt64? = nil,
        executableIsMemfd: Bool = false, executableIsDeleted: Bool = false, startTime: UInt64 = 0, vpid: Int32? = nil
    ) {
        self.pid = pid
        self.ppid = ppid
        self.name = name
        self.exePath = exePath
        self.argv = argv
        self.argvTruncated = argvTruncated
        self.tty = tty
        self.loginUID = loginUID
        self.cwd = cwd
        self.capabilities = capabilities
        self.executableIsMemfd = executableIsMemfd
        self.executableIsDeleted = executableIsDeleted
        self.startTime = startTime
        self.vpid = vpid
    }

    /// argv[0] (Falco's proc.exe).
    package var exe: ArraySlice<UInt8> {
        argv[..<(argv.firstIndex(of: 0) ?? argv.endIndex)]
    }

    /// Arguments after argv[0], NUL-separated (Falco's proc.args joins them with spaces).
    package var args: ArraySlice<UInt8> {
        guard let end = argv.firstIndex(of: 0) else { return [] }
        var tail = argv[(end + 1)...]
        while tail.last == 0 { tail = tail.dropLast() }
        return tail
    }
}

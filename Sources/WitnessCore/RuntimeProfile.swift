/// What a subject did during one window — the syscalls it made, the programs it
/// ran (by content), the files it read and wrote, the endpoints it reached and the
/// identities it took — in a form a later window can be held to (drift), a seccomp
/// profile can be written from, and a controller can keep as the trial's runtime
/// evidence. Bounded: past each limit entries are dropped and counted, and
/// `truncated` says so.
public struct RuntimeProfile: Sendable, Equatable {
    /// A program run, by its kernel path and the sha256 of its content.
    public struct Executable: Sendable, Equatable {
        public var path: String
        /// Lowercase hex; nil when the file could not be hashed (`hashError` says why).
        public var sha256: String?
        public var hashError: String?
        public var count: UInt64
        /// The program of the first process seen running it.
        public var parent: String?

        public init(path: String, sha256: String?, hashError: String? = nil, count: UInt64 = 1, parent: String? = nil) {
            self.path = path
            self.sha256 = sha256
            self.hashError = hashError
            self.count = count
            self.parent = parent
        }
    }

    /// A distinct connection attempt: where to, how, and how it ended.
    public struct Connection: Sendable, Equatable {
        /// ipv4, ipv6, unix or other.
        public var family: String
        /// The address (a unix socket's path, `@name` for an abstract one).
        public var address: String
        public var port: UInt16
        /// tcp, udp, ... (empty when the socket did not say).
        public var transport: String
        /// `ok`, an errno name (`ECONNREFUSED`, `EINPROGRESS`), or `submitted` (io_uring).
        public var result: String
        public var count: UInt64

        public init(family: String, address: String, port: UInt16, transport: String, result: String, count: UInt64 = 1) {
            self.family = family
            self.address = address
            self.port = port
            self.transport = transport
            self.result = result
            self.count = count
        }

        /// The endpoint, whatever the result: what drift compares.
        public var endpoint: String {
            RuntimeProfile.endpoint(family: family, address: address, port: port, transport: transport)
        }
    }

    /// A socket put to listening.
    public struct Listener: Sendable, Equatable {
        public var family: String
        public var address: String
        public var port: UInt16
        public var transport: String

        public init(family: String, address: String, port: UInt16, transport: String) {
            self.family = family
            self.address = address
            self.port = port
            self.transport = transport
        }

        public var endpoint: String {
            RuntimeProfile.endpoint(family: family, address: address, port: port, transport: transport)
        }
    }

    /// `tcp 10.0.0.1:443`, `unix /run/x.sock`: a socket's far (or listening) end.
    static func endpoint(family: String, address: String, port: UInt16, transport: String) -> String {
        "\(transport.isEmpty ? family : transport) \(address)\(port > 0 ? ":\(port)" : "")"
    }

    /// A setuid-family call: what was asked for, by which program, and its result.
    public struct IdentityChange: Sendable, Equatable {
        public var call: String
        public var arguments: [Int64]
        public var result: String
        public var executable: String
        public var count: UInt64

        public init(call: String, arguments: [Int64], result: String, executable: String, count: UInt64 = 1) {
            self.call = call
            self.arguments = arguments
            self.result = result
            self.executable = executable
            self.count = count
        }

        /// `setuid(0)`: what drift compares, whatever the result or the program.
        public var key: String { "\(call)(\(arguments.map(String.init).joined(separator: ",")))" }
    }

    /// Capabilities an exec gave a process that its previous image did not have.
    public struct CapabilityGain: Sendable, Equatable {
        public var executable: String
        public var capabilities: [String]
        public var count: UInt64

        public init(executable: String, capabilities: [String], count: UInt64 = 1) {
            self.executable = executable
            self.capabilities = capabilities
            self.count = count
        }

        /// `/usr/bin/sudo: CAP_SETUID CAP_SETGID`: what drift compares.
        public var key: String { "\(executable): \(capabilities.joined(separator: " "))" }
    }

    /// What did not fit, by section.
    public struct Dropped: Sendable, Equatable {
        public var executables: UInt64 = 0
        public var files: UInt64 = 0
        public var network: UInt64 = 0
        public var identities: UInt64 = 0

        public init() {}

        public var total: UInt64 { executables + files + network + identities }
    }

    public var syscalls: [String: UInt64] = [:]
    public var compatSyscalls: [String: UInt64] = [:]
    public var executables: [Executable] = []
    /// Files whose code was mapped executable into a running program (libraries, an
    /// LD_PRELOAD, a dlopen, the dynamic loader's target), hashed as programs are.
    public var libraries: [Executable] = []
    /// Canonical paths; an entry ending in `/` stands for files under that directory
    /// (what was collapsed past the file limit).
    public var filesRead: [String] = []
    public var filesWritten: [String] = []
    public var connections: [Connection] = []
    public var listening: [Listener] = []
    public var users: [UInt32] = []
    public var groups: [UInt32] = []
    public var identityChanges: [IdentityChange] = []
    public var capabilitiesGained: [CapabilityGain] = []
    public var dropped = Dropped()
    /// Some entry was left out (`dropped` counts them).
    public var truncated: Bool { dropped.total > 0 }

    public init() {}

    /// Fills the syscall sections from the kernel's counts.
    public mutating func setSyscalls(_ counts: SyscallProfile) {
        syscalls = [:]
        compatSyscalls = [:]
        for entry in counts.byName(in: .native) { syscalls[entry.name] = entry.count }
        for entry in counts.byName(in: .compat) { compatSyscalls[entry.name] = entry.count }
    }

    // MARK: JSON

    /// The testimony's `profile` object.
    public func appendJSON(to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "{"))
        writer.key("syscalls")
        Self.appendCounts(syscalls, to: &writer)
        if !compatSyscalls.isEmpty {
            writer.raw(",")
            writer.key("compatSyscalls")
            Self.appendCounts(compatSyscalls, to: &writer)
        }
        writer.raw(",")
        writer.key("executables")
        Self.appendExecutables(executables, to: &writer)
        writer.raw(",")
        writer.key("libraries")
        Self.appendExecutables(libraries, to: &writer)
        writer.raw(",\"files\":{\"read\":")
        Self.appendArray(filesRead, to: &writer) { path, writer in writer.string(path) }
        writer.raw(",\"written\":")
        Self.appendArray(filesWritten, to: &writer) { path, writer in writer.string(path) }
        writer.raw("},\"network\":{\"connections\":")
        Self.appendArray(connections, to: &writer) { entry, writer in
            writer.raw("{\"family\":")
            writer.string(entry.family)
            writer.raw(",\"address\":")
            writer.string(entry.address)
            writer.raw(",\"port\":")
            writer.integer(entry.port)
            writer.raw(",\"protocol\":")
            writer.string(entry.transport)
            writer.raw(",\"result\":")
            writer.string(entry.result)
            writer.raw(",\"count\":")
            writer.integer(entry.count)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw(",\"listening\":")
        Self.appendArray(listening, to: &writer) { entry, writer in
            writer.raw("{\"family\":")
            writer.string(entry.family)
            writer.raw(",\"address\":")
            writer.string(entry.address)
            writer.raw(",\"port\":")
            writer.integer(entry.port)
            writer.raw(",\"protocol\":")
            writer.string(entry.transport)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw("},\"identities\":{\"users\":")
        Self.appendArray(users, to: &writer) { id, writer in writer.integer(id) }
        writer.raw(",\"groups\":")
        Self.appendArray(groups, to: &writer) { id, writer in writer.integer(id) }
        writer.raw(",\"changes\":")
        Self.appendArray(identityChanges, to: &writer) { entry, writer in
            writer.raw("{\"syscall\":")
            writer.string(entry.call)
            writer.raw(",\"arguments\":")
            Self.appendArray(entry.arguments, to: &writer) { value, writer in writer.integer(value) }
            writer.raw(",\"result\":")
            writer.string(entry.result)
            writer.raw(",\"executable\":")
            writer.string(entry.executable)
            writer.raw(",\"count\":")
            writer.integer(entry.count)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw(",\"capabilitiesGained\":")
        Self.appendArray(capabilitiesGained, to: &writer) { entry, writer in
            writer.raw("{\"executable\":")
            writer.string(entry.executable)
            writer.raw(",\"capabilities\":")
            Self.appendArray(entry.capabilities, to: &writer) { name, writer in writer.string(name) }
            writer.raw(",\"count\":")
            writer.integer(entry.count)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw("},\"truncated\":")
        writer.boolean(truncated)
        writer.raw(",\"dropped\":{\"executables\":")
        writer.integer(dropped.executables)
        writer.raw(",\"files\":")
        writer.integer(dropped.files)
        writer.raw(",\"network\":")
        writer.integer(dropped.network)
        writer.raw(",\"identities\":")
        writer.integer(dropped.identities)
        writer.raw("}}")
    }

    /// The profile alone, one line of JSON.
    public func json() -> String {
        var writer = JSONWriter(capacity: 4096)
        appendJSON(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `[{"path":..,"sha256":..,"count":..,"parent":..}]` (a hashError when there is no hash).
    private static func appendExecutables(_ entries: [Executable], to writer: inout JSONWriter) {
        appendArray(entries, to: &writer) { entry, writer in
            writer.raw("{\"path\":")
            writer.string(entry.path)
            writer.raw(",\"sha256\":")
            if let sha256 = entry.sha256 { writer.string(sha256) } else { writer.raw("null") }
            if let error = entry.hashError {
                writer.raw(",\"hashError\":")
                writer.string(error)
            }
            writer.raw(",\"count\":")
            writer.integer(entry.count)
            writer.raw(",\"parent\":")
            if let parent = entry.parent { writer.string(parent) } else { writer.raw("null") }
            writer.byte(UInt8(ascii: "}"))
        }
    }

    /// `{"name":count,...}`, most frequent first (ties by name).
    private static func appendCounts(_ counts: [String: UInt64], to writer: inout JSONWriter) {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        writer.byte(UInt8(ascii: "{"))
        for (index, entry) in sorted.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(entry.key)
            writer.byte(UInt8(ascii: ":"))
            writer.integer(entry.value)
        }
        writer.byte(UInt8(ascii: "}"))
    }

    private static func appendArray<Element>(
        _ elements: [Element], to writer: inout JSONWriter, _ each: (Element, inout JSONWriter) -> Void
    ) {
        writer.byte(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            each(element, &writer)
        }
        writer.byte(UInt8(ascii: "]"))
    }
}

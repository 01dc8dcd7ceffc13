/// What a subject did during one window — the syscalls it made, the programs it
/// ran (by content), the files it read and wrote, the endpoints it reached and the
/// identities it took — in a form a later window can be held to (drift), a seccomp
/// profile can be written from, and a controller can keep as the trial's runtime
/// evidence. Bounded: past each limit entries are dropped and counted, and
/// `truncated` says so.
package struct RuntimeProfile: Sendable, Equatable {
    /// A program run, by its kernel path and the sha256 of its content.
    package struct Executable: Sendable, Equatable {
        package var path: String
        /// Lowercase hex; nil when the file could not be hashed (`hashError` says why).
        package var sha256: String?
        package var hashError: String?
        package var count: UInt64
        /// The program of the first process seen running it.
        package var parent: String?

        package init(path: String, sha256: String?, hashError: String? = nil, count: UInt64 = 1, parent: String? = nil)
        {
            self.path = path
            self.sha256 = sha256
            self.hashError = hashError
            self.count = count
            self.parent = parent
        }
    }

    /// A distinct connection attempt: where to, how, and how it ended.
    package struct Connection: Sendable, Equatable {
        /// ipv4, ipv6, unix or other.
        package var family: String
        /// The address (a unix socket's path, `@name` for an abstract one).
        package var address: String
        package var port: UInt16
        /// tcp, udp, ... (empty when the socket did not say).
        package var transport: String
        /// `ok`, an errno name (`ECONNREFUSED`, `EINPROGRESS`), or `submitted` (io_uring).
        package var result: String
        package var count: UInt64

        package init(
            family: String, address: String, port: UInt16, transport: String, result: String, count: UInt64 = 1
        ) {
            self.family = family
            self.address = address
            self.port = port
            self.transport = transport
            self.result = result
            self.count = count
        }

        /// The endpoint, whatever the result: what drift compares.
        package var endpoint: String {
            RuntimeProfile.endpoint(family: family, address: address, port: port, transport: transport)
        }
    }

    /// A socket put to listening.
    package struct Listener: Sendable, Equatable {
        package var family: String
        package var address: String
        package var port: UInt16
        package var transport: String

        package init(family: String, address: String, port: UInt16, transport: String) {
            self.family = family
            self.address = address
            self.port = port
            self.transport = transport
        }

        package var endpoint: String {
            RuntimeProfile.endpoint(family: family, address: address, port: port, transport: transport)
        }
    }

    /// `tcp 10.0.0.1:443`, `unix /run/x.sock`: a socket's far (or listening) end.
    static func endpoint(family: String, address: String, port: UInt16, transport: String) -> String {
        "\(transport.isEmpty ? family : transport) \(address)\(port > 0 ? ":\(port)" : "")"
    }

    /// A setuid-family call: what was asked for, by which program, and its result.
    package struct IdentityChange: Sendable, Equatable {
        package var call: String
        package var arguments: [Int64]
        package var result: String
        package var executable: String
        package var count: UInt64

        package init(call: String, arguments: [Int64], result: String, executable: String, count: UInt64 = 1) {
            self.call = call
            self.arguments = arguments
            self.result = result
            self.executable = executable
            self.count = count
        }

        /// `setuid(0)`: what drift compares, whatever the result or the program.
        package var key: String { "\(call)(\(arguments.map(String.init).joined(separator: ",")))" }
    }

    /// Capabilities an exec gave a process that its previous image did not have.
    package struct CapabilityGain: Sendable, Equatable {
        package var executable: String
        package var capabilities: [String]
        package var count: UInt64

        package init(executable: String, capabilities: [String], count: UInt64 = 1) {
            self.executable = executable
            self.capabilities = capabilities
            self.count = count
        }

        /// `/usr/bin/sudo: CAP_SETUID CAP_SETGID`: what drift compares.
        package var key: String { "\(executable): \(capabilities.joined(separator: " "))" }
    }

    /// What did not fit, by section.
    package struct Dropped: Sendable, Equatable {
        package var executables: UInt64 = 0
        package var files: UInt64 = 0
        package var network: UInt64 = 0
        package var identities: UInt64 = 0

        package init() {}

        package var total: UInt64 { executables + files + network + identities }
    }

    package var syscalls: [String: UInt64] = [:]
    package var compatSyscalls: [String: UInt64] = [:]
    package var executables: [Executable] = []
    /// Files whose code was mapped executable into a running program (libraries, an
    /// LD_PRELOAD, a dlopen, the dynamic loader's target), hashed as programs are.
    package var libraries: [Executable] = []
    /// Canonical paths; an entry ending in `/` stands for files under that directory
    /// (what was collapsed past the file limit).
    package var filesRead: [String] = []
    package var filesWritten: [String] = []
    package var connections: [Connection] = []
    package var listening: [Listener] = []
    package var users: [UInt32] = []
    package var groups: [UInt32] = []
    package var identityChanges: [IdentityChange] = []
    package var capabilitiesGained: [CapabilityGain] = []
    package var dropped = Dropped()
    /// Some entry was left out (`dropped` counts them).
    package var truncated: Bool { dropped.total > 0 }

    package init() {}

    /// Fills the syscall sections from the kernel's counts.
    mutating func setSyscalls(_ counts: SyscallProfile) {
        syscalls = [:]
        compatSyscalls = [:]
        for entry in counts.byName(in: .native) { syscalls[entry.name] = entry.count }
        for entry in counts.byName(in: .compat) { compatSyscalls[entry.name] = entry.count }
    }

    // MARK: JSON

    /// The testimony's `profile` object.
    package func appendJSON(to writer: inout JSONWriter) {
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
            Self.appendSocketEnd(entry.family, entry.address, entry.port, entry.transport, to: &writer)
            writer.raw(",\"result\":")
            writer.string(entry.result)
            writer.raw(",\"count\":")
            writer.integer(entry.count)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.raw(",\"listening\":")
        Self.appendArray(listening, to: &writer) { entry, writer in
            Self.appendSocketEnd(entry.family, entry.address, entry.port, entry.transport, to: &writer)
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
    package func json() -> String {
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

    /// `{"family":..,"address":..,"port":..,"protocol":..` (the object left open).
    private static func appendSocketEnd(
        _ family: String, _ address: String, _ port: UInt16, _ transport: String, to writer: inout JSONWriter
    ) {
        writer.raw("{\"family\":")
        writer.string(family)
        writer.raw(",\"address\":")
        writer.string(address)
        writer.raw(",\"port\":")
        writer.integer(port)
        writer.raw(",\"protocol\":")
        writer.string(transport)
    }

    /// `{"name":count,...}`, most frequent first (ties by name).
    static func appendCounts(_ counts: [String: UInt64], to writer: inout JSONWriter) {
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

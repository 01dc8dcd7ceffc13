/// One subject's runtime profile, gathered record by record on the consumer thread
/// while its window is open. A name already seen costs a hash lookup and no
/// allocation. Against a `ProfileBaseline`, the first sighting of anything the
/// baseline lacks is a `DriftFinding` waiting in `findings` for the pipeline to
/// turn into an alert.
package final class ProfileBuilder {
    /// How much one window's profile keeps; past a limit entries are counted, not kept.
    package struct Limits: Sendable, Equatable {
        package var executables = 512
        /// Files per set (read, written); past it a file is kept as its directory.
        package var files = 2048
        /// Directories per set, once files are collapsed.
        package var directories = 512
        package var connections = 512
        package var identities = 256

        package init() {}

        /// Every limit at `count` (tests, small profiles).
        package init(all count: Int) {
            executables = count
            files = count
            directories = count
            connections = count
            identities = count
        }
    }

    /// A program as run: its name, its file, and that file's change time (the same
    /// file written in place between two execs is two entries, each hashed).
    private struct ExecutableKey: Hashable {
        var path: [UInt8]
        var file: FileID
        var changeTime: UInt64
        var library: Bool
    }

    private struct ExecutableEntry {
        /// Code mapped executable into a running program (a library, a loader's target),
        /// not a program run by exec.
        var library = false
        var path: [UInt8]
        var file: FileID
        var count: UInt64
        var parent: [UInt8]?
        var outcome: ExecutableHasher.Outcome?
    }

    package let limits: Limits
    package let baseline: ProfileBaseline?
    /// What is new against the baseline, in the order it was first seen.
    package var findings: [DriftFinding] = []
    private var executables: [ExecutableEntry] = []
    private var executableIndex: [ExecutableKey: Int] = [:]
    /// Libraries by interned name and file: a mapping seen before is found without a copy.
    private struct LibraryKey: Hashable {
        var name: Int
        var file: FileID
    }
    private var libraryNames = ByteStringSet()
    private var libraryIndex: [LibraryKey: Int] = [:]
    private var read = ByteStringSet()
    private var written = ByteStringSet()
    private var readDirectories = ByteStringSet()
    private var writtenDirectories = ByteStringSet()
    private var connections: [RuntimeProfile.Connection] = []
    private var connectionIndex: [String: Int] = [:]
    private var listening: [RuntimeProfile.Listener] = []
    private var users = Set<UInt32>()
    private var groups = Set<UInt32>()
    private var lastUser: UInt32 = .max
    private var lastGroup: UInt32 = .max
    private var changes: [RuntimeProfile.IdentityChange] = []
    private var changeIndex: [String: Int] = [:]
    private var gains: [RuntimeProfile.CapabilityGain] = []
    private var gainIndex: [String: Int] = [:]
    private var dropped = RuntimeProfile.Dropped()
    /// Drift already said for these items (each is said once per window).
    private var driftSaid = Set<String>()
    private var scratch: [UInt8] = []

    package init(limits: Limits = Limits(), baseline: ProfileBaseline? = nil) {
        self.limits = limits
        self.baseline = baseline
        scratch.reserveCapacity(4096)
    }

    // MARK: Noting

    /// Every record of the subject: who it ran as.
    @inline(__always)
    func noteCredentials(uid: UInt32, gid: UInt32, header: EventHeader) {
        // Seen in this window already (kept, and held to the baseline then): nothing to do.
        if uid != lastUser, !users.contains(uid) {
            if users.count < limits.identities { users.insert(uid) } else { dropped.identities &+= 1 }
            if let baseline, !baseline.users.contains(uid) { drift(.user, String(uid), header: header) }
        }
        lastUser = uid
        if gid != lastGroup, !groups.contains(gid) {
            if groups.count < limits.identities { groups.insert(gid) } else { dropped.identities &+= 1 }
            if let baseline, !baseline.groups.contains(gid) { drift(.group, String(gid), header: header) }
        }
        lastGroup = gid
    }

    /// A successful exec: the program by path and identity (a new pair wants hashing:
    /// returned as the entry's index), and capabilities the new image gained.
    package func noteExec(
        path: [UInt8], file: FileID, changeTime: UInt64 = 0, parent: [UInt8]?, capabilities: UInt64,
        previousCapabilities: UInt64?, header: EventHeader
    ) -> Int? {
        let hashIndex = keep(
            ExecutableKey(path: path, file: file, changeTime: changeTime, library: false), parent: parent,
            header: header)
        if let baseline, !baseline.executablePaths.contains(path) {
            drift(.executable, String(decoding: path, as: UTF8.self), header: header)
        }
        if let previousCapabilities, capabilities & ~previousCapabilities != 0 {
            let gain = RuntimeProfile.CapabilityGain(
                executable: String(decoding: path, as: UTF8.self),
                capabilities: Capabilities.list(capabilities & ~previousCapabilities))
            if let index = gainIndex[gain.key] {
                gains[index].count &+= 1
            } else if gains.count < limits.identities {
                gainIndex[gain.key] = gains.count
                gains.append(gain)
            } else {
                dropped.identities &+= 1
            }
            if let baseline, !baseline.gains.contains(gain.key) { drift(.capabilities, gain.key, header: header) }
        }
        return hashIndex
    }

    /// A file's code mapped executable (mmap or mprotect with PROT_EXEC): a library,
    /// an LD_PRELOAD, a dlopen, the dynamic loader's target. A new pair of name and
    /// file wants hashing: returned as the entry's index.
    package func noteLibrary(path: UnsafeBufferPointer<UInt8>, file: FileID, header: EventHeader) -> Int? {
        // A library mapped again (every exec maps the same few) costs lookups, no copy.
        if let name = libraryNames.insert(path, limit: limits.executables), !name.inserted,
            let index = libraryIndex[LibraryKey(name: name.index, file: file)]
        {
            executables[index].count &+= 1
            return nil  // seen: nothing new to hash or to hold to the baseline
        }
        let name = Array(path)
        let key = ExecutableKey(path: name, file: file, changeTime: 0, library: true)
        let hashIndex = keep(key, parent: nil, header: header)
        if let index = executableIndex[key], let interned = libraryNames.index(of: path) {
            libraryIndex[LibraryKey(name: interned, file: file)] = index
        }
        if let baseline, !baseline.libraryPaths.contains(name) {
            drift(.library, String(decoding: name, as: UTF8.self), header: header)
        }
        return hashIndex
    }

    /// Counts a program or library as run; a new one is kept, its index returned for
    /// hashing. Past the limit it is dropped, and — held to a baseline — its content is
    /// unverified, which is drift.
    private func keep(_ key: ExecutableKey, parent: [UInt8]?, header: EventHeader) -> Int? {
        if let index = executableIndex[key] {
            executables[index].count &+= 1
            return nil
        }
        guard executables.count < limits.executables else {
            dropped.executables &+= 1
            if baseline != nil {
                drift(
                    .executableContent,
                    "\(String(decoding: key.path, as: UTF8.self)) (content not verified: the profile is full)",
                    header: header)
            }
            return nil
        }
        executableIndex[key] = executables.count
        executables.append(
            ExecutableEntry(library: key.library, path: key.path, file: key.file, count: 1, parent: parent))
        return executables.count - 1
    }

    /// The hash of executable entry `index` arrived (on the consumer thread).
    func noteHash(_ outcome: ExecutableHasher.Outcome, entry index: Int, header: EventHeader) {
        guard executables.indices.contains(index) else { return }
        executables[index].outcome = outcome
        guard let baseline else { return }
        let path = String(decoding: executables[index].path, as: UTF8.self)
        switch outcome {
        case let .digest(hex) where !baseline.allows(hex, at: executables[index].path):
            drift(.executableContent, "\(path) sha256:\(hex)", header: header)
        case let .failed(reason):
            drift(.executableContent, "\(path) (content not verified: \(reason))", header: header)
        default: break
        }
    }

    /// A file read or written (`path` as the kernel named it, in pieces).
    package func noteFile(_ path: UnsafeBufferPointer<UInt8>, written isWrite: Bool, header: EventHeader) {
        let inserted: (index: Int, inserted: Bool)?
        if isWrite {
            inserted = written.insert(path, limit: limits.files)
        } else {
            inserted = read.insert(path, limit: limits.files)
        }
        let directory = Self.directory(of: path)
        // New to this window: a new file, a new collapsed directory, or one not kept.
        var isNew = inserted?.inserted ?? true
        if inserted == nil {
            // Full: kept as its directory, `dir/`.
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: directory)
            if scratch.last != UInt8(ascii: "/") { scratch.append(UInt8(ascii: "/")) }
            let kept = scratch.withUnsafeBufferPointer {
                isWrite
                    ? writtenDirectories.insert($0, limit: limits.directories)
                    : readDirectories.insert($0, limit: limits.directories)
            }
            if kept == nil { dropped.files &+= 1 }
            isNew = kept?.inserted ?? true
        }
        // Drift: a file written in a directory the baseline never wrote in.
        if isWrite, isNew, let baseline {
            let name = String(decoding: directory, as: UTF8.self)
            if !baseline.writtenDirectories.contains(name) {
                drift(.writtenDirectory, name, header: header)
            }
        }
    }

    /// A connection attempt and how it ended.
    package func noteConnection(_ remote: SocketAddress, transport: Transport, result: String, header: EventHeader) {
        let (family, address, port) = Self.describe(remote)
        let entry = RuntimeProfile.Connection(
            family: family, address: address, port: port, transport: transport.name.map { "\($0)" } ?? "",
            result: result)
        let key = entry.endpoint + " " + result
        if let index = connectionIndex[key] {
            connections[index].count &+= 1
            return
        }
        if connections.count < limits.connections {
            connectionIndex[key] = connections.count
            connections.append(entry)
        } else {
            dropped.network &+= 1
        }
        if let baseline, !baseline.endpoints.contains(entry.endpoint) {
            drift(.endpoint, entry.endpoint, header: header)
        }
    }

    /// A socket put to listening, by its local end.
    func noteListen(_ local: SocketAddress?, transport: Transport, header: EventHeader) {
        let (family, address, port) = local.map(Self.describe) ?? ("unknown", "", 0)
        let entry = RuntimeProfile.Listener(
            family: family, address: address, port: port, transport: transport.name.map { "\($0)" } ?? "")
        guard !listening.contains(entry) else { return }
        if listening.count < limits.connections {
            listening.append(entry)
        } else {
            dropped.network &+= 1
        }
        if let baseline, !baseline.listeners.contains(entry.endpoint) {
            drift(.listening, entry.endpoint, header: header)
        }
    }

    /// A setuid-family call.
    func noteIdentityChange(
        call: String, arguments: [Int64], result: String, executable: [UInt8], header: EventHeader
    ) {
        let change = RuntimeProfile.IdentityChange(
            call: call, arguments: arguments, result: result, executable: String(decoding: executable, as: UTF8.self))
        let key = "\(change.key) \(result) \(change.executable)"
        if let index = changeIndex[key] {
            changes[index].count &+= 1
        } else if changes.count < limits.identities {
            changeIndex[key] = changes.count
            changes.append(change)
        } else {
            dropped.identities &+= 1
        }
        if let baseline, !baseline.changes.contains(change.key) { drift(.identityChange, change.key, header: header) }
    }

    // MARK: Closing

    /// The executables still waiting for their hash, as (index, path, file).
    package var unhashed: [(index: Int, path: [UInt8], file: FileID)] {
        executables.indices.filter { executables[$0].outcome == nil }.map {
            ($0, executables[$0].path, executables[$0].file)
        }
    }

    /// Drift in the kernel's syscall counts (known at close).
    func noteSyscalls(_ counts: SyscallProfile, header: EventHeader) {
        guard let baseline else { return }
        for entry in counts.byName(in: .native) where !baseline.syscalls.contains(entry.name) {
            drift(.syscall, entry.name, header: header)
        }
        for entry in counts.byName(in: .compat) where !baseline.compatSyscalls.contains(entry.name) {
            drift(.syscall, "\(entry.name) (ia32)", header: header)
        }
    }

    /// The profile as it stands, with the kernel's syscall counts.
    package func profile(syscalls: SyscallProfile?) -> RuntimeProfile {
        var profile = RuntimeProfile()
        if let syscalls { profile.setSyscalls(syscalls) }
        let described = executables.map { entry in
            var executable = RuntimeProfile.Executable(
                path: String(decoding: entry.path, as: UTF8.self), sha256: nil, count: entry.count,
                parent: entry.parent.map { String(decoding: $0, as: UTF8.self) })
            switch entry.outcome {
            case let .digest(hex)?: executable.sha256 = hex
            case let .failed(reason)?: executable.hashError = reason
            case nil: executable.hashError = "not hashed before the window closed"
            }
            return (entry.library, executable)
        }
        profile.executables = described.filter { !$0.0 }.map(\.1)
        profile.libraries = described.filter(\.0).map(\.1)
        profile.filesRead = Self.merged(read, readDirectories)
        profile.filesWritten = Self.merged(written, writtenDirectories)
        profile.connections = connections
        profile.listening = listening
        profile.users = users.sorted()
        profile.groups = groups.sorted()
        profile.identityChanges = changes
        profile.capabilitiesGained = gains
        profile.dropped = dropped
        return profile
    }

    // MARK: Helpers

    private func drift(_ kind: DriftFinding.Kind, _ item: String, header: EventHeader) {
        guard driftSaid.count <= Self.driftCap else { return }
        guard driftSaid.count < Self.driftCap else {
            // Said once: past here drift is not itemized (the window has thousands of alerts already).
            driftSaid.insert("")
            findings.append(
                DriftFinding(
                    kind: kind, item: "more drift than \(Self.driftCap) items: not itemized beyond", pid: header.pid,
                    syscall: header.syscall))
            return
        }
        guard driftSaid.insert("\(kind.rawValue) \(item)").inserted else { return }
        findings.append(DriftFinding(kind: kind, item: item, pid: header.pid, syscall: header.syscall))
    }

    static let driftCap = 4096

    /// Files, then the collapsed directories, sorted; a file under a collapsed directory is left to it.
    private static func merged(_ files: ByteStringSet, _ directories: ByteStringSet) -> [String] {
        var result = files.elements.filter { path in
            path.withUnsafeBufferPointer { name in
                var directory = Array(Self.directory(of: name))
                if directory.last != UInt8(ascii: "/") { directory.append(UInt8(ascii: "/")) }
                return !directories.contains(directory)
            }
        }
        result.append(contentsOf: directories.elements)
        return result.map { String(decoding: $0, as: UTF8.self) }.sorted()
    }

    /// The directory part of an absolute path (`/` for a file in the root).
    static func directory(of path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else {
            return UnsafeBufferPointer(rebasing: path[0..<0])
        }
        return UnsafeBufferPointer(rebasing: path[0..<max(slash, 1)])
    }

    /// family, address and port of a connection's remote end.
    static func describe(_ address: SocketAddress) -> (String, String, UInt16) {
        var writer = JSONWriter(capacity: 64)
        switch address {
        case let .ipv4(_, port):
            SocketAddressFormatter.appendHost(address, to: &writer)
            return ("ipv4", String(decoding: writer.bytes, as: UTF8.self), port)
        case let .ipv6(_, _, port):
            SocketAddressFormatter.appendHost(address, to: &writer)
            return ("ipv6", String(decoding: writer.bytes, as: UTF8.self), port)
        case let .unix(path):
            var name = ""
            SocketAddressFormatter.unixName(path) { abstract, bytes in
                name = (abstract ? "@" : "") + String(decoding: bytes, as: UTF8.self)
            }
            return ("unix", name, 0)
        case .unspecified:
            return ("unspec", "", 0)
        case let .other(family):
            return ("family \(family)", "", 0)
        }
    }
}

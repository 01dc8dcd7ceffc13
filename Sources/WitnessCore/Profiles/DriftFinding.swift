/// Something a subject did in its window that its baseline profile lacks: the
/// makings of one `Drift from baseline profile` alert.
package struct DriftFinding: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// A program run under a path the baseline never ran.
        case executable
        /// Code mapped from a file the baseline never mapped (LD_PRELOAD, dlopen, ld.so's target).
        case library
        /// A program whose content (sha256) the baseline never ran, or whose content
        /// could not be verified.
        case executableContent = "executable content"
        case syscall
        /// A file written in a directory the baseline never wrote in.
        case writtenDirectory = "written directory"
        /// A remote endpoint (protocol, address, port) the baseline never tried.
        case endpoint
        /// A port the baseline never listened on.
        case listening = "listening port"
        /// A user or group id the baseline never ran as.
        case user
        case group
        /// A setuid-family call (with these arguments) the baseline never made.
        case identityChange = "identity change"
        /// Capabilities an exec gave that the baseline's same program never gained.
        case capabilities = "capabilities gained"
    }

    package var kind: Kind
    /// What is new, as the alert names it.
    package var item: String
    /// The process that did it (0 when found at close, from the kernel's counts).
    package var pid: Int32
    package var syscall: Syscall

    package init(kind: Kind, item: String, pid: Int32, syscall: Syscall) {
        self.kind = kind
        self.item = item
        self.pid = pid
        self.syscall = syscall
    }
}

/// A locked profile prepared for lookups: what a window is held to.
package struct ProfileBaseline: Sendable {
    var executablePaths: Set<[UInt8]>
    var libraryPaths: Set<[UInt8]>
    package var hashes: Set<String>
    /// The contents each path ran with (none when the baseline could not hash it): a
    /// baseline program copied over another's name is new content there.
    var hashesByPath: [[UInt8]: Set<String>]
    package var syscalls: Set<String>
    package var compatSyscalls: Set<String>
    /// Directories the baseline wrote files in (a collapsed `dir/` entry counts as `dir`).
    var writtenDirectories: Set<String>
    package var endpoints: Set<String>
    package var listeners: Set<String>
    package var users: Set<UInt32>
    package var groups: Set<UInt32>
    /// `call(arguments)` of each identity change, whatever its result.
    package var changes: Set<String>
    /// `program: CAP_A CAP_B` of each capability gain.
    var gains: Set<String>

    package init(_ profile: RuntimeProfile) {
        executablePaths = Set(profile.executables.map { Array($0.path.utf8) })
        libraryPaths = Set(profile.libraries.map { Array($0.path.utf8) })
        hashes = Set((profile.executables + profile.libraries).compactMap(\.sha256))
        // Every path the baseline ran has its set, empty when it holds no hash there
        // (too large, not hashed in time): a baseline that did not verify a path
        // vouches for no content at it — not even content it ran elsewhere.
        var byPath: [[UInt8]: Set<String>] = [:]
        for executable in profile.executables + profile.libraries {
            let path = Array(executable.path.utf8)
            byPath[path, default: []].formUnion(executable.sha256.map { [$0] } ?? [])
        }
        hashesByPath = byPath
        syscalls = Set(profile.syscalls.keys)
        compatSyscalls = Set(profile.compatSyscalls.keys)
        writtenDirectories = Set(profile.filesWritten.map(Self.directory(of:)))
        endpoints = Set(profile.connections.map(\.endpoint))
        listeners = Set(profile.listening.map(\.endpoint))
        users = Set(profile.users)
        groups = Set(profile.groups)
        changes = Set(profile.identityChanges.map(\.key))
        gains = Set(profile.capabilitiesGained.map(\.key))
    }

    /// Whether content `hex` is known at `path`: among the contents the baseline ran
    /// — and verified — there, or, for a path it never ran (itself drift), among any
    /// it ran.
    package func allows(_ hex: String, at path: [UInt8]) -> Bool {
        if let known = hashesByPath[path] { return known.contains(hex) }
        return hashes.contains(hex)
    }

    /// The directory a profile's written entry stands for.
    package static func directory(of entry: String) -> String {
        var bytes = Array(entry.utf8)
        if bytes.last == UInt8(ascii: "/") {
            if bytes.count > 1 { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
        return bytes.withUnsafeBufferPointer { String(decoding: ProfileBuilder.directory(of: $0), as: UTF8.self) }
    }

    /// Everything in `profile` this baseline lacks: what `profile diff` prints and what
    /// a live window would have alerted on.
    package func drift(of profile: RuntimeProfile) -> [DriftFinding] {
        var findings: [DriftFinding] = []
        var said = Set<String>()
        func add(_ kind: DriftFinding.Kind, _ item: String) {
            if said.insert("\(kind.rawValue) \(item)").inserted {
                findings.append(DriftFinding(kind: kind, item: item, pid: 0, syscall: .none))
            }
        }
        for library in profile.libraries where !libraryPaths.contains(Array(library.path.utf8)) {
            add(.library, library.path)
        }
        for executable in profile.executables + profile.libraries {
            if profile.executables.contains(executable), !executablePaths.contains(Array(executable.path.utf8)) {
                add(.executable, executable.path)
            }
            if let hex = executable.sha256 {
                if !allows(hex, at: Array(executable.path.utf8)) {
                    add(.executableContent, "\(executable.path) sha256:\(hex)")
                }
            } else {
                add(
                    .executableContent,
                    "\(executable.path) (content not verified: \(executable.hashError ?? "no hash"))")
            }
        }
        for name in profile.syscalls.keys.sorted() where !syscalls.contains(name) { add(.syscall, name) }
        for name in profile.compatSyscalls.keys.sorted() where !compatSyscalls.contains(name) {
            add(.syscall, "\(name) (ia32)")
        }
        for entry in profile.filesWritten {
            let directory = Self.directory(of: entry)
            if !writtenDirectories.contains(directory) { add(.writtenDirectory, directory) }
        }
        for connection in profile.connections where !endpoints.contains(connection.endpoint) {
            add(.endpoint, connection.endpoint)
        }
        for listener in profile.listening where !listeners.contains(listener.endpoint) {
            add(.listening, listener.endpoint)
        }
        for user in profile.users where !users.contains(user) { add(.user, String(user)) }
        for group in profile.groups where !groups.contains(group) { add(.group, String(group)) }
        for change in profile.identityChanges where !changes.contains(change.key) { add(.identityChange, change.key) }
        for gain in profile.capabilitiesGained where !gains.contains(gain.key) { add(.capabilities, gain.key) }
        return findings
    }
}

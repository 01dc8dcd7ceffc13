/// Something a subject did in its window that its baseline profile lacks: the
/// makings of one `Drift from baseline profile` alert.
public struct DriftFinding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A program run under a path the baseline never ran.
        case executable
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
    }

    public var kind: Kind
    /// What is new, as the alert names it.
    public var item: String
    /// The process that did it (0 when found at close, from the kernel's counts).
    public var pid: Int32
    public var syscall: Syscall

    public init(kind: Kind, item: String, pid: Int32, syscall: Syscall) {
        self.kind = kind
        self.item = item
        self.pid = pid
        self.syscall = syscall
    }
}

/// A locked profile prepared for lookups: what a window is held to.
public struct ProfileBaseline: Sendable {
    public var executablePaths: Set<[UInt8]>
    public var hashes: Set<String>
    public var syscalls: Set<String>
    public var compatSyscalls: Set<String>
    /// Directories the baseline wrote files in (a collapsed `dir/` entry counts as `dir`).
    public var writtenDirectories: Set<String>
    public var endpoints: Set<String>
    public var listeners: Set<String>

    public init(_ profile: RuntimeProfile) {
        executablePaths = Set(profile.executables.map { Array($0.path.utf8) })
        hashes = Set(profile.executables.compactMap(\.sha256))
        syscalls = Set(profile.syscalls.keys)
        compatSyscalls = Set(profile.compatSyscalls.keys)
        writtenDirectories = Set(profile.filesWritten.map(Self.directory(of:)))
        endpoints = Set(profile.connections.map(\.endpoint))
        listeners = Set(profile.listening.map(\.endpoint))
    }

    /// The directory a profile's written entry stands for.
    public static func directory(of entry: String) -> String {
        var bytes = Array(entry.utf8)
        if bytes.last == UInt8(ascii: "/") {
            if bytes.count > 1 { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
        return bytes.withUnsafeBufferPointer { String(decoding: ProfileBuilder.directory(of: $0), as: UTF8.self) }
    }

    /// Everything in `profile` this baseline lacks: what `profile diff` prints and what
    /// a live window would have alerted on.
    public func drift(of profile: RuntimeProfile) -> [DriftFinding] {
        var findings: [DriftFinding] = []
        var said = Set<String>()
        func add(_ kind: DriftFinding.Kind, _ item: String) {
            if said.insert("\(kind.rawValue) \(item)").inserted {
                findings.append(DriftFinding(kind: kind, item: item, pid: 0, syscall: .none))
            }
        }
        for executable in profile.executables {
            if !executablePaths.contains(Array(executable.path.utf8)) { add(.executable, executable.path) }
            if let hex = executable.sha256 {
                if !hashes.contains(hex) { add(.executableContent, "\(executable.path) sha256:\(hex)") }
            } else {
                add(.executableContent, "\(executable.path) (content not verified: \(executable.hashError ?? "no hash"))")
            }
        }
        for name in profile.syscalls.keys.sorted() where !syscalls.contains(name) { add(.syscall, name) }
        for name in profile.compatSyscalls.keys.sorted() where !compatSyscalls.contains(name) { add(.syscall, "\(name) (ia32)") }
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
        return findings
    }
}

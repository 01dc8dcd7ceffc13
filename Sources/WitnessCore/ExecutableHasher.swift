import Dispatch
import Glibc
import Synchronization

/// Computes the sha256 of the programs subjects run, on a thread of its own: the
/// consumer thread never reads a file, so a subject running a large (or slow) binary
/// delays only its own profile, never the events. The file is read through
/// /proc/PID/exe while the process lives (the file it runs, whatever its name now),
/// else by its path, and is hashed only when its inode is the one the kernel
/// reported at exec: a file swapped in under the same name is refused, not hashed.
/// Each file is hashed once per device, inode, size and modification time.
public final class ExecutableHasher: Sendable {
    /// A file's digest (lowercase hex) or why there is none.
    public enum Outcome: Sendable, Equatable {
        case digest(String)
        case failed(String)
    }

    private struct Key: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int
    }

    private struct State {
        var cache: [Key: String] = [:]
        var pending = 0
    }

    /// A file as a recording names it: identity and path.
    private struct RecordedKey: Hashable {
        var file: FileID
        var path: [UInt8]
    }

    /// Replay: outcomes come from the recording, not from files.
    private struct Replay {
        var known: [RecordedKey: Outcome] = [:]
        var waiting: [(RecordedKey, @Sendable (Outcome) -> Void)] = []
    }

    /// Files larger than this are not read.
    public let maxBytes: Int
    /// Requests waiting beyond this are refused (the profile says `not hashed`).
    public let maxPending: Int
    private let maxCached = 8192
    private let procRoot: String
    private let queue = DispatchQueue(label: "witness-hasher", qos: .utility)
    private let state = Mutex(State())
    private let replay = Mutex(Replay())
    private let replaying: Bool

    public init(procRoot: String = "/proc", maxBytes: Int = 256 << 20, maxPending: Int = 4096) {
        self.procRoot = procRoot
        self.maxBytes = maxBytes
        self.maxPending = maxPending
        replaying = false
    }

    /// A hasher that reads no file: `recorded` gives it the outcomes a recording holds,
    /// and `waitForPending` answers every request with them.
    public init(replaying _: Void) {
        procRoot = "/nonexistent"
        maxBytes = 0
        maxPending = Int.max
        replaying = true
    }

    /// An outcome a recording holds.
    public func recorded(file: FileID, path: [UInt8], outcome: Outcome) {
        replay.withLock { $0.known[RecordedKey(file: file, path: path)] = outcome }
    }

    /// Hashes the file `file` (by identity; `.none` for a script, read by name) that
    /// process `pid` runs as `path`, and hands the outcome to `done` on the hasher's
    /// thread. False when too many requests wait: nothing will be called.
    public func request(
        file: FileID, path: [UInt8], pid: Int32, _ done: @escaping @Sendable (Outcome) -> Void
    ) -> Bool {
        if replaying {
            replay.withLock { $0.waiting.append((RecordedKey(file: file, path: path), done)) }
            return true
        }
        let accepted = state.withLock { state in
            guard state.pending < maxPending else { return false }
            state.pending += 1
            return true
        }
        guard accepted else { return false }
        queue.async { [self] in
            let outcome = hash(file: file, path: path, pid: pid)
            state.withLock { $0.pending -= 1 }
            done(outcome)
        }
        return true
    }

    /// Waits until what was requested before this call is done, or `milliseconds`
    /// pass; true when everything was done.
    public func waitForPending(milliseconds: Int) -> Bool {
        if replaying {
            let answers = replay.withLock { state in
                defer { state.waiting.removeAll() }
                return state.waiting.map { ($0.1, state.known[$0.0] ?? .failed("no hash in the recording")) }
            }
            for (done, outcome) in answers { done(outcome) }
            return true
        }
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + .milliseconds(milliseconds)) == .success
    }

    private func hash(file: FileID, path: [UInt8], pid: Int32) -> Outcome {
        var descriptor: Int32 = -1
        var info = stat()
        // The running process's own file first, then its name.
        // A script (no identity) by its name only: /proc/PID/exe is its interpreter.
        let named = String(decoding: path, as: UTF8.self)
        for candidate in file.isNone ? [named] : ["\(procRoot)/\(pid)/exe", named] {
            let fd = open(candidate, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard fd >= 0 else { continue }
            if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, file.isNone || UInt64(info.st_ino) == file.inode {
                descriptor = fd
                break
            }
            close(fd)
        }
        guard descriptor >= 0 else {
            return .failed(file.isNone ? "unreadable" : "the file was gone or replaced before it could be read")
        }
        defer { close(descriptor) }
        guard Int(info.st_size) <= maxBytes else { return .failed("larger than \(maxBytes >> 20) MiB, not read") }
        let key = Key(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
        if let known = state.withLock({ $0.cache[key] }) { return .digest(known) }
        var digest = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return .failed("read failed: errno \(errno)") }
            if count == 0 { break }
            total += count
            guard total <= maxBytes else { return .failed("larger than \(maxBytes >> 20) MiB, not read") }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        let hex = SHA256.hex(digest.finish())
        state.withLock { state in
            if state.cache.count >= maxCached { state.cache.removeAll(keepingCapacity: true) }
            state.cache[key] = hex
        }
        return .digest(hex)
    }
}

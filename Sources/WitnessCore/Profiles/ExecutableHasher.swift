import Dispatch
import Glibc
import Synchronization

/// Computes the sha256 of the programs subjects run, on a thread of its own: the
/// consumer thread never reads a file, so a subject running a large (or slow) binary
/// delays only its own profile, never the events. The file is read through
/// /proc/PID/exe while the process lives (the file it runs, whatever its name now),
/// else by its path, and is hashed only when it is the file the kernel ran, as it
/// was then: the inode the kernel reported, with the change time it had at exec (a
/// write since, even one that puts the mtime back, moves it). A file swapped in or
/// changed is refused, never hashed. A script (no identity from the kernel) is read
/// through the process's root and only when its user could read it: the hash is no
/// oracle for files the subject may not read. Each file is hashed once per device,
/// inode, size and change time.
package final class ExecutableHasher: Sendable {
    /// A file's digest (lowercase hex) or why there is none.
    package enum Outcome: Sendable, Equatable {
        case digest(String)
        case failed(String)
    }

    private struct Key: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        /// The inode's change time: any write, even one that puts the mtime back, moves it.
        var changed: UInt64
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

    /// Replay: the requests waiting for the recording's outcome of their file.
    private struct Replay {
        var waiting: [(RecordedKey, @Sendable (Outcome) -> Void)] = []
    }

    /// Files larger than this are not read.
    package let maxBytes: Int
    /// Requests waiting beyond this are refused (the profile says `not hashed`).
    let maxPending: Int
    private let maxCached = 8192
    private let procRoot: String
    private let queue = DispatchQueue(label: "witness-hasher", qos: .utility)
    private let state = Mutex(State())
    private let replay = Mutex(Replay())
    private let replaying: Bool

    package init(procRoot: String = "/proc", maxBytes: Int = 256 << 20, maxPending: Int = 4096) {
        self.procRoot = procRoot
        self.maxBytes = maxBytes
        self.maxPending = maxPending
        replaying = false
    }

    /// A hasher that reads no file: each request waits for the outcome the recording
    /// holds for it (`recorded`), and one the recording never answers stays unanswered.
    package init(replaying _: Void) {
        procRoot = "/nonexistent"
        maxBytes = 0
        maxPending = Int.max
        replaying = true
    }

    /// An outcome a recording holds, where the live run received it: the requests
    /// waiting for that file are answered now, as they were then.
    package func recorded(file: FileID, path: [UInt8], outcome: Outcome) {
        let key = RecordedKey(file: file, path: path)
        let answered = replay.withLock { state -> [@Sendable (Outcome) -> Void] in
            let waiting = state.waiting.filter { $0.0 == key }.map(\.1)
            state.waiting.removeAll { $0.0 == key }
            return waiting
        }
        for done in answered { done(outcome) }
    }

    /// Hashes the file `file` (by identity; `.none` for a script, read by name) that
    /// process `pid` runs as `path`, and hands the outcome to `done` on the hasher's
    /// thread. False when too many requests wait: nothing will be called.
    package func request(
        file: FileID, changeTime: UInt64 = 0, path: [UInt8], pid: Int32, uid: UInt32 = 0, gid: UInt32 = 0,
        hostNamespace: Bool = true, _ done: @escaping @Sendable (Outcome) -> Void
    ) -> Bool {
        if replaying {
            // Answered when the recording's outcome for the file is read, where the live
            // run received it; one never received stays unanswered, as it did live.
            return replay.withLock { state in
                guard state.waiting.count < maxCached else { return false }
                state.waiting.append((RecordedKey(file: file, path: path), done))
                return true
            }
        }
        let accepted = state.withLock { state in
            guard state.pending < maxPending else { return false }
            state.pending += 1
            return true
        }
        guard accepted else { return false }
        queue.async { [self] in
            let outcome = hash(
                file: file, changeTime: changeTime, path: path, pid: pid, uid: uid, gid: gid,
                hostNamespace: hostNamespace)
            state.withLock { $0.pending -= 1 }
            done(outcome)
        }
        return true
    }

    /// Waits until what was requested before this call is done, or `milliseconds`
    /// pass; true when everything was done.
    package func waitForPending(milliseconds: Int) -> Bool {
        if replaying { return true }
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + .milliseconds(milliseconds)) == .success
    }

    private func hash(
        file: FileID, changeTime: UInt64, path: [UInt8], pid: Int32, uid: UInt32, gid: UInt32, hostNamespace: Bool
    ) -> Outcome {
        var descriptor: Int32 = -1
        var info = stat()
        let named = String(decoding: path, as: UTF8.self)
        // A program by the running process's own file; then (a library, a script, a
        // program whose process is gone) by its name as the process sees it — its
        // mount namespace, a container's files — and as the host does.
        let inRoot = "\(procRoot)/\(pid)/root\(named)"
        // A script has no identity to check a file against: by the host's name only
        // when the process saw the host's files (no container's path onto a host file).
        let candidates =
            file.isNone ? (hostNamespace ? [inRoot, named] : [inRoot]) : ["\(procRoot)/\(pid)/exe", inRoot, named]
        for candidate in candidates {
            let fd = open(candidate, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard fd >= 0 else { continue }
            if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, file.isNone || UInt64(info.st_ino) == file.inode
            {
                descriptor = fd
                break
            }
            close(fd)
        }
        guard descriptor >= 0 else {
            return .failed(file.isNone ? "unreadable" : "the file was gone or replaced before it could be read")
        }
        let changed = UInt64(info.st_ctim.tv_sec) &* 1_000_000_000 &+ UInt64(info.st_ctim.tv_nsec)
        if changeTime != 0 && changed != changeTime {
            close(descriptor)
            return .failed("the file changed after it ran")
        }
        if file.isNone && !Self.readable(info, uid: uid, gid: gid) {
            close(descriptor)
            return .failed("not readable by the process's user")
        }
        defer { close(descriptor) }
        guard Int(info.st_size) <= maxBytes else { return .failed("larger than \(maxBytes >> 20) MiB, not read") }
        let key = Key(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size), changed: changed)
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
        // Written while it was read: what was hashed is not what ran.
        var after = stat()
        if fstat(descriptor, &after) == 0,
            UInt64(after.st_ctim.tv_sec) &* 1_000_000_000 &+ UInt64(after.st_ctim.tv_nsec) != changed
        {
            return .failed("the file changed while it was read")
        }
        let hex = SHA256.hex(digest.finish())
        state.withLock { state in
            if state.cache.count >= maxCached { state.cache.removeAll(keepingCapacity: true) }
            state.cache[key] = hex
        }
        return .digest(hex)
    }

    /// Whether user `uid` (group `gid`; supplementary groups unknown) may read the file.
    private static func readable(_ info: stat, uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 { return true }
        if info.st_uid == uid { return info.st_mode & S_IRUSR != 0 }
        if info.st_gid == gid { return info.st_mode & S_IRGRP != 0 }
        return info.st_mode & S_IROTH != 0
    }
}

import Glibc

/// Writes one window's recording (`RecordingFormat`) on the consumer thread: frames
/// gather in a buffer that is compressed and written every 256 KiB, so a record
/// costs a copy, not a system call. Bounded: past `maxBytes` of file the records
/// stop (counted in `skipped`, the end frame says `truncated`), the end is still written.
/// Used by one thread at a time: made where the window opens, handed to the consumer
/// thread, finished there.
package final class RecordingWriter: @unchecked Sendable {
    /// What a finished recording holds, for the testimony and the window.
    package struct Summary: Sendable, Equatable {
        package var path: String
        package var records: UInt64
        package var bytes: UInt64
        package var truncated: Bool
        /// Set when the file could not be written (the recording is then incomplete).
        package var error: String?
    }

    /// What the end frame says.
    package struct Ending: Sendable {
        package var startBootTime: UInt64
        package var endBootTime: UInt64
        package var endReason: String
        package var kernelDrops: UInt64
        package var agentDrops: UInt64
        package var syscalls: [SyscallCount]
        /// What the live window could not see (its testimony's coverage).
        package var coverage: Coverage?
        /// How the live window began: from its subject's birth, when it was armed, and
        /// what it found running (the found records themselves are in the recording).
        package var witnessedFromStart = false
        package var armedBootTime: UInt64?
        package var found: FoundSummary?

        package init(
            startBootTime: UInt64, endBootTime: UInt64, endReason: String, kernelDrops: UInt64, agentDrops: UInt64,
            syscalls: [SyscallCount], coverage: Coverage? = nil
        ) {
            self.coverage = coverage
            self.startBootTime = startBootTime
            self.endBootTime = endBootTime
            self.endReason = endReason
            self.kernelDrops = kernelDrops
            self.agentDrops = agentDrops
            self.syscalls = syscalls
        }
    }

    package let path: String
    /// Records of these subject slots are kept (all: witness mode).
    package let subjects: UInt64
    package let maxBytes: UInt64
    package private(set) var records: UInt64 = 0
    /// Records, and side frames, left out (past the size limit, or too large).
    package private(set) var skipped: UInt64 = 0
    package private(set) var written: UInt64 = 0
    private var fd: Int32
    private let deflater: ZlibStream
    private var pending: [UInt8] = []
    private var output = [UInt8](repeating: 0, count: 128 << 10)
    private var failure: String?
    private let flushAt = 256 << 10

    /// Creates `path` (not replacing a file already there) and writes the prefix and
    /// the `meta` frame: `metadata` pairs, in order.
    package init(path: String, subjects: UInt64, maxBytes: UInt64, metadata: [(String, String)]) throws(AgentError) {
        guard let deflater = ZlibStream(inflate: false) else { throw AgentError.runtime("zlib: out of memory") }
        self.deflater = deflater
        self.path = path
        self.subjects = subjects
        self.maxBytes = maxBytes
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError.usage("cannot create recording '\(path)': \(String(cString: strerror(errno)))")
        }
        pending.reserveCapacity(flushAt + 64 << 10)
        let prefix = RecordingFormat.prefix()
        written = UInt64(prefix.withUnsafeBytes { FileWrites.all(fd, $0) })
        if written < prefix.count { failure = "write: \(String(cString: strerror(errno)))" }
        var meta = ByteWriter()
        for (key, value) in metadata {
            meta.string(key)
            meta.string(value)
        }
        frame(.meta, meta.bytes)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The profile the window is held to and the priority of its drift alerts, so a
    /// replay alerts on the same drift.
    package func baseline(_ profile: RuntimeProfile, priority: Priority) {
        var frame = ByteWriter()
        frame.u8(UInt8(priority.rawValue))
        frame.bytes.append(contentsOf: profile.json().utf8)
        self.frame(.baseline, frame.bytes)
    }

    /// One frame of `kind` (side frames: the process table, identities, ...).
    package func frame(_ kind: RecordingFormat.Kind, _ payload: [UInt8]) {
        payload.withUnsafeBytes { frame(kind, $0) }
    }

    package func frame(_ kind: RecordingFormat.Kind, _ payload: UnsafeRawBufferPointer) {
        guard fd >= 0 else { return }
        // Past the limit only the end goes in: side frames are bounded with the records.
        // One left out counts as a skipped record: a replay without it can differ.
        guard payload.count <= RecordingFormat.maxFrame, written < maxBytes || kind == .end || kind == .meta else {
            skipped &+= 1
            return
        }
        pending.append(kind.rawValue)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { pending.append(contentsOf: $0) }
        pending.append(contentsOf: payload)
        if pending.count >= flushAt { compress(finish: false) }
    }

    /// One ring buffer record, if it is one of this recording's subjects and room is left.
    @inline(__always)
    package func record(_ bytes: UnsafeRawBufferPointer, subjects recordSubjects: UInt64) {
        guard recordSubjects & subjects != 0 || subjects == ~0 else { return }
        guard written < maxBytes else {
            skipped &+= 1
            return
        }
        records &+= 1
        frame(.record, bytes)
    }

    /// Removes the file: the window it was for never opened.
    package func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(path)
    }

    /// Writes the end frame, finishes the stream and syncs the file.
    package func finish(_ ending: Ending) -> Summary {
        frame(.end, RecordingEnd.encode(records: records, skipped: skipped, ending))
        compress(finish: true)
        if fd >= 0 {
            if fsync(fd) != 0 && failure == nil { failure = "fsync: \(String(cString: strerror(errno)))" }
            close(fd)
            fd = -1
        }
        return Summary(path: path, records: records, bytes: written, truncated: skipped > 0, error: failure)
    }

    private func compress(finish: Bool) {
        guard fd >= 0 else { return }
        var offset = 0
        while true {
            let step = pending.withUnsafeBytes { input in
                output.withUnsafeMutableBytes { out in
                    deflater.run(UnsafeRawBufferPointer(rebasing: input[offset...]), into: out, finish: finish)
                }
            }
            offset += step.consumed
            if step.produced > 0 {
                let count = output.withUnsafeBytes {
                    FileWrites.all(fd, UnsafeRawBufferPointer(rebasing: $0[..<step.produced]))
                }
                written += UInt64(count)
                if count < step.produced {
                    failure = "write: \(String(cString: strerror(errno)))"
                    close(fd)
                    fd = -1
                    return
                }
            }
            if step.status < 0 && step.status != -5 {
                failure = "zlib error \(step.status)"
                break
            }
            if finish ? step.status == 1 : (offset == pending.count && step.produced < output.count) { break }
        }
        pending.removeAll(keepingCapacity: true)
    }
}

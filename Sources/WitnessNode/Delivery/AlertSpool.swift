import Glibc
import Synchronization
import WitnessCore

/// A bounded, ordered queue of lines on disk — alerts or testimonies waiting for an
/// HTTP receiver. The consumer thread appends (a memory copy; the file write happens
/// once per drained batch, in `commit`), the delivery task reads the oldest line,
/// posts it, and acknowledges it; a slow or absent receiver therefore never slows
/// the ring buffer, and what was not delivered survives a restart.
///
/// Lines live in numbered segment files (`0000000000000001.ndjson`, ...); a segment
/// is deleted once every line in it was delivered, and the read position is kept
/// in `cursor`, replaced whole (write, fsync, rename: a crash leaves the old one or
/// the new one, never half of each). Segments and cursor are made durable within
/// `syncInterval` of a change (`syncIfDue`), so a crash replays at most that much
/// of what was delivered — at least once, never lost. When the undelivered bytes
/// would exceed `maxBytes`, new lines are refused and counted as dropped: the caller
/// marks the loss where it belongs.
///
/// A line may wait for another spool (`append(_:after:)`): a testimony is sent only
/// once every alert queued before it was delivered.
package final class AlertSpool: Sendable {
    /// A place in a spool: segment number and byte offset, ordered as the lines are.
    package struct Position: Comparable, Sendable {
        package var segment: Int
        package var offset: Int

        package static func < (a: Position, b: Position) -> Bool {
            (a.segment, a.offset) < (b.segment, b.offset)
        }
    }

    private struct Segment {
        var number: Int
        var size: Int
    }

    private struct State {
        var segments: [Segment] = []
        var readOffset = 0
        var readFD: Int32 = -1
        var readNumber = 0
        var writeFD: Int32 = -1
        var pending: [UInt8] = []
        var dropped: UInt64 = 0
        /// Raw length of the line `peek` last returned (with its gate prefix).
        var peekedLength = 0
        var unsyncedWrites = false
        var unsyncedCursor = false
        var lastSync = ContinuousClock.now
        var depth: Int { segments.reduce(0) { $0 + $1.size } - readOffset + pending.count }
    }

    package let directory: String
    package let maxBytes: Int
    private let segmentBytes: Int
    private let state: Mutex<State>
    /// Rung when lines were committed (the reader's wake-up).
    let doorbell = Doorbell()
    /// Rung when a line was delivered (what a gated spool waits for).
    let acknowledged = Doorbell()
    /// Rung when something was written that is not yet durable.
    let unsynced = Doorbell()
    package let syncInterval: Duration
    package var deadLetterPath: String { directory + "/dead-letter.ndjson" }

    /// Opens (or creates) the spool in `directory`, keeping what an earlier run left.
    package init(directory: String, maxBytes: Int, syncInterval: Duration = .seconds(1)) throws(AgentError) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.syncInterval = syncInterval
        segmentBytes = max(4096, min(4 << 20, maxBytes / 8))
        try Self.makeDirectories(directory)
        var state = State()
        let numbers = BoundedFile.entries(of: directory).compactMap { name -> Int? in
            guard name.hasSuffix(".ndjson") else { return nil }
            return Int(name.dropLast(7))
        }.sorted()
        unlink(AtomicFile.asidePath(directory + "/cursor"))  // a replacement a crash cut short: the old cursor stands
        let cursor =
            BoundedFile.read(directory + "/cursor", limit: 64).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parts = cursor.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        let (cursorNumber, cursorOffset) = parts.count == 2 ? (parts[0], parts[1]) : (0, 0)
        for number in numbers {
            let path = Self.path(directory, number)
            if number < cursorNumber {
                unlink(path)  // delivered before the last stop
                continue
            }
            state.segments.append(Segment(number: number, size: Self.wholeLinesSize(path)))
        }
        if let first = state.segments.first, first.number == cursorNumber {
            state.readOffset = min(cursorOffset, first.size)
        }
        if state.segments.isEmpty { state.segments.append(Segment(number: max(1, cursorNumber), size: 0)) }
        let last = state.segments[state.segments.count - 1]
        state.writeFD = open(Self.path(directory, last.number), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard state.writeFD >= 0 else { throw Self.error("cannot open spool segment in \(directory)") }
        self.state = Mutex(state)
    }

    deinit {
        state.withLock { state in
            for fd in [state.readFD, state.writeFD] where fd >= 0 { close(fd) }
        }
    }

    /// Undelivered bytes (on disk and pending).
    package var depth: Int { state.withLock { $0.depth } }

    /// Lines refused because the spool was full, since start.
    package var dropped: UInt64 { state.withLock { $0.dropped } }

    /// Queues `lines` (whole, newline-terminated); false, counted, when there is no room.
    package func append(_ lines: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard state.depth + lines.count <= maxBytes else {
                state.dropped &+= UInt64(lines.lineCount)
                return false
            }
            state.pending.append(contentsOf: lines)
            return true
        }
    }

    /// Queues one line that is to be sent only after `other` delivered every line it
    /// holds now (a testimony after its window's alerts).
    package func append(_ line: String, after other: AlertSpool?) -> Bool {
        var text = line.hasSuffix("\n") ? line : line + "\n"
        if let position = other?.appendedPosition { text = "@\(position.segment):\(position.offset) " + text }
        return text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Where the next line will be appended: every line queued so far lies before it.
    var appendedPosition: Position {
        state.withLock { state in
            let last = state.segments[state.segments.count - 1]
            return Position(segment: last.number, offset: last.size + state.pending.count)
        }
    }

    /// Whether every line before `position` was delivered (or nothing is left: a
    /// spool emptied by hand must not hold a testimony back for ever).
    package func hasDelivered(through position: Position) -> Bool {
        state.withLock { state in
            state.depth == 0 || Position(segment: state.segments[0].number, offset: state.readOffset) >= position
        }
    }

    /// Writes what was appended since the last commit, and wakes the reader.
    /// - Returns: lines lost because the disk refused them (counted as dropped; a
    ///   partial write is cut back so no torn line is ever delivered).
    @discardableResult
    package func commit() -> Int {
        var lost = 0
        let wrote = state.withLock { state -> Bool in
            guard !state.pending.isEmpty else { return false }
            let last = state.segments.count - 1
            let written = state.pending.withUnsafeBytes { FileWrites.all(state.writeFD, $0) }
            if written == state.pending.count {
                state.segments[last].size += written
                state.unsyncedWrites = true
            } else {
                _ = ftruncate(state.writeFD, off_t(state.segments[last].size))
                lost = state.pending.lineCount
                state.dropped &+= UInt64(lost)
            }
            state.pending.removeAll(keepingCapacity: true)
            if state.segments[state.segments.count - 1].size >= segmentBytes {
                let number = state.segments[state.segments.count - 1].number + 1
                let fd = open(Self.path(directory, number), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                if fd >= 0 {
                    close(state.writeFD)
                    state.writeFD = fd
                    state.segments.append(Segment(number: number, size: 0))
                }
            }
            return lost == 0
        }
        if wrote {
            doorbell.ring()
            unsynced.ring()
        }
        return lost
    }

    /// Makes what was committed and delivered durable (window close, shutdown).
    package func sync() {
        state.withLock { state in syncLocked(&state) }
    }

    /// Syncs when something changed and `syncInterval` has passed since the last sync;
    /// returns how long until it would be due otherwise (nil: nothing to sync).
    @discardableResult
    package func syncIfDue() -> Duration? {
        state.withLock { state in
            guard state.unsyncedWrites || state.unsyncedCursor else { return nil }
            let due = state.lastSync + syncInterval
            if ContinuousClock.now >= due {
                syncLocked(&state)
                return nil
            }
            return due - ContinuousClock.now
        }
    }

    private func syncLocked(_ state: inout State) {
        if state.unsyncedWrites && fsync(state.writeFD) == 0 { state.unsyncedWrites = false }
        if state.unsyncedCursor && Self.store(cursor: state.segments[0].number, state.readOffset, directory: directory)
        {
            state.unsyncedCursor = false
        }
        // The directory too: a new segment's name, a delivered one's removal, the
        // cursor's rename are durable only once the directory is.
        Self.syncDirectory(directory)
        state.lastSync = .now
    }

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Keeps a line the receiver refused for good, for an operator to look at:
    /// appended to `dead-letter.ndjson` and synced. False when that file is full
    /// (it takes at most `maxBytes`).
    package func deadLetter(_ line: [UInt8]) -> Bool {
        let fd = open(deadLetterPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        guard size >= 0, size + line.count + 1 <= maxBytes else { return false }
        let written = (line + [UInt8(ascii: "\n")]).withUnsafeBytes { FileWrites.all(fd, $0) }
        guard written == line.count + 1 else {
            _ = ftruncate(fd, off_t(size))
            return false
        }
        return fsync(fd) == 0
    }

    /// The oldest undelivered line and, for a line that waits for another spool, the
    /// position there it waits for; nil when all were delivered.
    package func peekGated() -> (line: [UInt8], after: Position?)? {
        guard var line = peek() else { return nil }
        guard line.first == UInt8(ascii: "@"), let space = line.firstIndex(of: UInt8(ascii: " ")) else {
            return (line, nil)
        }
        let parts = line[1..<space].split(separator: UInt8(ascii: ":")).compactMap {
            Int(String(decoding: $0, as: UTF8.self))
        }
        line.removeSubrange(...space)
        return (line, parts.count == 2 ? Position(segment: parts[0], offset: parts[1]) : nil)
    }

    /// The oldest undelivered line, without its newline; nil when all were delivered.
    package func peek() -> [UInt8]? {
        state.withLock { state in
            while true {
                let first = state.segments[0]
                if state.readOffset < first.size {
                    if state.readFD < 0 || state.readNumber != first.number {
                        if state.readFD >= 0 { close(state.readFD) }
                        state.readFD = open(Self.path(directory, first.number), O_RDONLY | O_CLOEXEC)
                        state.readNumber = first.number
                        guard state.readFD >= 0 else { return nil }
                    }
                    let line = Self.line(in: state.readFD, at: state.readOffset, limit: first.size)
                    state.peekedLength = line?.count ?? 0
                    return line
                }
                guard state.segments.count > 1 else { return nil }
                // A finished segment: gone once the cursor has moved past it.
                if state.readFD >= 0 { close(state.readFD) }
                state.readFD = -1
                unlink(Self.path(directory, first.number))
                state.segments.removeFirst()
                state.readOffset = 0
                state.unsyncedCursor = true
            }
        }
    }

    /// The line `peek` returned was delivered (or rejected for good): move past it.
    /// The new position is made durable within `syncInterval`.
    package func acknowledge(_ line: [UInt8]) {
        state.withLock { state in
            state.readOffset += max(line.count, state.peekedLength) + 1
            state.peekedLength = 0
            state.unsyncedCursor = true
        }
        acknowledged.ring()
        unsynced.ring()
    }

    // MARK: Files

    private static func path(_ directory: String, _ number: Int) -> String {
        let digits = String(number)
        return directory + "/" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".ndjson"
    }

    private static func error(_ what: String) -> AgentError {
        AgentError.usage("\(what): \(String(cString: strerror(errno)))")
    }

    private static func makeDirectories(_ directory: String) throws(AgentError) {
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw error("cannot create spool directory \(path)")
            }
        }
        guard access(directory, W_OK) == 0 else { throw error("spool directory \(directory) is not writable") }
    }

    /// A segment's size up to its last newline; a torn last line (a crash
    /// mid-write) is cut off so the reader never sees half an alert.
    private static func wholeLinesSize(_ path: String) -> Int {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let end = Int(lseek(fd, 0, SEEK_END))
        guard end > 0 else { return 0 }
        var size = end
        var byte: UInt8 = 0
        while size > 0 && pread(fd, &byte, 1, off_t(size - 1)) == 1 && byte != UInt8(ascii: "\n") { size -= 1 }
        if size != end { _ = ftruncate(fd, off_t(size)) }
        return size
    }

    private static func line(in fd: Int32, at offset: Int, limit: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var position = offset
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while position < limit {
            let wanted = min(chunk.count, limit - position)
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(position)) }
            guard n > 0 else { return nil }
            if let newline = chunk[..<n].firstIndex(of: UInt8(ascii: "\n")) {
                result.append(contentsOf: chunk[..<newline])
                return result
            }
            result.append(contentsOf: chunk[..<n])
            position += n
        }
        return nil
    }

    /// Replaces the cursor file whole (`AtomicFile`). False when that failed: the old
    /// cursor stands, and the next sync tries again.
    private static func store(cursor number: Int, _ offset: Int, directory: String) -> Bool {
        var text = "\(number) \(offset)\n"
        return text.withUTF8 { AtomicFile.replace(directory + "/cursor", with: UnsafeRawBufferPointer($0)) }
    }
}

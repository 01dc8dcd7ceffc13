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
/// in `cursor`. When the undelivered bytes would exceed `maxBytes`, new lines are
/// refused and counted as dropped: the caller marks the loss where it belongs.
public final class AlertSpool: Sendable {
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
        var cursorFD: Int32 = -1
        var depth: Int { segments.reduce(0) { $0 + $1.size } - readOffset + pending.count }
    }

    public let directory: String
    public let maxBytes: Int
    private let segmentBytes: Int
    private let state: Mutex<State>
    let doorbell = Doorbell()

    /// Opens (or creates) the spool in `directory`, keeping what an earlier run left.
    public init(directory: String, maxBytes: Int) throws(AgentError) {
        self.directory = directory
        self.maxBytes = maxBytes
        segmentBytes = max(4096, min(4 << 20, maxBytes / 8))
        try Self.makeDirectories(directory)
        var state = State()
        let numbers = ProcFiles.entries(of: directory).compactMap { name -> Int? in
            guard name.hasSuffix(".ndjson") else { return nil }
            return Int(name.dropLast(7))
        }.sorted()
        state.cursorFD = open(directory + "/cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard state.cursorFD >= 0 else { throw Self.error("cannot open \(directory)/cursor") }
        let cursor = ProcFiles.read(directory + "/cursor", limit: 64).map { String(decoding: $0, as: UTF8.self) } ?? ""
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
            for fd in [state.readFD, state.writeFD, state.cursorFD] where fd >= 0 { close(fd) }
        }
    }

    /// Undelivered bytes (on disk and pending).
    public var depth: Int { state.withLock { $0.depth } }

    /// Lines refused because the spool was full, since start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }

    /// Queues `lines` (whole, newline-terminated); false, counted, when there is no room.
    public func append(_ lines: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard state.depth + lines.count <= maxBytes else {
                state.dropped &+= UInt64(lines.lineCount)
                return false
            }
            state.pending.append(contentsOf: lines)
            return true
        }
    }

    /// Writes what was appended since the last commit, and wakes the reader.
    /// - Returns: lines lost because the disk refused them (counted as dropped; a
    ///   partial write is cut back so no torn line is ever delivered).
    @discardableResult
    public func commit() -> Int {
        var lost = 0
        let wrote = state.withLock { state -> Bool in
            guard !state.pending.isEmpty else { return false }
            let last = state.segments.count - 1
            let written = state.pending.withUnsafeBytes { Self.writeAll(state.writeFD, $0) }
            if written == state.pending.count {
                state.segments[last].size += written
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
        if wrote { doorbell.ring() }
        return lost
    }

    /// Makes what was committed and delivered durable (window close, shutdown).
    public func sync() {
        state.withLock { state in
            fsync(state.writeFD)
            fsync(state.cursorFD)
        }
    }

    /// The oldest undelivered line, without its newline; nil when all were delivered.
    public func peek() -> [UInt8]? {
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
                    return Self.line(in: state.readFD, at: state.readOffset, limit: first.size)
                }
                guard state.segments.count > 1 else { return nil }
                // A finished segment: gone once the cursor has moved past it.
                if state.readFD >= 0 { close(state.readFD) }
                state.readFD = -1
                unlink(Self.path(directory, first.number))
                state.segments.removeFirst()
                state.readOffset = 0
                Self.store(cursor: state.segments[0].number, 0, fd: state.cursorFD)
            }
        }
    }

    /// The line `peek` returned was delivered (or rejected for good): move past it.
    public func acknowledge(_ line: [UInt8]) {
        state.withLock { state in
            state.readOffset += line.count + 1
            Self.store(cursor: state.segments[0].number, state.readOffset, fd: state.cursorFD)
        }
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

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        return offset
    }

    private static func store(cursor number: Int, _ offset: Int, fd: Int32) {
        var text = "\(number) \(offset)\n"
        text.withUTF8 { _ = pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = ftruncate(fd, off_t(text.utf8.count))
    }
}

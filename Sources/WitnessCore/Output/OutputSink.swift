import Glibc

/// Where lines go: a file descriptor (stdout, or a file opened for appending),
/// written in whole batches. A reader that went away (EPIPE) closes the sink
/// instead of killing the agent; the session then ends cleanly.
package final class OutputSink {
    package let fd: Int32
    private let ownsDescriptor: Bool
    private(set) var isClosed = false
    private(set) var bytesWritten: UInt64 = 0
    /// Called once, when the reader goes away.
    package var onClosed: () -> Void = {}

    /// A sink that takes every line and keeps none (an output that is turned off).
    package static func discarding() -> OutputSink {
        OutputSink(fd: -1)
    }

    package init(fd: Int32, ownsDescriptor: Bool = false) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
    }

    /// Opens `path` for appending (created 0600 if missing).
    package static func appending(to path: String) throws(AgentError) -> OutputSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError.usage("cannot open output file \(path): \(String(cString: strerror(errno)))")
        }
        return OutputSink(fd: fd, ownsDescriptor: true)
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Writes all of `bytes`; false when the sink is closed.
    @discardableResult
    package func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isClosed else { return false }
        guard fd >= 0 else { return true }
        guard FileWrites.all(fd, bytes) == bytes.count else {
            isClosed = true
            onClosed()
            return false
        }
        bytesWritten += UInt64(bytes.count)
        return true
    }

    package func sync() {
        if fd >= 0 { fsync(fd) }
    }
}

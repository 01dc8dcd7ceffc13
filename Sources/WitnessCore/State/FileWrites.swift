import Glibc

/// write(2) until every byte is out, through interruptions: the spool's segments and
/// dead letters, and files replaced whole.
package enum FileWrites {
    /// Bytes written: all of them, or fewer when the file refused the rest.
    package static func all(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        return offset
    }
}

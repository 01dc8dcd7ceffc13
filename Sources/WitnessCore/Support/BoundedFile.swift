import Glibc

/// Bounded reads of small files — /proc entries, tokens, keys, configuration, rules —
/// that a hostile or broken file cannot turn into an unbounded allocation or a hang.
package enum BoundedFile {
    /// Reads a file, at most `limit` bytes. With `regularOnly` (what the consumer
    /// thread reads under proc_root) it is opened without blocking and read only when
    /// it is a regular file: a FIFO or a device put where /proc is expected makes this
    /// return nil instead of stopping the consumer.
    package static func read(_ path: String, limit: Int, regularOnly: Bool = false) -> [UInt8]? {
        read(at: AT_FDCWD, path, limit: limit, regularOnly: regularOnly)
    }

    /// The same, for `path` relative to the directory open at `directory` (a walk that
    /// goes deeper than a whole path may be long).
    static func read(at directory: Int32, _ path: String, limit: Int, regularOnly: Bool = false) -> [UInt8]? {
        let fd = openat(directory, path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK | O_NOCTTY : 0))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if regularOnly {
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        }
        // In chunks, grown as the file is: a limit is a bound, not an allocation (a
        // zeroed 4 MiB buffer for /etc/passwd stayed resident in the heap).
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 64 << 10))
        while result.count < limit {
            let wanted = min(chunk.count, limit - result.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, wanted) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: chunk[..<n])
        }
        return result
    }

    static func readLink(_ path: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes {
            readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096)
        }
        guard n > 0 else { return nil }
        buffer.removeSubrange(n...)
        return buffer
    }

    /// Names in `directory` (not `.` and `..`); only subdirectories if asked.
    package static func entries(of directory: String, directoriesOnly: Bool = false) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            if directoriesOnly && entry.pointee.d_type != UInt8(DT_DIR) { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

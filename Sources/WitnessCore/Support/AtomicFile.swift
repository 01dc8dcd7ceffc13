import Glibc

/// Replacing a small file whole (a window's journal entry, the spool's cursor):
/// written aside to `path.new`, synced, renamed over `path`, so that a crash leaves
/// the old content or the new, never half of each.
package enum AtomicFile {
    /// False when any step failed: the old content stands, the aside file is gone.
    package static func replace(_ path: String, with bytes: UnsafeRawBufferPointer) -> Bool {
        let temporary = asidePath(path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let written = FileWrites.all(fd, bytes)
        let synced = fsync(fd) == 0
        close(fd)
        if written == bytes.count && synced && rename(temporary, path) == 0 { return true }
        unlink(temporary)
        return false
    }

    /// Where `replace` writes before renaming (a crash may leave one behind).
    package static func asidePath(_ path: String) -> String { path + ".new" }
}

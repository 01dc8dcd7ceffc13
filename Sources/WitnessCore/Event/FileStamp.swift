import Glibc

/// What tells a changed file from the one read before: a Secret update swaps the
/// file behind a symlink (another inode), an edit changes size or time.
package struct FileStamp: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var seconds: Int
    package var nanoseconds: Int
    package var mode: UInt32

    package init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
        mode = info.st_mode
    }
}

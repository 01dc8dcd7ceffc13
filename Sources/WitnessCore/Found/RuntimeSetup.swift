import Glibc

/// A container runtime starting a container works inside the container's cgroup
/// before the image's first program runs: runc moves its own init (a copy of runc)
/// into the new cgroup, crun clones itself into it, and that init mounts, pivots
/// its root, joins and makes namespaces and renames itself before it execs the
/// entrypoint. None of that is the subject's doing, and judged as the subject's it
/// cost an honest container a hard deny. The kernel's evidence that a process is
/// the runtime's: it entered the subject from outside, put there by another
/// process that is no subject of the window and runs the same program (by
/// content: runc's init is a memfd copy of runc). Until that process execs, its
/// syscalls and the program it runs are not judged (counted and profiled still);
/// what it holds as it enters — files, sockets — is, and so is everything from its
/// first exec on, children included. A subject cannot make such a process: one it
/// moves or clones is a subject's, and one that moves itself is no runtime's.
struct RuntimeSetup {
    private var setting = Set<Int32>()

    var isEmpty: Bool { setting.isEmpty }

    func contains(_ pid: Int32) -> Bool { setting.contains(pid) }

    mutating func begin(_ pid: Int32) { setting.insert(pid) }

    /// The process exec'd or exited: from now on it is judged.
    mutating func end(_ pid: Int32) { setting.remove(pid) }

    /// A child forked during setup is setup too, until it execs.
    mutating func forked(parent: Int32, child: Int32) {
        if setting.contains(parent) { setting.insert(child) }
    }

    /// Whether processes `a` and `b` run the same program: the same file, or files
    /// of the same content (read through /proc/PID/exe, at most 128 MiB).
    static func sameProgram(_ a: Int32, _ b: Int32, procRoot: String) -> Bool {
        let first = open("\(procRoot)/\(a)/exe", O_RDONLY | O_CLOEXEC)
        guard first >= 0 else { return false }
        defer { close(first) }
        let second = open("\(procRoot)/\(b)/exe", O_RDONLY | O_CLOEXEC)
        guard second >= 0 else { return false }
        defer { close(second) }
        var one = stat()
        var two = stat()
        guard fstat(first, &one) == 0, fstat(second, &two) == 0 else { return false }
        if one.st_dev == two.st_dev && one.st_ino == two.st_ino { return true }
        guard one.st_size == two.st_size, one.st_size <= 128 << 20 else { return false }
        var left = [UInt8](repeating: 0, count: 1 << 16)
        var right = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let count = left.withUnsafeMutableBytes { pread(first, $0.baseAddress, $0.count, offset) }
            guard count >= 0 else { return false }
            if count == 0 { return offset == one.st_size }
            let other = right.withUnsafeMutableBytes { pread(second, $0.baseAddress, count, offset) }
            guard other == count, memcmp(left, right, count) == 0 else { return false }
            offset += off_t(count)
        }
    }
}

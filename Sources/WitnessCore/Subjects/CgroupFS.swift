import Glibc

/// The cgroup v2 hierarchy of this host: where it is mounted (found in
/// /proc/self/mountinfo: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on
/// a hybrid one), what id a cgroup has (its inode number, the id the kernel's
/// bpf_get_current_cgroup_id returns), and which processes are in it.
package struct CgroupFS: Sendable {
    package let mountPoint: String

    package init(mountPoint: String) {
        self.mountPoint = mountPoint
    }

    /// Finds the cgroup2 mount.
    package static func detect(mountInfo: String = "/proc/self/mountinfo") throws(AgentError) -> CgroupFS {
        guard let text = BoundedFile.read(mountInfo, limit: 1 << 20) else {
            throw AgentError.runtime("cannot read \(mountInfo)")
        }
        for line in text.split(separator: UInt8(ascii: "\n")) {
            // mount-id parent major:minor root mount-point options ... - fstype source super-options
            let fields = line.split(separator: UInt8(ascii: " "))
            guard let dash = fields.firstIndex(where: { $0.elementsEqual("-".utf8) }), dash + 1 < fields.count,
                fields[dash + 1].elementsEqual("cgroup2".utf8), fields.count > 4
            else { continue }
            return CgroupFS(mountPoint: unescapeMountPath(fields[4]))
        }
        throw AgentError.usage("no cgroup v2 hierarchy is mounted on this host (see /proc/self/mountinfo)")
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescapeMountPath(_ field: ArraySlice<UInt8>) -> String {
        var bytes: [UInt8] = []
        var index = field.startIndex
        while index < field.endIndex {
            if field[index] == UInt8(ascii: "\\"), index + 3 < field.endIndex,
                let value = UInt8(String(decoding: field[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(field[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The directory of cgroup `path`: a filesystem path under the mount point, or a
    /// path inside the hierarchy as /proc/PID/cgroup shows it (`/kubepods/...`).
    /// - Throws: `AgentError.usage` when no such cgroup exists.
    package func directory(for path: String) throws(AgentError) -> String {
        let candidates =
            path.hasPrefix(mountPoint + "/") || path == mountPoint
            ? [path] : [path, mountPoint + (path.hasPrefix("/") ? "" : "/") + path]
        for candidate in candidates where access(candidate + "/cgroup.procs", F_OK) == 0 {
            return candidate
        }
        throw AgentError.usage("cgroup \(path) does not exist (cgroup v2 is mounted at \(mountPoint))")
    }

    /// `directory` as a path inside the hierarchy (`/trial`, `/` for the root).
    func relativePath(of directory: String) -> String {
        let tail = directory.hasPrefix(mountPoint) ? String(directory.dropFirst(mountPoint.count)) : directory
        return tail.isEmpty ? "/" : tail
    }

    /// The cgroup id of the directory `directory`.
    package func id(ofDirectory directory: String) throws(AgentError) -> UInt64 {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw AgentError.usage("cannot stat cgroup \(directory): \(String(cString: strerror(errno)))")
        }
        return UInt64(info.st_ino)
    }

    /// Every process in `directory` and the cgroups below it. Walked by directory
    /// descriptors, not whole paths: a tree nested deeper than a path may be long
    /// hides no process. (A threaded cgroup lists its processes' threads instead.)
    package func processes(inDirectory directory: String) -> [Int32] {
        var pids: [Int32] = []
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { Self.collect(fd, depth: 0, into: &pids) }
        return pids
    }

    /// Adds the processes of the cgroup open at `fd` and of those below it; closes `fd`.
    private static func collect(_ fd: Int32, depth: Int, into pids: inout [Int32]) {
        defer { close(fd) }
        let listed =
            BoundedFile.read(at: fd, "cgroup.procs", limit: 1 << 20)
            ?? BoundedFile.read(at: fd, "cgroup.threads", limit: 1 << 20) ?? []
        for line in listed.split(separator: UInt8(ascii: "\n")) {
            if let pid = Int32(String(decoding: line, as: UTF8.self)), !pids.contains(pid) { pids.append(pid) }
        }
        guard depth < 512 else { return }
        let copy = dup(fd)
        guard copy >= 0, let handle = fdopendir(copy) else { return }
        var children: [String] = []
        while let entry = readdir(handle) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { children.append(name) }
        }
        closedir(handle)
        for name in children {
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if child >= 0 { collect(child, depth: depth + 1, into: &pids) }
        }
    }
}

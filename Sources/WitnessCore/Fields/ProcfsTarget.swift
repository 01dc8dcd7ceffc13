/// Whose entry a /proc path names, seen from the process that opened it
/// (`fd.procfs_target`): a process reading its own /proc/self/environ or naming its
/// own worker threads through /proc/self/task/TID/comm is not reaching into another.
///
/// A file the kernel opened is named by the kernel (`/proc/self` is already
/// `/proc/<pid>`), in the PID namespace of the procfs it lies on: the container's
/// own for a container's /proc, so both the process's PID and its PID in its own
/// namespace (`vpid`) are its own. A refused open keeps the spelling it was given:
/// `self` and `thread-self` are read as the kernel would.
package enum ProcfsTarget {
    /// `self`, `thread` or `other` for a path below /proc/<pid>/ (or /proc/self/,
    /// /proc/thread-self/), nil for any other path.
    package static func of(_ path: UnsafeRawBufferPointer, pid: Int32, tid: Int32, vpid: Int32?) -> StaticString? {
        let prefix = Array("/proc/".utf8)
        guard path.count > prefix.count, path.starts(with: prefix) else { return nil }
        var index = prefix.count
        func component() -> ArraySlice<UInt8> {
            let start = index
            while index < path.count, path[index] != UInt8(ascii: "/") { index += 1 }
            let piece = Array(path[start..<index])[...]
            if index < path.count { index += 1 }
            return piece
        }
        func number(_ piece: ArraySlice<UInt8>) -> Int64? {
            guard !piece.isEmpty, piece.count <= 10, piece.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return piece.reduce(0) { $0 * 10 + Int64($1 - 48) }
        }
        func isOwn(_ id: Int64) -> Bool { id == Int64(pid) || (vpid.map { id == Int64($0) } ?? false) }
        let first = component()
        if first.elementsEqual("thread-self".utf8) { return tid == pid ? "self" : "thread" }
        if !first.elementsEqual("self".utf8) {
            guard let owner = number(first) else { return nil }
            guard isOwn(owner) else { return "other" }
        }
        // /proc/<pid>/task/<tid>/: the main thread's entry is the process's own.
        guard component().elementsEqual("task".utf8), let task = number(component()) else { return "self" }
        return isOwn(task) ? "self" : "thread"
    }
}

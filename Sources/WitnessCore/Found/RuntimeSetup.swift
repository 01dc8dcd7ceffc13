/// A container runtime starting a container works inside the container's cgroup
/// before the image's first program runs: runc moves its own init (a copy of runc)
/// into the new cgroup, crun clones itself into it, `runc exec` moves the process
/// it will exec, and that init mounts, pivots its root, joins and makes namespaces
/// and renames itself before it execs the entrypoint. None of that is the
/// subject's doing, and judged as the subject's it cost an honest container a hard
/// deny. The kernel's evidence that a process is the runtime's: it entered the
/// subject from outside, put there by another process that is no subject of the
/// window (the kernel says, in the ENTER record). Until it execs, it runs code
/// from outside the subject: its syscalls and the program it runs are not judged
/// (counted and profiled still); what it holds as it enters — files, sockets — is,
/// and so is everything from its first exec on, children included. A subject
/// cannot make such a process: one it moves or clones is flagged as a subject's,
/// and one that moves itself is judged.
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
}

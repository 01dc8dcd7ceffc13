/// A container runtime starting a container works inside the container's cgroup
/// before the image's first program runs: runc moves its own init (a copy of runc)
/// into the new cgroup, crun clones itself into it, `runc exec` moves the process
/// it will exec, and that init mounts, pivots its root, joins and makes namespaces
/// and renames itself before it execs the entrypoint. None of that is the
/// subject's doing, and judged as the subject's it cost an honest container a hard
/// deny. The kernel's evidence that a process is the runtime's: it entered the
/// subject from outside, put there by another process that is no subject of the
/// window (the kernel says, in the ENTER record, whether the mover is a subject of
/// any window). Until it execs, it runs code from outside the subject: the calls a
/// runtime makes to build a container (`covers`) and the program it runs are not
/// judged (counted and profiled still); everything else it does — opens, connects,
/// ptrace — is, and so is what it holds as it enters, and everything from its
/// first exec on, children included. A subject cannot make such a process: one it
/// moves or clones is flagged as a subject's, and one that moves itself is judged.
struct RuntimeSetup {
    /// A process in setup: the windows it entered as the runtime's, and since when.
    private struct Entry {
        var slots: UInt64
        var since: UInt64
    }

    /// How long a runtime's setup may last (boot-time nanoseconds): runc's takes a
    /// fraction of a second; a process planted from outside that never execs is
    /// judged in full after this.
    static let longest: UInt64 = 10_000_000_000

    private var setting: [Int32: Entry] = [:]

    var isEmpty: Bool { setting.isEmpty }

    mutating func begin(_ pid: Int32, slots: UInt64, at time: UInt64) {
        if let entry = setting[pid] {
            setting[pid] = Entry(slots: entry.slots | slots, since: min(entry.since, time))
        } else {
            setting[pid] = Entry(slots: slots, since: time)
        }
    }

    /// The process exec'd or exited, or entered again as no runtime's: judged from now on.
    mutating func end(_ pid: Int32) { setting.removeValue(forKey: pid) }

    /// A child is what its parent is: in setup only if the parent is (a pid reused
    /// by a stale entry's process inherits nothing).
    mutating func forked(parent: Int32, child: Int32) {
        if let entry = setting[parent] { setting[child] = entry } else { setting.removeValue(forKey: child) }
    }

    /// A window begins or ends in `slot`: nothing of an earlier one there carries over.
    mutating func forget(slot: Int) {
        let bit = UInt64(1) << UInt64(slot)
        for (pid, entry) in setting where entry.slots & bit != 0 {
            if entry.slots == bit {
                setting.removeValue(forKey: pid)
            } else {
                setting[pid]?.slots = entry.slots & ~bit
            }
        }
    }

    /// Whether `syscall` by `pid`, seen by the windows `subjects`, is the runtime's
    /// setup: the process is in setup for every one of those windows, and the call is
    /// one a runtime makes to build the container — namespaces and mounts, its name,
    /// its identity and keyring, the devices and links of /dev. Not an open, a
    /// connect, a ptrace, a module or BPF load: those are judged whoever makes them.
    func covers(_ pid: Int32, subjects: UInt64, syscall: Syscall, at time: UInt64) -> Bool {
        guard covers(pid, subjects: subjects, at: time) else { return false }
        switch syscall {
        case .clone, .clone3, .fork, .vfork, .mount, .umount2, .unshare, .setns, .pivotRoot, .chroot, .fsopen,
            .fsmount, .moveMount, .openTree, .prctl, .keyctl, .setuid, .setgid, .setreuid, .setregid, .setresuid,
            .setresgid, .dup2, .dup3, .mkdir, .mkdirat, .mknod, .mknodat, .chown, .lchown, .fchown, .fchownat,
            .chmod, .fchmod, .fchmodat, .symlink, .symlinkat:
            return true
        default:
            return false
        }
    }

    /// Whether the program `pid` was found running, seen by `subjects`, is the
    /// runtime's (runc's init is a memfd copy of runc), at `time` (boot time).
    func covers(_ pid: Int32, subjects: UInt64, at time: UInt64) -> Bool {
        guard let entry = setting[pid] else { return false }
        return subjects & ~entry.slots == 0 && time &- entry.since < Self.longest
    }

    /// Whether an exec's filename runs an open descriptor (`fexecve`: `/dev/fd/N`,
    /// `/proc/self/fd/N`, or execveat's empty path): how a runtime re-executes the
    /// sealed copy of itself it made, not how it starts the image's program.
    static func runsADescriptor(_ filename: UnsafeRawBufferPointer) -> Bool {
        if filename.isEmpty { return true }
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where filename.starts(with: prefix.utf8) {
            return filename.count > prefix.utf8.count
        }
        return false
    }
}

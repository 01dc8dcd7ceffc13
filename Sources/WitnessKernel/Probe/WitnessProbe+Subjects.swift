import WitnessCore

extension WitnessProbe {
    /// Puts a resolved subject in the kernel's subject maps under `slot` — a cgroup
    /// (and every cgroup below it, now or later) or a live process tree (children
    /// followed by the fork program) — and tells the process table about the
    /// processes already in it. `witness`, `trace` and node mode all come here.
    /// A process tree needs no cgroup v2 hierarchy (`cgroups` may be nil).
    /// - Returns: the cgroup id watched, which removing the subject needs (nil for a
    ///   process tree), and the subject's processes at this moment.
    @discardableResult
    package func watch(
        _ subject: ResolvedSubject, slot: Int, cgroups: CgroupFS?, processes: ProcessTable
    ) throws(AgentError) -> (cgroupID: UInt64?, members: [Int32]) {
        do {
            if let directory = subject.cgroupDirectory {
                guard let cgroups else {
                    throw AgentError.usage("cannot witness cgroup \(directory): no cgroup v2 hierarchy")
                }
                let id = try cgroups.id(ofDirectory: directory)
                try addCgroupSubject(cgroupID: id, slot: slot)
                let members = cgroups.processes(inDirectory: directory)
                processes.scan(members)
                return (id, members)
            }
            guard let root = subject.pid else { return (nil, []) }
            var members = ProcFS.descendants(of: root, procRoot: processes.procRoot)
            guard !members.isEmpty else { throw AgentError.usage("no process with pid \(root)") }
            for pid in members { try addPidSubject(pid: pid, slot: slot) }
            // A child forked between the /proc snapshot and its parent's entry was not
            // followed by the kernel: look again until a pass finds none (bounded, for
            // a subject that forks without end).
            var known = Set(members)
            for _ in 0..<8 {
                let missed = ProcFS.descendants(of: root, procRoot: processes.procRoot).filter { !known.contains($0) }
                guard !missed.isEmpty else { break }
                for pid in missed { try addPidSubject(pid: pid, slot: slot) }
                known.formUnion(missed)
                members += missed
            }
            processes.scan(members)
            return (nil, members)
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError.runtime("cannot witness \(subject.kind) \(subject.value): \(error)")
        }
    }
}

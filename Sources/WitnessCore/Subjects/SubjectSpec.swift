import Glibc

/// Who a window witnesses, as the user or the controller names it: a cgroup, a
/// Kubernetes pod (by UID), a container (by id), or a process tree.
package enum SubjectSpec: Sendable, Equatable {
    case cgroup(String)
    case podUID(String)
    case containerID(String)
    case pid(Int32)

    /// The name used in testimony and labels: cgroup, pod, container, pid.
    package var kind: String {
        switch self {
        case .cgroup: return "cgroup"
        case .podUID: return "pod"
        case .containerID: return "container"
        case .pid: return "pid"
        }
    }
}

/// A subject found on this node: what the kernel filters on (one cgroup directory,
/// or a live process) and how the testimony names it.
package struct ResolvedSubject: Sendable, Equatable {
    package var kind: String
    /// The cgroup directory (cgroup, pod and container subjects).
    package var cgroupDirectory: String?
    /// The root of the process tree (pid subjects).
    package var pid: Int32?
    /// What the user asked for, normalized (the pod UID, the full container id, ...).
    package var value: String

    package init(kind: String, cgroupDirectory: String? = nil, pid: Int32? = nil, value: String) {
        self.kind = kind
        self.cgroupDirectory = cgroupDirectory
        self.pid = pid
        self.value = value
    }

    /// A live process and its descendants.
    package static func processTree(_ pid: Int32) -> ResolvedSubject {
        ResolvedSubject(kind: "pid", pid: pid, value: String(pid))
    }
}

/// Finds subjects on this node. Pods and containers are found by walking the cgroup
/// v2 tree for the directory kubelet or the runtime named after them — both kubelet
/// cgroup drivers (`kubepods-burstable-pod<uid_with_underscores>.slice`,
/// `kubepods/burstable/pod<uid>`) and every common runtime's container naming — so
/// no runtime socket is needed. A pod subject is its pod-level cgroup: containers
/// started after the window opened (restarts, late init containers) are below it
/// and covered.
package struct SubjectResolver: Sendable {
    package let cgroups: CgroupFS
    /// Where the host's /proc is (a container sees it at /host/proc).
    package let procRoot: String

    package init(cgroups: CgroupFS, procRoot: String = "/proc") {
        self.cgroups = cgroups
        self.procRoot = procRoot
    }

    /// - Throws: `AgentError.usage` naming what does not exist on this node.
    package func resolve(_ spec: SubjectSpec) throws(AgentError) -> ResolvedSubject {
        switch spec {
        case let .cgroup(path):
            let directory = try cgroups.directory(for: path)
            return ResolvedSubject(
                kind: spec.kind, cgroupDirectory: directory, value: cgroups.relativePath(of: directory))
        case let .pid(pid):
            guard pid > 0 else { throw AgentError.usage("pid must be a positive process id, got \(pid)") }
            guard access("\(procRoot)/\(pid)/stat", F_OK) == 0 else {
                throw AgentError.usage("no process with pid \(pid)")
            }
            return .processTree(pid)
        case let .podUID(text):
            let uid = try Self.normalizedPodUID(text)
            guard
                let directory = find(where: {
                    CgroupIdentity.podUID(in: $0) == uid && CgroupIdentity.containerID(in: $0) == nil
                })
            else {
                throw AgentError.usage(
                    "no pod with UID \(uid) on this node (no kubepods cgroup names it under \(cgroups.mountPoint))")
            }
            return ResolvedSubject(kind: spec.kind, cgroupDirectory: directory, value: uid)
        case let .containerID(text):
            let prefix = try Self.normalizedContainerID(text)
            var found: [(id: String, directory: String)] = []
            walk(cgroups.mountPoint, depth: 0) { component, directory in
                if let id = CgroupIdentity.containerID(in: component), id.hasPrefix(prefix) {
                    found.append((String(id), directory))
                }
                return false
            }
            guard let first = found.first else {
                throw AgentError.usage(
                    "no container with id \(prefix) on this node (no runtime cgroup names it under \(cgroups.mountPoint))"
                )
            }
            let distinct = Set(found.map(\.id)).count
            guard distinct == 1 else {
                throw AgentError.usage(
                    "container id \(prefix) is ambiguous on this node: \(distinct) containers start with it")
            }
            return ResolvedSubject(kind: spec.kind, cgroupDirectory: first.directory, value: first.id)
        }
    }

    /// A pod UID as Kubernetes prints it (36 characters, dashed, lower-case hex).
    package static func normalizedPodUID(_ text: String) throws(AgentError) -> String {
        let uid = String(text.lowercased().map { $0 == "_" ? "-" : $0 })
        let parts = uid.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [8, 4, 4, 4, 12], uid.allSatisfy({ $0 == "-" || $0.isHexDigit }) else {
            throw AgentError.usage("bad pod UID '\(text)': expected 8-4-4-4-12 hexadecimal digits")
        }
        return uid
    }

    /// A container id, full or short (12+ hex digits), with or without the
    /// `containerd://` style prefix Kubernetes puts in a pod's status.
    package static func normalizedContainerID(_ text: String) throws(AgentError) -> String {
        var id = text.lowercased()
        if let scheme = id.firstRange(of: "://") { id = String(id[scheme.upperBound...]) }
        guard (12...64).contains(id.count), id.allSatisfy({ $0.isHexDigit }) else {
            throw AgentError.usage("bad container id '\(text)': expected 12 to 64 hexadecimal digits")
        }
        return id
    }

    private func find(where matches: (Substring) -> Bool) -> String? {
        var result: String?
        walk(cgroups.mountPoint, depth: 0) { component, directory in
            if matches(component) {
                result = directory
                return true
            }
            return false
        }
        return result
    }

    /// Visits directories below `directory` until `visit` returns true. Kubernetes
    /// cgroups are a few levels deep; 12 levels bound a hostile or looping tree.
    @discardableResult
    private func walk(_ directory: String, depth: Int, _ visit: (Substring, String) -> Bool) -> Bool {
        guard depth < 12 else { return false }
        for name in BoundedFile.entries(of: directory, directoriesOnly: true) {
            let child = directory + "/" + name
            if visit(Substring(name), child) { return true }
            if walk(child, depth: depth + 1, visit) { return true }
        }
        return false
    }
}

/// A subject that does not exist yet: a window armed for it waits in the kernel for
/// its cgroup, known by the names or the path it will be created with, and becomes
/// active the moment the cgroup is made — before any process can be in it. It exists
/// so that a controller can open the window before the pod starts, and a subject
/// cannot act unwitnessed in its first seconds.
package struct ArmedSubject: Sendable, Equatable {
    /// cgroup, pod or container.
    package var kind: String
    /// What the user asked for, normalized (the cgroup's path inside the hierarchy,
    /// the pod UID, the full container id).
    package var value: String
    /// The keys the kernel matches at mkdir: a cgroup's last path component, or its
    /// whole path inside the hierarchy (`/a/b`).
    package var names: [String]

    /// The armed form of `spec`, a subject not found on this node. A pid cannot be
    /// armed (a process is never created by name), nor a short container id (the
    /// runtime names the cgroup by the full one).
    package static func arming(_ spec: SubjectSpec, cgroups: CgroupFS) throws(AgentError) -> ArmedSubject {
        switch spec {
        case let .cgroup(path):
            var inside =
                path.hasPrefix(cgroups.mountPoint + "/") ? String(path.dropFirst(cgroups.mountPoint.count)) : path
            if !inside.hasPrefix("/") { inside = "/" + inside }
            while inside.count > 1 && inside.hasSuffix("/") { inside.removeLast() }
            let components = inside.split(separator: "/")
            guard !components.isEmpty, !components.contains(where: { $0 == "." || $0 == ".." }) else {
                throw AgentError.usage("cannot wait for cgroup \(path): give a path below the cgroup v2 root")
            }
            // The kernel's spelling: one slash between components (`a//b/` is `/a/b`).
            let canonical = "/" + components.joined(separator: "/")
            return ArmedSubject(kind: spec.kind, value: canonical, names: [canonical])
        case let .podUID(text):
            let uid = try SubjectResolver.normalizedPodUID(text)
            let underscored = String(uid.map { $0 == "-" ? "_" : $0 })
            // cgroupfs driver: pod<uid>; systemd driver: one slice per QoS class.
            let names =
                ["pod" + uid] + ["", "burstable-", "besteffort-"].map { "kubepods-\($0)pod\(underscored).slice" }
            return ArmedSubject(kind: spec.kind, value: uid, names: names)
        case let .containerID(text):
            let id = try SubjectResolver.normalizedContainerID(text)
            guard id.count == 64 else {
                throw AgentError.usage(
                    "no container with id \(id) on this node; to wait for one that has not started, give its full 64-digit id"
                )
            }
            var names = [id]
            for prefix in ["cri-containerd-", "containerd-", "docker-", "crio-", "libpod-"] {
                names.append(prefix + id)
                names.append(prefix + id + ".scope")
            }
            return ArmedSubject(kind: spec.kind, value: id, names: names)
        case let .pid(pid):
            throw AgentError.usage("no process with pid \(pid)")
        }
    }
}

import Foundation
import Testing

extension RealKernelTests {
    /// A node layout of the cgroupfs driver, made of real cgroups: a process in the
    /// container's cgroup is attributed to the container and the pod; the window is
    /// opened on the pod, so the container below it is covered.
    @Test func eventsCarryTheContainerAndPodOfTheirCgroup() throws {
        let mount = try cgroupMount()
        let uid = UUID().uuidString.lowercased()
        let container = (UUID().uuidString + UUID().uuidString).lowercased().replacingOccurrences(of: "-", with: "")
            .prefix(64)
        let base = "\(mount)/witness-test-kubepods-\(uid.prefix(8))"
        let pod = "\(base)/burstable/pod\(uid)"
        let containerDirectory = "\(pod)/\(container)"
        try FileManager.default.createDirectory(atPath: containerDirectory, withIntermediateDirectories: true)
        defer {
            for directory in [containerDirectory, pod, "\(base)/burstable", base] { rmdir(directory) }
        }
        let agent = try RunningAgent(["witness", "--cgroup", pod, "--window", "3s", "--events", "--output", "json"])
        try agent.waitUntilAttached()
        try Scratch.shell("echo $$ > \(containerDirectory)/cgroup.procs; cat /etc/hostname > /dev/null")
        let result = try agent.finish()
        let open = try #require(
            result.events().first {
                ($0["fd.name"] as? String) == "/etc/hostname" && ($0["proc.name"] as? String) == "cat"
            })
        #expect(open["container.id"] as? String == String(container.prefix(12)))
        #expect(open["k8s.pod.uid"] as? String == uid)
    }
}

/// A node of both kubelet cgroup drivers, made of real cgroups under a scratch
/// parent: systemd (`kubepods-<qos>-pod<uid_>.slice/<runtime>-<id>.scope`) and
/// cgroupfs (`kubepods/<qos>/pod<uid>/<id>`, guaranteed pods directly below kubepods).
struct FakeNode {
    struct Pod {
        var uid: String
        var directory: String
        var containers: [String] = []
    }

    let root: String
    private(set) var directories: [String] = []

    init(mount: String) throws {
        root = "\(mount)/witness-test-node-\(UUID().uuidString.prefix(8))"
        try make(root)
    }

    static func containerID() -> String {
        (UUID().uuidString + UUID().uuidString).lowercased().replacingOccurrences(of: "-", with: "")
    }

    mutating func make(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var partial = path
        var added: [String] = []
        while partial.count > root.count - 1 && !directories.contains(partial) {
            added.append(partial)
            partial = (partial as NSString).deletingLastPathComponent
        }
        directories.append(contentsOf: added.reversed())
    }

    mutating func systemdPod(qos: String) throws -> Pod {
        let uid = UUID().uuidString.lowercased()
        let slice = qos == "guaranteed" ? "\(root)/kubepods.slice" : "\(root)/kubepods.slice/kubepods-\(qos).slice"
        let prefix = qos == "guaranteed" ? "kubepods" : "kubepods-\(qos)"
        let pod = Pod(
            uid: uid, directory: "\(slice)/\(prefix)-pod\(uid.replacingOccurrences(of: "-", with: "_")).slice")
        try make(pod.directory)
        return pod
    }

    mutating func cgroupfsPod(qos: String) throws -> Pod {
        let uid = UUID().uuidString.lowercased()
        let pod = Pod(
            uid: uid,
            directory: qos == "guaranteed" ? "\(root)/kubepods/pod\(uid)" : "\(root)/kubepods/\(qos)/pod\(uid)")
        try make(pod.directory)
        return pod
    }

    /// Adds a container; `runtime` is the systemd scope prefix (cri-containerd, crio, docker) or nil for cgroupfs.
    mutating func addContainer(to pod: inout Pod, runtime: String?) throws -> (id: String, directory: String) {
        let id = Self.containerID()
        let directory = runtime.map { "\(pod.directory)/\($0)-\(id).scope" } ?? "\(pod.directory)/\(id)"
        try make(directory)
        pod.containers.append(id)
        return (id, directory)
    }

    func remove() {
        for directory in directories.reversed() { rmdir(directory) }
    }
}

extension RealKernelTests {
    /// The `cat /etc/hostname` opens of a run, as (container.id, k8s.pod.uid).
    private func hostnameReads(_ result: AgentResult) -> [(String?, String?)] {
        result.events().filter {
            ($0["fd.name"] as? String) == "/etc/hostname" && ($0["proc.name"] as? String) == "cat"
        }
        .map { ($0["container.id"] as? String, $0["k8s.pod.uid"] as? String) }
    }

    /// A window on a pod UID (systemd driver) covers every container of the pod —
    /// containerd and CRI-O naming, and one created after the window opened — and
    /// not the neighbouring pod.
    @Test func podSubjectCoversEveryContainerOfThePodOnly() throws {
        var node = try FakeNode(mount: try cgroupMount())
        defer { node.remove() }
        var pod = try node.systemdPod(qos: "burstable")
        var neighbour = try node.systemdPod(qos: "burstable")
        var other = try node.systemdPod(qos: "besteffort")
        var guaranteed = try node.systemdPod(qos: "guaranteed")
        let first = try node.addContainer(to: &pod, runtime: "cri-containerd")
        let second = try node.addContainer(to: &pod, runtime: "crio")
        let outsider = try node.addContainer(to: &neighbour, runtime: "cri-containerd")
        let elsewhere = try node.addContainer(to: &other, runtime: "docker")
        _ = try node.addContainer(to: &guaranteed, runtime: "cri-containerd")

        let agent = try RunningAgent([
            "witness", "--pod-uid", pod.uid, "--window", "3s", "--events", "--output", "json",
        ])
        try agent.waitUntilAttached()
        for directory in [first.directory, second.directory, outsider.directory, elsewhere.directory] {
            try Scratch.shell("echo $$ > \(directory)/cgroup.procs; cat /etc/hostname > /dev/null")
        }
        let late = try node.addContainer(to: &pod, runtime: "cri-containerd")  // a restart, after the window opened
        try Scratch.shell("echo $$ > \(late.directory)/cgroup.procs; cat /etc/hostname > /dev/null")
        let result = try agent.finish()

        let reads = hostnameReads(result)
        #expect(Set(reads.compactMap { $0.0 }) == Set([first.id, second.id, late.id].map { String($0.prefix(12)) }))
        #expect(reads.allSatisfy { $0.1 == pod.uid })
        let testimony = try #require(result.jsonLines().last)
        #expect((testimony["subject"] as? [String: Any])?["kind"] as? String == "pod")
        #expect((testimony["subject"] as? [String: Any])?["value"] as? String == pod.uid)
    }

    /// A window on a container id (cgroupfs driver, short or runtime-prefixed id)
    /// covers that container alone.
    @Test func containerSubjectCoversThatContainerOnly() throws {
        var node = try FakeNode(mount: try cgroupMount())
        defer { node.remove() }
        var pod = try node.cgroupfsPod(qos: "besteffort")
        var guaranteed = try node.cgroupfsPod(qos: "guaranteed")
        let target = try node.addContainer(to: &pod, runtime: nil)
        let sibling = try node.addContainer(to: &pod, runtime: nil)
        let other = try node.addContainer(to: &guaranteed, runtime: nil)

        let agent = try RunningAgent([
            "witness", "--container-id", "containerd://\(target.id.prefix(16))", "--window", "3s", "--events",
            "--output", "json",
        ])
        try agent.waitUntilAttached()
        for directory in [target.directory, sibling.directory, other.directory] {
            try Scratch.shell("echo $$ > \(directory)/cgroup.procs; cat /etc/hostname > /dev/null")
        }
        let result = try agent.finish()
        let reads = hostnameReads(result)
        #expect(reads.count == 1)
        #expect(reads.first?.0 == String(target.id.prefix(12)))
        #expect(reads.first?.1 == pod.uid)
        let testimony = try #require(result.jsonLines().last)
        #expect((testimony["subject"] as? [String: Any])?["value"] as? String == target.id)

        // A full id not on this node: armed, waited for, never created.
        let unknown = try Agent.run([
            "witness", "--container-id", FakeNode.containerID(), "--window", "1s", "--arm-deadline", "1s",
        ])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("was not created within --arm-deadline"))
        let never = try #require(unknown.jsonLines().last)
        #expect((never["window"] as? [String: Any])?["endReason"] as? String == "neverStarted")
        #expect((never["gate"] as? [String: Any])?["passed"] as? Bool == false)
    }
}

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
            result.events().first { ($0["fd.name"] as? String) == "/etc/hostname" && ($0["proc.name"] as? String) == "cat" })
        #expect(open["container.id"] as? String == String(container.prefix(12)))
        #expect(open["k8s.pod.uid"] as? String == uid)
    }
}

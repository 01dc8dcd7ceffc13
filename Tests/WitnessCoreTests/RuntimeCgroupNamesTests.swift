import Foundation
import Testing

@testable import WitnessCore

/// Container ids as podman and CRI-O name their cgroups, under both cgroup managers:
/// `--container-id` and `{"containerId":...}` find them, an armed window waits for
/// them by those names, and events in them carry the container's id. The runtimes'
/// monitor (conmon) has a scope of its own named after the same id, which is not the
/// container. scripts/e2e witnesses a real podman container; these are the other
/// spellings, made by hand as real cgroups.
@Suite("Container ids as podman and CRI-O name their cgroups")
struct RuntimeCgroupNamesTests {
    static let id = "9c2f4e6a8b0d1f3e5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f"
    static let podUID = "4f6a8c0e-2b4d-4f6a-8c0e-2b4d6f8a0c1e"

    /// Each layout: the container's cgroup and its monitor's, below a scratch root.
    static let layouts: [(name: String, container: String, monitor: String?)] = [
        // podman, cgroupfs manager: libpod_parent/libpod-<id>, conmon beside it.
        ("podman cgroupfs", "libpod_parent/libpod-\(id)", "libpod_parent/conmon"),
        // podman, systemd manager: machine.slice/libpod-<id>.scope, and its conmon scope.
        ("podman systemd", "machine.slice/libpod-\(id).scope", "machine.slice/libpod-conmon-\(id).scope"),
        // CRI-O, cgroupfs driver: kubepods/<qos>/pod<uid>/crio-<id>.
        (
            "CRI-O cgroupfs", "kubepods/besteffort/pod\(podUID)/crio-\(id)",
            "kubepods/besteffort/pod\(podUID)/crio-conmon-\(id)"
        ),
        // CRI-O, systemd driver: ...-pod<uid_>.slice/crio-<id>.scope and crio-conmon-<id>.scope.
        (
            "CRI-O systemd",
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUID.replacingOccurrences(of: "-", with: "_")).slice/crio-\(id).scope",
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUID.replacingOccurrences(of: "-", with: "_")).slice/crio-conmon-\(id).scope"
        ),
    ]

    @Test func eventsInTheirCgroupsCarryTheContainerID() {
        for layout in Self.layouts {
            let identity = CgroupIdentity(path: "/" + layout.container)
            #expect(identity.containerID == Array(Self.id.prefix(12).utf8), "\(layout.name)")
            if layout.name.hasPrefix("CRI-O") {
                #expect(identity.podUID == Array(Self.podUID.utf8), "\(layout.name)")
            }
            if let monitor = layout.monitor {
                #expect(CgroupIdentity(path: "/" + monitor).containerID == nil, "\(layout.name): the monitor")
            }
        }
        // podman's systemd manager may nest the payload one level down.
        #expect(
            CgroupIdentity(path: "/machine.slice/libpod-\(Self.id).scope/container").containerID
                == Array(Self.id.prefix(12).utf8))
    }

    @Test func anArmedWindowWaitsForEveryRuntimeSpelling() throws {
        let armed = try ArmedSubject.arming(.containerID(Self.id), cgroups: CgroupFS(mountPoint: "/sys/fs/cgroup"))
        for name in ["libpod-\(Self.id)", "libpod-\(Self.id).scope", "crio-\(Self.id)", "crio-\(Self.id).scope"] {
            #expect(armed.names.contains(name), "\(name)")
        }
        #expect(!armed.names.contains { $0.contains("conmon") })
    }

    /// Real cgroups of each layout: the full id, a 12-digit prefix and the
    /// `cri-o://` spelling of a pod's status find the container's cgroup, never the
    /// monitor's.
    @Test func containerIDsFindTheirCgroups() throws {
        let cgroups = try CgroupFS.detect()
        let resolver = SubjectResolver(cgroups: cgroups)
        for layout in Self.layouts {
            let root = "\(cgroups.mountPoint)/witness-test-runtime-\(UUID().uuidString.prefix(8))"
            var made: [String] = []
            defer { for directory in made.reversed() { rmdir(directory) } }
            for path in [layout.container] + (layout.monitor.map { [$0] } ?? []) {
                var partial = root
                for component in [""] + path.split(separator: "/").map(String.init) {
                    if !component.isEmpty { partial += "/" + component }
                    if !made.contains(partial) && mkdir(partial, 0o755) == 0 { made.append(partial) }
                }
            }
            for spelling in [Self.id, String(Self.id.prefix(12)), "cri-o://\(Self.id)"] {
                let subject = try resolver.resolve(.containerID(spelling))
                #expect(subject.cgroupDirectory == "\(root)/\(layout.container)", "\(layout.name): \(spelling)")
                #expect(subject.value == Self.id, "\(layout.name): \(spelling)")
            }
        }
    }
}

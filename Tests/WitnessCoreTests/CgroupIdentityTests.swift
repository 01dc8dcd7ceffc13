import Foundation
import Testing

@testable import WitnessCore

@Suite("Container and pod identities from cgroup paths")
struct CgroupIdentityTests {
    let container = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70a"
    let pod = "6d1c2f0e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"

    @Test func systemdDriverWithEveryRuntimeAndQoS() {
        let underscored = pod.replacingOccurrences(of: "-", with: "_")
        for runtime in ["cri-containerd", "crio", "docker"] {
            for qos in ["", "-burstable", "-besteffort"] {
                let slice = qos.isEmpty ? "kubepods-pod\(underscored).slice" : "kubepods\(qos)-pod\(underscored).slice"
                let parent = qos.isEmpty ? "" : "/kubepods\(qos).slice"
                let path = "/kubepods.slice\(parent)/\(slice)/\(runtime)-\(container).scope"
                let identity = CgroupIdentity(path: path)
                #expect(identity.containerID == Array(container.prefix(12).utf8), "\(path)")
                #expect(identity.podUID == Array(pod.utf8), "\(path)")
            }
        }
    }

    @Test func cgroupfsDriver() {
        for qos in ["", "burstable/", "besteffort/"] {
            let identity = CgroupIdentity(path: "/kubepods/\(qos)pod\(pod)/\(container)")
            #expect(identity.containerID == Array(container.prefix(12).utf8))
            #expect(identity.podUID == Array(pod.utf8))
        }
    }

    @Test func thePodCgroupItselfHasAPodButNoContainer() {
        let identity = CgroupIdentity(path: "/kubepods/burstable/pod\(pod)")
        #expect(identity.containerID == nil)
        #expect(identity.podUID == Array(pod.utf8))
    }

    @Test func hostCgroupsAreNeither() {
        for path in [
            "/", "/system.slice/sshd.service", "/user.slice/user-0.slice/session-3.scope", "/witness-test-12ab",
        ] {
            #expect(CgroupIdentity(path: path) == CgroupIdentity(), "\(path)")
        }
        // Not quite an id: wrong length, upper case, not hex.
        #expect(CgroupIdentity(path: "/docker-\(container.dropLast()).scope").containerID == nil)
        #expect(CgroupIdentity(path: "/docker-\(container.uppercased()).scope").containerID == nil)
        #expect(CgroupIdentity(path: "/podnot-a-uid").podUID == nil)
    }

    @Test func identitiesResolveRealCgroupIDs() throws {
        let cgroups = try CgroupFS.detect()
        let identities = CgroupIdentities(mountPoint: cgroups.mountPoint)
        let root = try cgroups.id(ofDirectory: cgroups.mountPoint)
        #expect(identities.identity(of: root) == CgroupIdentity())
        #expect(identities.identity(of: 0xFFFF_FFFF_FFFF) == CgroupIdentity())
    }
}

import CBPF
import Glibc

/// What a cgroup says about who runs in it: the container (Falco's 12-character
/// container.id) and the Kubernetes pod UID, read from the cgroup's path as the
/// container runtimes and kubelet name it:
///
///     .../kubepods-burstable-pod<uid with _>.slice/cri-containerd-<64 hex>.scope   systemd driver
///     .../kubepods/burstable/pod<uid>/<64 hex>                                     cgroupfs driver
///     .../docker-<64 hex>.scope, crio-<64 hex>.scope, libpod-<64 hex>.scope, docker/<64 hex>
package struct CgroupIdentity: Equatable, Sendable {
    package var containerID: [UInt8]?
    package var podUID: [UInt8]?

    package init(containerID: [UInt8]? = nil, podUID: [UInt8]? = nil) {
        self.containerID = containerID
        self.podUID = podUID
    }

    /// Parses a cgroup path.
    package init(path: String) {
        for component in path.split(separator: "/") {
            if let id = Self.containerID(in: component) { containerID = Array(id.prefix(12).utf8) }
            if let uid = Self.podUID(in: component) { podUID = Array(uid.utf8) }
        }
    }

    private static func isHex(_ text: Substring) -> Bool {
        text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// The full 64-hex container id a cgroup directory name carries, if any.
    package static func containerID(in component: Substring) -> Substring? {
        var name = component
        if name.hasSuffix(".scope") { name = name.dropLast(6) }
        for prefix in ["cri-containerd-", "docker-", "crio-", "libpod-", "containerd-"] where name.hasPrefix(prefix) {
            name = name.dropFirst(prefix.count)
        }
        return name.count == 64 && isHex(name) ? name : nil
    }

    /// The pod UID (dashed) a cgroup directory name carries, if any.
    package static func podUID(in component: Substring) -> String? {
        // The last "pod": systemd slices spell "kubepods-burstable-pod<uid>".
        guard let range = component.ranges(of: "pod").last else { return nil }
        var uid = component[range.upperBound...]
        if uid.hasSuffix(".slice") { uid = uid.dropLast(6) }
        let normalized = uid.replacingUnderscores()
        let parts = normalized.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map({ $0.count }) == [8, 4, 4, 4, 12], parts.allSatisfy({ isHex($0) }) else { return nil }
        return normalized
    }
}

extension Substring {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}

/// Cgroup ids (what every event carries) to identities, cached. An unknown id is
/// opened by its file handle (the cgroup id is the kernfs handle) and its path read
/// back — one system call pair, precise even for a container created a moment ago.
/// Where that is refused, the cgroup v2 tree is walked for the directory with that
/// inode, at most once a second, so a burst of events from a new cgroup costs one walk.
package final class CgroupIdentities {
    private var known: [UInt64: CgroupIdentity] = [:]
    private let mountPoint: String?
    private let mountFD: Int32
    private var lastWalk: UInt64 = 0
    /// Pod metadata (node mode with Kubernetes API access); nil leaves it `<NA>`.
    package var pods: (any PodMetadataSource)?
    private static let host = CgroupIdentity()

    package init(mountPoint: String?) {
        self.mountPoint = mountPoint
        mountFD = mountPoint.map { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1
    }

    deinit {
        if mountFD >= 0 { close(mountFD) }
    }

    /// The pod (and container) a cgroup belongs to, when the metadata source knows it.
    package func pod(of cgroupID: UInt64) -> (pod: PodMetadata, container: PodMetadata.Container?)? {
        guard let pods else { return nil }
        let identity = identity(of: cgroupID)
        guard let uid = identity.podUID, let pod = pods.pod(uid: uid) else { return nil }
        return (pod, identity.containerID.flatMap { pod.container(shortID: $0) })
    }

    /// Told of each identity handed out (a recording keeps them for replay).
    var onIdentity: ((UInt64, CgroupIdentity) -> Void)?

    /// Makes `cgroupID` known as `identity` (replay: what the recording says).
    package func seed(_ cgroupID: UInt64, _ identity: CgroupIdentity) {
        known[cgroupID] = identity
    }

    package func identity(of cgroupID: UInt64) -> CgroupIdentity {
        let identity = resolve(cgroupID)
        onIdentity?(cgroupID, identity)
        return identity
    }

    /// The cgroup's path below the cgroup v2 mount (`/a/b`), opened by its handle;
    /// nil when that is refused or it is gone.
    package func path(of cgroupID: UInt64) -> String? {
        guard mountFD >= 0, let mountPoint else { return nil }
        var path = [CChar](repeating: 0, count: 4096)
        let length = cbpf_cgroup_path(mountFD, cgroupID, &path, Int32(path.count))
        guard length > 0 else { return nil }
        var text = String(decoding: path[..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(mountPoint) { text.removeFirst(mountPoint.count) }
        return text
    }

    private func resolve(_ cgroupID: UInt64) -> CgroupIdentity {
        if let identity = known[cgroupID] { return identity }
        if let text = path(of: cgroupID) {
            let identity = CgroupIdentity(path: text)
            if known.count > 100_000 { known.removeAll() }
            known[cgroupID] = identity
            return identity
        }
        let now = WallClock.bootNow()
        guard let mountPoint, now &- lastWalk > 1_000_000_000 || lastWalk == 0 else { return Self.host }
        lastWalk = now
        walk(mountPoint, relative: "")
        if known.count > 100_000 { known.removeAll() }  // bounded; the next miss walks again
        return known[cgroupID] ?? Self.host
    }

    /// Records every cgroup below `directory`.
    private func walk(_ directory: String, relative: String) {
        var info = stat()
        if stat(directory, &info) == 0, known[UInt64(info.st_ino)] == nil {
            known[UInt64(info.st_ino)] = CgroupIdentity(path: relative)
        }
        for name in BoundedFile.entries(of: directory, directoriesOnly: true) {
            walk(directory + "/" + name, relative: relative + "/" + name)
        }
    }
}

import Synchronization
import WitnessCore

/// This node's pods as the Kubernetes watch last described them. The watcher
/// replaces or updates entries under a lock and bumps a version; the consumer
/// thread keeps its own copy and takes the lock only when the version moved, so
/// the hot path costs one atomic load and never waits on the API.
package final class PodMetadataCache: PodMetadataSource, @unchecked Sendable {
    private let shared = Mutex<[String: PodMetadata]>([:])
    /// Pods removed lately, newest last: a window over a pod that ended as its
    /// window closed still names the images that ran.
    private let departed = Mutex<[PodMetadata]>([])
    private let departedKept = 256
    private let version = Atomic<UInt64>(0)
    /// Consumer-thread only.
    private var local: [[UInt8]: PodMetadata] = [:]
    private var localVersion: UInt64 = 0

    package init() {}

    /// Replaces every pod (a list after a relist).
    func replaceAll(_ pods: [PodMetadata]) {
        shared.withLock { table in
            table.removeAll()
            for pod in pods { table[pod.uid] = pod }
        }
        version.add(1, ordering: .releasing)
    }

    func update(_ pod: PodMetadata) {
        shared.withLock { $0[pod.uid] = pod }
        version.add(1, ordering: .releasing)
    }

    func remove(uid: String) {
        guard let pod = shared.withLock({ $0.removeValue(forKey: uid) }) else { return }
        departed.withLock { departed in
            departed.append(pod)
            if departed.count > departedKept { departed.removeFirst(departed.count - departedKept) }
        }
        version.add(1, ordering: .releasing)
    }

    /// The pod with `uid`, present or lately removed; any thread (takes the lock).
    package func lookup(uid: String) -> PodMetadata? {
        shared.withLock { $0[uid] } ?? departed.withLock { $0.last { $0.uid == uid } }
    }

    /// The pod that holds the container whose id starts with `id`; any thread.
    package func lookup(containerID id: String) -> (pod: PodMetadata, container: PodMetadata.Container)? {
        func find(_ pods: some Sequence<PodMetadata>) -> (PodMetadata, PodMetadata.Container)? {
            for pod in pods {
                if let container = pod.containers.first(where: { !$0.id.isEmpty && $0.id.hasPrefix(id) }) {
                    return (pod, container)
                }
            }
            return nil
        }
        return shared.withLock { find($0.values) } ?? departed.withLock { find($0.reversed()) }
    }

    /// How many pods are known (metrics, tests).
    package var count: Int { shared.withLock { $0.count } }

    /// On the consumer thread.
    package func pod(uid: [UInt8]) -> PodMetadata? {
        let current = version.load(ordering: .acquiring)
        if current != localVersion {
            let copy = shared.withLock { $0 }
            local = Dictionary(uniqueKeysWithValues: copy.map { (Array($0.key.utf8), $0.value) })
            localVersion = current
        }
        return local[uid]
    }
}

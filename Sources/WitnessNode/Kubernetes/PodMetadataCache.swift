import Synchronization
import WitnessCore

/// This node's pods as the Kubernetes watch last described them. The watcher
/// replaces or updates entries under a lock and bumps a version; the consumer
/// thread keeps its own copy and takes the lock only when the version moved, so
/// the hot path costs one atomic load and never waits on the API.
package final class PodMetadataCache: PodMetadataSource, @unchecked Sendable {
    private let shared = Mutex<[String: PodMetadata]>([:])
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
        shared.withLock { _ = $0.removeValue(forKey: uid) }
        version.add(1, ordering: .releasing)
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

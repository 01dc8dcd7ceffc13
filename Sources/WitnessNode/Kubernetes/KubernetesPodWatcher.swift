import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WitnessCore

/// Keeps `PodMetadataCache` in step with the Kubernetes API: lists this node's pods
/// (`fieldSelector=spec.nodeName=<node>`, paged), then watches from the list's
/// resourceVersion, following each ADDED, MODIFIED, DELETED and BOOKMARK. A watch
/// that ends or drops is resumed from the last resourceVersion seen; 410 Gone (the
/// version is too old) forces a new list. Errors back off from 1 s to 30 s. The
/// service-account token is read again for every request (bound tokens rotate).
package final class KubernetesPodWatcher: Service, Sendable {
    package struct Counters: Sendable {
        package var lists: UInt64 = 0
        package var watches: UInt64 = 0
        package var gone: UInt64 = 0
        package var errors: UInt64 = 0
    }

    package let cache: PodMetadataCache
    private let podsURL: String
    private let tokenFile: String?
    private let client: HTTPClient
    private let logger: Logger
    private let counters = Mutex(Counters())
    /// Namespace → its labels rendered (nil: could not be read), for k8s.ns.labels.
    private let namespaceLabels = Mutex<[String: [UInt8]?]>([:])
    private let namespacesURL: String

    /// nil when Kubernetes metadata is off (not configured, not in a cluster).
    package static func make(
        _ config: NodeConfig.Kubernetes, environment: [String: String], hostname: String, cache: PodMetadataCache,
        logger: Logger
    ) throws(AgentError) -> KubernetesPodWatcher? {
        let host = environment["KUBERNETES_SERVICE_HOST"]
        guard config.enabled ?? (host != nil) else { return nil }
        var base = config.apiURL
        if base == nil, let host {
            let port = environment["KUBERNETES_SERVICE_PORT"] ?? "443"
            base = "https://" + (host.contains(":") ? "[\(host)]" : host) + ":" + port
        }
        guard let base, base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw AgentError.usage(
                "config: kubernetes.api_url is needed outside a cluster (no KUBERNETES_SERVICE_HOST)")
        }
        let node = config.node(environment: environment, hostname: hostname)
        return try KubernetesPodWatcher(base: base, node: node, config: config, cache: cache, logger: logger)
    }

    init(
        base: String, node: String, config: NodeConfig.Kubernetes, cache: PodMetadataCache, logger: Logger
    ) throws(AgentError) {
        self.cache = cache
        self.logger = logger
        let selector =
            "spec.nodeName=\(node)".addingPercentEncoding(
                withAllowedCharacters: .alphanumerics.union(.init(charactersIn: ".-_"))) ?? node
        podsURL = base.trimmingSuffix("/") + "/api/v1/pods?fieldSelector=" + selector
        namespacesURL = base.trimmingSuffix("/") + "/api/v1/namespaces/"
        tokenFile = FileManager.default.isReadableFile(atPath: config.tokenFile) ? config.tokenFile : nil
        // The service-account CA when it is mounted; the system's roots otherwise.
        let ca = FileManager.default.isReadableFile(atPath: config.caFile) ? config.caFile : nil
        client = try HTTPClientFactory.make(caFile: ca, setting: "kubernetes.ca_file", connect: .seconds(10), read: nil)
    }

    package var counts: Counters { counters.withLock { $0 } }

    package func run() async throws {
        await cancelWhenGracefulShutdown { await self.follow() }
        try? await client.shutdown()
    }

    private enum WatchEnd {
        case ended, gone
    }

    private struct APIError: Error, CustomStringConvertible {
        let description: String
    }

    private func follow() async {
        var resourceVersion: String?
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    resourceVersion = try await list()
                    logger.info("kubernetes: \(cache.count) pods on this node")
                }
                if try await watch(from: &resourceVersion) == .gone {
                    counters.withLock { $0.gone &+= 1 }
                    logger.info("kubernetes: watch expired (410 Gone); listing again")
                    resourceVersion = nil
                }
                backoff = .seconds(1)
            } catch {
                if Task.isCancelled { return }
                counters.withLock { $0.errors &+= 1 }
                logger.warning("kubernetes: \(error); retrying in \(backoff)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        if let tokenFile, let token = try? BearerToken.read(tokenFile) {
            request.headers.add(name: "Authorization", value: "Bearer " + token)
        }
        return request
    }

    /// The pod with its namespace's labels: fetched (GET, one namespace) the first
    /// time a namespace is seen, and again after each list of the node's pods. A
    /// namespace the agent may not read has none (k8s.ns.labels is `<NA>`).
    private func withNamespaceLabels(_ pod: PodMetadata) async -> PodMetadata {
        var pod = pod
        let namespace = String(decoding: pod.namespace, as: UTF8.self)
        if let known = namespaceLabels.withLock({ $0[namespace] }) {
            pod.namespaceLabels = known
            return pod
        }
        var labels: [UInt8]?
        let name =
            namespace.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-.")))
            ?? namespace
        if let response = try? await client.execute(request(namespacesURL + name), timeout: .seconds(10)),
            let body = try? await response.body.collect(upTo: 1 << 20), response.status == .ok,
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        {
            let values = ((object["metadata"] as? [String: Any])?["labels"] as? [String: String]) ?? [:]
            labels = PodMetadata.render(values)
        } else {
            counters.withLock { $0.errors &+= 1 }
        }
        namespaceLabels.withLock { $0[namespace] = labels }
        pod.namespaceLabels = labels
        return pod
    }

    /// Lists every pod of the node; returns the list's resourceVersion.
    private func list() async throws -> String {
        counters.withLock { $0.lists &+= 1 }
        namespaceLabels.withLock { $0.removeAll() }  // namespaces read again with the pods
        var pods: [PodMetadata] = []
        var next: String?
        repeat {
            // Pages of 100 pods, each at most 16 MiB: what one parse holds is bounded
            // however many pods the node runs; only the metadata kept is kept.
            var url = podsURL + "&limit=100"
            if let next {
                url += "&continue=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next)
            }
            let response = try await client.execute(request(url), timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { throw APIError(description: "list pods: HTTP \(response.status.code)") }
            guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let metadata = object["metadata"] as? [String: Any]
            else { throw APIError(description: "list pods: not a PodList") }
            for item in object["items"] as? [[String: Any]] ?? [] {
                if let pod = Self.pod(item) { pods.append(await withNamespaceLabels(pod)) }
            }
            next = (metadata["continue"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            if next == nil {
                cache.replaceAll(pods)
                return metadata["resourceVersion"] as? String ?? "0"
            }
        } while true
    }

    /// Follows one watch until it ends; `resourceVersion` advances with every event.
    private func watch(from resourceVersion: inout String?) async throws -> WatchEnd {
        counters.withLock { $0.watches &+= 1 }
        let url =
            podsURL + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" + (resourceVersion ?? "0")
        let response = try await client.execute(request(url), deadline: .now() + .seconds(330))
        if response.status.code == 410 { return .gone }
        guard response.status == .ok else {
            _ = try? await response.body.collect(upTo: 1 << 20)
            throw APIError(description: "watch pods: HTTP \(response.status.code)")
        }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                defer { pending.removeSubrange(...newline) }
                guard !line.isEmpty else { continue }
                guard let event = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                    let type = event["type"] as? String, let object = event["object"] as? [String: Any]
                else { throw APIError(description: "watch pods: a line that is not a watch event") }
                if type == "ERROR" {
                    if object["code"] as? Int == 410 { return .gone }
                    throw APIError(description: "watch pods: \(object["message"] as? String ?? "error event")")
                }
                if let version = (object["metadata"] as? [String: Any])?["resourceVersion"] as? String {
                    resourceVersion = version
                }
                switch type {
                case "ADDED", "MODIFIED": if let pod = Self.pod(object) { cache.update(await withNamespaceLabels(pod)) }
                case "DELETED":
                    if let uid = (object["metadata"] as? [String: Any])?["uid"] as? String { cache.remove(uid: uid) }
                default: break  // BOOKMARK: only the version
                }
            }
        }
        return .ended
    }

    /// A Pod object to what alerts need of it.
    static func pod(_ object: [String: Any]) -> PodMetadata? {
        guard let metadata = object["metadata"] as? [String: Any], let uid = metadata["uid"] as? String else {
            return nil
        }
        let status = object["status"] as? [String: Any] ?? [:]
        let spec = object["spec"] as? [String: Any] ?? [:]
        // Names are unique across a pod's containers of every kind.
        var privileged: [String: Bool] = [:]
        for key in ["initContainers", "containers", "ephemeralContainers"] {
            for entry in spec[key] as? [[String: Any]] ?? [] {
                guard let name = entry["name"] as? String else { continue }
                let context = entry["securityContext"] as? [String: Any]
                privileged[name] = context?["privileged"] as? Bool ?? false
            }
        }
        var containers: [PodMetadata.Container] = []
        for key in ["initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"] {
            for entry in status[key] as? [[String: Any]] ?? [] {
                guard let id = entry["containerID"] as? String, !id.isEmpty else { continue }
                let name = entry["name"] as? String ?? ""
                containers.append(
                    PodMetadata.Container(
                        id: id, name: name, image: entry["image"] as? String ?? "",
                        imageID: entry["imageID"] as? String ?? "", privileged: privileged[name]))
            }
        }
        return PodMetadata(
            uid: uid, namespace: metadata["namespace"] as? String ?? "", name: metadata["name"] as? String ?? "",
            labels: metadata["labels"] as? [String: String] ?? [:], containers: containers)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}

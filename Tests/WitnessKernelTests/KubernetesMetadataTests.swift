import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing

/// A Kubernetes API server on loopback that speaks the pod list/watch protocol
/// with a script: the first watch sends one event and drops the connection; the
/// second sends one more and then 410 Gone; the list after that has a new pod; the
/// third watch stays open with a bookmark.
final class FakeKubernetesAPI: @unchecked Sendable {
    let port = LoopbackPort.next()
    private let lock = NSLock()
    private var pods: [String: [String: Any]] = [:]
    private var listVersion = "100"
    private(set) var watchVersions: [String] = []
    private(set) var selectors: [String] = []
    private(set) var tokens: [String] = []
    private(set) var lists = 0
    private var task: Task<Void, any Error>?
    /// Events per watch, in order; a watch past the script stays open.
    private var script: [[(String, [String: Any])]] = []
    private var afterGone: [[String: Any]] = []

    func setPods(_ objects: [[String: Any]], version: String) {
        lock.withLock {
            pods = Dictionary(uniqueKeysWithValues: objects.map { (uid(of: $0), $0) })
            listVersion = version
        }
    }

    func setScript(_ watches: [[(String, [String: Any])]], listAfterGone: [[String: Any]]) {
        lock.withLock {
            script = watches
            afterGone = listAfterGone
        }
    }

    private func uid(of pod: [String: Any]) -> String {
        (pod["metadata"] as? [String: Any])?["uid"] as? String ?? ""
    }

    static func line(_ type: String, _ object: [String: Any]) -> ByteBuffer {
        let data = try! JSONSerialization.data(withJSONObject: ["type": type, "object": object])
        return ByteBuffer(bytes: Array(data) + [UInt8(ascii: "\n")])
    }

    func start() async throws {
        let router = Router()
        router.get("api/v1/namespaces/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            let body = try JSONSerialization.data(withJSONObject: [
                "kind": "Namespace", "apiVersion": "v1",
                "metadata": ["name": name, "labels": ["team": "blue", "tier": "trial"]],
            ])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("api/v1/pods") { request, _ -> Response in
            let query = request.uri.queryParameters
            self.lock.withLock {
                self.selectors.append(query["fieldSelector"].map(String.init) ?? "")
                self.tokens.append(request.headers[.authorization] ?? "")
            }
            if query["watch"] == nil {
                let (items, version) = self.lock.withLock { () -> ([[String: Any]], String) in
                    self.lists += 1
                    if self.lists == 2 {
                        self.pods = Dictionary(uniqueKeysWithValues: self.afterGone.map { (self.uid(of: $0), $0) })
                        self.listVersion = "200"
                    }
                    return (Array(self.pods.values), self.listVersion)
                }
                let body = try JSONSerialization.data(withJSONObject: [
                    "kind": "PodList", "apiVersion": "v1", "metadata": ["resourceVersion": version], "items": items,
                ])
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            let (number, events) = self.lock.withLock { () -> (Int, [(String, [String: Any])]) in
                self.watchVersions.append(query["resourceVersion"].map(String.init) ?? "")
                let number = self.watchVersions.count
                return (number, number <= self.script.count ? self.script[number - 1] : [])
            }
            let lines = events.map { Self.line($0.0, $0.1) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init { writer in
                    for line in lines { try await writer.write(line) }
                    switch number {
                    case 1: throw CancellationError()  // the connection drops mid-watch
                    case 2: try await writer.finish(nil)
                    default:
                        try await writer.write(
                            Self.line("BOOKMARK", ["kind": "Pod", "metadata": ["resourceVersion": "201"]]))
                        try await Task.sleep(for: .seconds(120))
                        try await writer.finish(nil)
                    }
                })
        }
        task = try await LoopbackServer.start(router, port: port)
    }

    func stop() async {
        await LoopbackServer.stop(task)
    }

    static func pod(
        uid: String, name: String, labels: [String: String], container: (id: String, name: String, image: String),
        privileged: Bool = false, imageID: String? = nil, version: String
    ) -> [String: Any] {
        // Unprivileged containers say nothing, as most pod specs do.
        let spec: [String: Any] =
            privileged ? ["name": container.name, "securityContext": ["privileged": true]] : ["name": container.name]
        var status: [String: Any] = [
            "name": container.name, "image": container.image, "containerID": "containerd://" + container.id,
        ]
        if let imageID { status["imageID"] = imageID }
        return [
            "kind": "Pod",
            "metadata": [
                "uid": uid, "name": name, "namespace": "trials", "labels": labels, "resourceVersion": version,
            ],
            "spec": ["nodeName": "node-1", "containers": [spec]],
            "status": ["containerStatuses": [status]],
        ]
    }
}

extension RealKernelTests {
    /// The agent lists and watches this node's pods through a dropped connection, a
    /// 410 Gone and a relist; its cache converges, and alerts carry the pod's
    /// namespace, name, labels, container name and image as the API last said.
    @Test func podMetadataFollowsTheKubernetesWatch() async throws {
        var node = try FakeNode(mount: try cgroupMount())
        defer { node.remove() }
        var podA = try node.systemdPod(qos: "burstable")
        var podB = try node.systemdPod(qos: "besteffort")
        var podC = try node.cgroupfsPod(qos: "burstable")
        var unknown = try node.systemdPod(qos: "burstable")
        let a = try node.addContainer(to: &podA, runtime: "cri-containerd")
        let b = try node.addContainer(to: &podB, runtime: "crio")
        let c = try node.addContainer(to: &podC, runtime: nil)
        let stranger = try node.addContainer(to: &unknown, runtime: "cri-containerd")

        let api = FakeKubernetesAPI()
        let first = FakeKubernetesAPI.pod(
            uid: podA.uid, name: "pod-a", labels: ["app": "web"],
            container: (a.id, "web", "registry.example:5000/web:1.0"), version: "90")
        let modified = FakeKubernetesAPI.pod(
            uid: podA.uid, name: "pod-a", labels: ["app": "web", "version": "2"],
            container: (a.id, "web", "registry.example:5000/web:2.0"), version: "102")
        let added = FakeKubernetesAPI.pod(
            uid: podB.uid, name: "pod-b", labels: [:], container: (b.id, "db", "postgres"), version: "101")
        let late = FakeKubernetesAPI.pod(
            uid: podC.uid, name: "pod-c", labels: ["tier": "batch"], container: (c.id, "job", "busybox@sha256:abc"),
            privileged: true, version: "150")
        api.setPods([first], version: "100")
        api.setScript(
            [
                [("ADDED", added)],
                [("MODIFIED", modified), ("ERROR", ["kind": "Status", "code": 410, "reason": "Expired"])],
            ],
            listAfterGone: [modified, added, late])
        try await api.start()
        defer { Task { await api.stop() } }

        let rules = """
            - rule: Hostname read
              desc: test rule naming the pod
              condition: evt.type in (open, openat, openat2) and fd.name = /etc/hostname
              output: read (cid=%container.id ns=%k8s.ns.name ns_labels=%k8s.ns.labels pod=%k8s.pod.name labels=%k8s.pod.labels container=%container.name image=%container.image.repository tag=%container.image.tag privileged=%container.privileged app=%k8s.pod.label[app] version=%k8s.pod.label.version)
              priority: NOTICE
            - rule: Privileged hostname read
              desc: test rule on the pod spec's securityContext
              condition: evt.type in (open, openat, openat2) and fd.name = /etc/hostname and container.privileged = true
              output: privileged read (pod=%k8s.pod.name)
              priority: WARNING
            - rule: Version 2 hostname read
              desc: test rule on one label
              condition: evt.type in (open, openat, openat2) and fd.name = /etc/hostname and k8s.pod.label[version] = 2
              output: version 2 read (pod=%k8s.pod.name)
              priority: WARNING
            """
        let scratch = try Scratch.directory("k8s")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try Scratch.write(scratch.appendingPathComponent("rules.yaml").path, Data(rules.utf8))
        try Scratch.write(scratch.appendingPathComponent("sa-token").path, Data("service-account-token-123".utf8))
        let agent = try NodeUnderTest(
            extraConfig: """
                rules_files: [\(scratch.path)/rules.yaml]
                kubernetes:
                  enabled: true
                  api_url: http://127.0.0.1:\(api.port)
                  node_name: node-1
                  token_file: \(scratch.path)/sa-token
                """)
        defer { try? FileManager.default.removeItem(at: agent.directory) }

        // Converged: three pods, one 410, three watches (resumed after the drop at 101, then from the relist's 200).
        let deadline = Date().addingTimeInterval(30)
        var metrics = ""
        while Date() < deadline {
            metrics = try await agent.call(.GET, "/metrics").body
            if metrics.contains("witness_kubernetes_pods 3") && api.watchVersions.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(metrics.contains("witness_kubernetes_pods 3"))
        #expect(metrics.contains("witness_kubernetes_gone_total 1"))
        #expect(Array(api.watchVersions.prefix(3)) == ["100", "101", "200"])
        #expect(api.lists == 2)
        #expect(Set(api.selectors) == ["spec.nodeName=node-1"])
        #expect(Set(api.tokens) == ["Bearer service-account-token-123"])

        var windows: [String] = []
        for pod in [podA, podC, unknown] {
            windows.append(try await agent.open("{\"podUid\":\"\(pod.uid)\"}", window: "60s"))
        }
        for directory in [a.directory, c.directory, stranger.directory] {
            try runInCgroup(directory, "cat /etc/hostname > /dev/null")
        }
        for id in windows { _ = try await agent.json(.DELETE, "/v1/windows/\(id)") }
        let result = try agent.stop()
        let alerts = result.jsonLines().filter { $0["rule"] as? String == "Hostname read" }
            .compactMap { $0["output_fields"] as? [String: Any] }
        func fields(_ uid: String) -> [String: Any]? {
            alerts.first {
                $0["k8s.pod.name"] != nil && ($0["container.id"] as? String).map { uid.hasPrefix($0) } == true
            }
        }
        let seenA = try #require(fields(a.id))
        #expect(seenA["k8s.ns.name"] as? String == "trials")
        #expect(seenA["k8s.ns.labels"] as? String == "(team:blue,tier:trial)")
        #expect(seenA["k8s.pod.name"] as? String == "pod-a")
        #expect(seenA["k8s.pod.labels"] as? String == "(app:web,version:2)")
        #expect(seenA["container.name"] as? String == "web")
        #expect(seenA["container.image.repository"] as? String == "registry.example:5000/web")
        #expect(seenA["container.image.tag"] as? String == "2.0")
        #expect(seenA["k8s.pod.label[app]"] as? String == "web")
        #expect(seenA["k8s.pod.label[version]"] as? String == "2")
        #expect(
            (seenA["container.privileged"] as? NSNumber).map { $0 == false && String(cString: $0.objCType) == "c" }
                == true)
        let seenC = try #require(fields(c.id))
        #expect(seenC["k8s.pod.name"] as? String == "pod-c")
        #expect(seenC["container.image.repository"] as? String == "busybox")
        #expect(seenC["container.privileged"] as? Bool == true)
        #expect(seenC["k8s.pod.label[app]"] is NSNull)
        let labelled = result.jsonLines().filter { $0["rule"] as? String == "Version 2 hostname read" }
        #expect(labelled.map { ($0["output_fields"] as? [String: Any])?["k8s.pod.name"] as? String } == ["pod-a"])
        // Only the privileged container's read matches container.privileged = true.
        let privileged = result.jsonLines().filter { $0["rule"] as? String == "Privileged hostname read" }
        #expect(privileged.map { ($0["output_fields"] as? [String: Any])?["k8s.pod.name"] as? String } == ["pod-c"])
        // A pod the API never named: the fields are missing, the alert still fires.
        let seenStranger = try #require(fields(stranger.id))
        #expect(seenStranger["k8s.pod.name"] is NSNull)
        #expect(seenStranger["container.privileged"] is NSNull)
        #expect(alerts.count == 3)
    }
}

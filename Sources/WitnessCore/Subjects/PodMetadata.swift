/// What the Kubernetes API says about a pod running on this node, kept as bytes
/// ready for output: namespace, name, labels, and its containers by short id.
package struct PodMetadata: Sendable, Equatable {
    package struct Container: Sendable, Equatable {
        /// The first 12 hex digits of the runtime's container id (Falco's container.id).
        var shortID: [UInt8]
        package var name: [UInt8]
        package var repository: [UInt8]
        package var tag: [UInt8]
        /// `securityContext.privileged` of the container's spec (false when not set);
        /// nil when the spec did not name this container.
        package var privileged: Bool?
        /// The runtime's container id, without its `containerd://` scheme.
        package var id: String
        /// The image reference as the pod status gives it, and the image the runtime
        /// ran as its status's `imageID` names it (`repo@sha256:<hex>` and kin):
        /// what an attestation's subject is.
        package var image: String
        package var imageID: String

        package init(id: String, name: String, image: String, imageID: String = "", privileged: Bool? = nil) {
            var digits = id
            if let scheme = digits.firstRange(of: "://") { digits = String(digits[scheme.upperBound...]) }
            self.id = digits
            self.image = image
            self.imageID = imageID
            shortID = Array(digits.prefix(12).utf8)
            self.name = Array(name.utf8)
            let (repository, tag) = Self.split(image: image)
            self.repository = Array(repository.utf8)
            self.tag = Array(tag.utf8)
            self.privileged = privileged
        }

        /// `registry:5000/team/app:1.2` → (`registry:5000/team/app`, `1.2`); a digest
        /// reference has no tag; no tag means `latest`, as the runtime reads it.
        static func split(image: String) -> (String, String) {
            if let at = image.firstIndex(of: "@") { return (String(image[..<at]), "") }
            let lastSlash = image.lastIndex(of: "/") ?? image.startIndex
            if let colon = image[lastSlash...].lastIndex(of: ":") {
                return (String(image[..<colon]), String(image[image.index(after: colon)...]))
            }
            return (image, image.isEmpty ? "" : "latest")
        }
    }

    package var uid: String
    package var namespace: [UInt8]
    package var name: [UInt8]
    /// `(key:value,key:value)`, keys sorted.
    package var labels: [UInt8]
    /// The pod's namespace's labels, `(key:value,...)` (k8s.ns.labels); nil when unknown.
    package var namespaceLabels: [UInt8]?
    /// Each label's value, for `k8s.pod.label[KEY]`.
    var labelValues: [String: [UInt8]]
    package var containers: [Container]

    package init(uid: String, namespace: String, name: String, labels: [String: String], containers: [Container]) {
        self.uid = uid
        self.namespace = Array(namespace.utf8)
        self.name = Array(name.utf8)
        self.labels = Self.render(labels)
        labelValues = labels.mapValues { Array($0.utf8) }
        self.containers = containers
    }

    /// `(key:value,key:value)`, keys sorted: labels as Falco prints them.
    package static func render(_ labels: [String: String]) -> [UInt8] {
        Array(
            ("(" + labels.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") + ")").utf8)
    }

    package func container(shortID: [UInt8]) -> Container? {
        containers.first { $0.shortID == shortID }
    }
}

/// Where pod metadata comes from (node mode: a watch on the Kubernetes API). Asked
/// on the consumer thread; it must answer from memory, never wait on the network.
package protocol PodMetadataSource: AnyObject {
    func pod(uid: [UInt8]) -> PodMetadata?
}

import Logging
import WitnessAttestation
import WitnessCore

/// Signs each testimony of this node as an in-toto attestation: the statement
/// names the images that ran (from the pod watch, lately removed pods included),
/// the node, the agent and its rules; the node's rotating key signs it. Used for
/// every testimony the registry writes, recovered ones included.
package final class TestimonyNotary: Sendable {
    package let key: RotatingSigningKey
    package let nodeName: String
    private let rules: RulesDigest
    private let pods: PodMetadataCache?
    private let logger: Logger

    package init(
        key: RotatingSigningKey, nodeName: String, rules: RulesDigest, pods: PodMetadataCache?, logger: Logger
    ) {
        self.key = key
        self.nodeName = nodeName
        self.rules = rules
        self.pods = pods
        self.logger = logger
    }

    /// The envelope's JSON for `testimony` (whose JSON is `line`); nil only when
    /// signing failed (logged): the testimony is then delivered unsigned, never lost.
    func envelope(for testimony: Testimony, line: String) -> String? {
        let context = AttestationContext(
            nodeName: nodeName, agentVersion: WitnessVersion.current, rules: rules,
            images: images(kind: testimony.subjectKind, value: testimony.subjectValue))
        let statement = RuntimeTraceStatement.json(testimony: testimony, testimonyJSON: line, context: context)
        do throws(AttestationError) {
            if let problem = key.lastError {
                logger.error("signing.key_file: \(problem); signing with the last good key")
            }
            return try key.envelope(statement: statement).json()
        } catch {
            logger.error("testimony \(testimony.uuid) left unsigned: \(error.description)")
            return nil
        }
    }

    /// The images of a pod subject's containers, or of a container subject's own.
    private func images(kind: String, value: String) -> [ImageSubject] {
        guard let pods else { return [] }
        let containers: [PodMetadata.Container]
        switch kind {
        case "pod": containers = pods.lookup(uid: value)?.containers ?? []
        case "container": containers = pods.lookup(containerID: value).map { [$0.container] } ?? []
        default: return []
        }
        return containers.compactMap {
            ImageSubject(
                reference: $0.image, imageID: $0.imageID, container: String(decoding: $0.name, as: UTF8.self))
        }
    }

    /// The testimony line as delivered: the testimony with its envelope under `attestation`.
    static func delivered(_ line: String, attestation: String?) -> String {
        guard let attestation, line.hasSuffix("}") else { return line }
        return String(line.dropLast()) + ",\"attestation\":" + attestation + "}"
    }
}

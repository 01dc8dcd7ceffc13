import Foundation
import WitnessCore

/// What a statement says besides the testimony: who witnessed (node, agent
/// version, rules) and which images ran.
package struct AttestationContext: Sendable {
    package var nodeName: String
    package var agentVersion: String
    package var rules: RulesDigest
    package var images: [ImageSubject]

    package init(nodeName: String, agentVersion: String, rules: RulesDigest, images: [ImageSubject] = []) {
        self.nodeName = nodeName
        self.agentVersion = agentVersion
        self.rules = rules
        self.images = images
    }
}

/// The rules a window was judged by, each file by its sha256, and one digest for
/// them all: the sha256 of `sha256sum`'s output for the files in load order
/// (`<hex>  <name>\n` a line), so `sha256sum FILES | sha256sum` gives it again.
package struct RulesDigest: Sendable, Equatable {
    package struct File: Sendable, Equatable {
        package var name: String
        package var sha256: String
    }

    package var files: [File]
    package var digest: String

    /// `sources`: (name, text) in load order.
    package init(_ sources: [(name: String, text: String)]) {
        files = sources.map {
            File(name: $0.name, sha256: WitnessCore.SHA256.hex(of: $0.text))
        }
        let listing = files.map { "\($0.sha256)  \($0.name)\n" }.joined()
        digest = WitnessCore.SHA256.hex(of: listing)
    }
}

/// A container image that ran in the subject: its reference and the sha256 digest
/// the runtime reported in the pod status's `imageID`.
package struct ImageSubject: Sendable, Equatable {
    package var reference: String
    package var sha256: String
    package var container: String

    package init(reference: String, sha256: String, container: String) {
        self.reference = reference
        self.sha256 = sha256
        self.container = container
    }

    /// From a pod status entry; nil when `imageID` carries no sha256 digest
    /// (`docker-pullable://repo@sha256:<hex>`, `repo@sha256:<hex>`, `sha256:<hex>`).
    package init?(reference: String, imageID: String, container: String) {
        guard let range = imageID.range(of: "sha256:", options: .backwards) else { return nil }
        let hex = imageID[range.upperBound...]
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        self.init(reference: reference, sha256: String(hex), container: container)
    }
}

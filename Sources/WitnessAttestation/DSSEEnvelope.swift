import Foundation
import WitnessCore

/// A DSSE envelope (Dead Simple Signing Envelope, the in-toto attestation's wire
/// form): the payload as bytes, its type, and signatures over the pre-authentication
/// encoding of both. Rekor's `dsse` entries and every in-toto verifier take it as is.
package struct DSSEEnvelope: Sendable, Equatable {
    package struct Signature: Sendable, Equatable {
        /// Which key signed: the hex sha256 of the public key's PEM (`/v1/identity`).
        package var keyID: String
        package var bytes: [UInt8]
    }

    /// The in-toto statement's media type.
    static let inTotoPayloadType = "application/vnd.in-toto+json"

    package var payloadType: String
    package var payload: [UInt8]
    package var signatures: [Signature]

    /// What is signed: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths
    /// as ASCII decimal byte counts. Binding the type stops a signature over one
    /// kind of payload from being presented as another.
    package static func preAuthenticationEncoding(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var bytes = Array("DSSEv1 \(type.count) ".utf8)
        bytes += type
        bytes += Array(" \(payload.count) ".utf8)
        bytes += payload
        return bytes
    }

    package var preAuthenticationEncoding: [UInt8] {
        Self.preAuthenticationEncoding(payloadType: payloadType, payload: payload)
    }

    /// `{"payloadType":..,"payload":"<standard base64>","signatures":[{"keyid":..,"sig":"<base64>"}]}`
    package func json() -> String {
        var writer = JSONWriter(capacity: payload.count * 4 / 3 + 512)
        writer.raw("{\"payloadType\":")
        writer.string(payloadType)
        writer.raw(",\"payload\":")
        writer.string(Data(payload).base64EncodedString())
        writer.raw(",\"signatures\":[")
        for (index, signature) in signatures.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"keyid\":")
            writer.string(signature.keyID)
            writer.raw(",\"sig\":")
            writer.string(Data(signature.bytes).base64EncodedString())
            writer.raw("}")
        }
        writer.raw("]}")
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Reads an envelope; anything not shaped as DSSE says what is wrong, in one line.
    package init(json bytes: [UInt8]) throws(AttestationError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw AttestationError("the envelope is not a JSON object")
        }
        guard let payloadType = object["payloadType"] as? String else {
            throw AttestationError("the envelope has no payloadType")
        }
        guard let text = object["payload"] as? String, let payload = Data(base64Encoded: text) else {
            throw AttestationError("the envelope's payload is not standard base64")
        }
        guard let entries = object["signatures"] as? [[String: Any]], !entries.isEmpty else {
            throw AttestationError("the envelope has no signatures")
        }
        var signatures: [Signature] = []
        for entry in entries {
            guard let sig = entry["sig"] as? String, let bytes = Data(base64Encoded: sig) else {
                throw AttestationError("a signature is not standard base64")
            }
            signatures.append(Signature(keyID: entry["keyid"] as? String ?? "", bytes: Array(bytes)))
        }
        self.init(payloadType: payloadType, payload: Array(payload), signatures: signatures)
    }

    package init(payloadType: String, payload: [UInt8], signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }
}

/// Why an attestation could not be made, loaded or verified: one line.
package struct AttestationError: Error, CustomStringConvertible, Sendable {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}

import WitnessAttestation
import WitnessCore

/// `GET /v1/identity`: who signs this node's testimonies. The controller pins these
/// keys (by PEM or key id) and checks that an envelope's signer is the node its
/// pod ran on; keys replaced by a rotation stay listed, so envelopes signed before
/// it still verify.
enum NodeIdentity {
    /// `{"node":..,"version":..,"algorithm":"ed25519","keys":[{"keyid","publicKey","current",("retiredAt")}]}`
    static func json(_ notary: TestimonyNotary?) -> String {
        var writer = JSONWriter(capacity: 1024)
        writer.raw("{\"node\":")
        if let notary { writer.string(notary.nodeName) } else { writer.raw("null") }
        writer.raw(",\"version\":")
        writer.string(WitnessVersion.current)
        writer.raw(",\"algorithm\":\"ed25519\",\"keys\":[")
        if let notary {
            appendKey(notary.key.current.publicKey, retired: nil, to: &writer)
            for retired in notary.key.retired.reversed() {
                writer.raw(",")
                appendKey(retired.key, retired: retired.retiredEpochNanoseconds, to: &writer)
            }
        }
        writer.raw("]}")
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private static func appendKey(_ key: VerificationKey, retired: Int64?, to writer: inout JSONWriter) {
        writer.raw("{\"keyid\":")
        writer.string(key.keyID)
        writer.raw(",\"publicKey\":")
        writer.string(key.pem)
        writer.raw(",\"current\":")
        writer.boolean(retired == nil)
        if let retired {
            writer.raw(",\"retiredAt\":\"")
            WallClock.appendRFC3339(retired, to: &writer)
            writer.raw("\"")
        }
        writer.raw("}")
    }
}

import Foundation

/// Checks an envelope as a controller would before it trusts a testimony: a
/// signature by a pinned key over the DSSE pre-authentication encoding, the key id
/// that key's PEM gives, a statement of the shape Witness makes, and — when the
/// caller says which — the trial, window and subject it was asked for (an envelope
/// from another trial, window or subject is a replay, however valid its signature).
/// Given a testimony line or window that carries an envelope, the testimony beside
/// it must be the one signed: nothing unsigned is believed.
package enum AttestationVerifier {
    /// What the caller asked for; nil: anything.
    package struct Expected: Sendable {
        package var trialID: String?
        package var window: String?
        /// `kind:value` as the testimony's subject says it (`pod:<uid>`, `cgroup:/path`, ...).
        package var subject: String?

        package init(trialID: String? = nil, window: String? = nil, subject: String? = nil) {
            self.trialID = trialID
            self.window = window
            self.subject = subject
        }
    }

    /// An envelope, and the testimony a line or window carried beside it (nil: the
    /// input was the envelope alone).
    package struct Input {
        package var envelope: [UInt8]
        var beside: [String: Any]?

        package init(envelope: [UInt8]) {
            self.envelope = envelope
        }

        init(envelope: [UInt8], beside: [String: Any]) {
            self.envelope = envelope
            self.beside = beside
        }
    }

    /// What a verified envelope says.
    package struct Verified {
        package var keyID: String
        package var subjects: [(name: String, sha256: String)]
        package var hostID: String
        package var trialID: String?
        package var window: String
        /// The window's subject, `kind:value`.
        package var subject: String
        package var verdictHint: String
        package var passed: Bool
        /// The signed testimony, parsed.
        var testimony: [String: Any] = [:]
    }

    package static func verify(
        envelope bytes: [UInt8], keys: [VerificationKey], trialID: String? = nil, window: String? = nil
    ) throws(AttestationError) -> Verified {
        try verify(Input(envelope: bytes), keys: keys, expected: Expected(trialID: trialID, window: window))
    }

    package static func verify(
        _ input: Input, keys: [VerificationKey], expected: Expected
    ) throws(AttestationError) -> Verified {
        let envelope = try DSSEEnvelope(json: input.envelope)
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else {
            throw AttestationError("payloadType is \(envelope.payloadType), not \(DSSEEnvelope.inTotoPayloadType)")
        }
        let message = envelope.preAuthenticationEncoding
        var signer: VerificationKey?
        for signature in envelope.signatures {
            guard let key = keys.first(where: { $0.keyID == signature.keyID }) else { continue }
            guard key.accepts(signature.bytes, over: message) else {
                throw AttestationError("the signature by key \(key.keyID) does not verify: the envelope was altered")
            }
            signer = key
        }
        guard let signer else {
            let named = envelope.signatures.map(\.keyID).joined(separator: ", ")
            throw AttestationError("no signature by the given key (signed by key id \(named))")
        }
        var verified = try statement(envelope.payload)
        verified.keyID = signer.keyID
        if let trialID = expected.trialID, verified.trialID != trialID {
            throw AttestationError("the testimony is for trial \(verified.trialID ?? "null"), not \(trialID)")
        }
        if let window = expected.window, verified.window != window {
            throw AttestationError("the testimony is for window \(verified.window), not \(window)")
        }
        if let subject = expected.subject, verified.subject != subject {
            throw AttestationError("the testimony is for subject \(verified.subject), not \(subject)")
        }
        if let beside = input.beside, canonical(beside) == nil || canonical(beside) != canonical(verified.testimony) {
            throw AttestationError("the testimony beside the envelope is not the one signed: it was altered")
        }
        return verified
    }

    /// The envelope itself, or the one a testimony line or window (`GET
    /// /v1/windows/{id}`) carries under `attestation`, with the testimony beside it;
    /// other input is taken as an envelope (the check then says what is wrong with it).
    package static func input(_ bytes: [UInt8]) -> Input {
        guard var object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            object["payloadType"] == nil, let carried = object["attestation"] as? [String: Any],
            let data = try? JSONSerialization.data(withJSONObject: carried)
        else { return Input(envelope: bytes) }
        object["attestation"] = nil
        // A window carries its testimony under `testimony`; a testimony line is one.
        let beside = object["gate"] == nil ? object["testimony"] as? [String: Any] ?? [:] : object
        return Input(envelope: Array(data), beside: beside)
    }

    /// A parsed JSON object written again with sorted keys: equal objects, equal bytes.
    private static func canonical(_ object: [String: Any]) -> Data? {
        try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// The statement's shape: in-toto Statement v1, the runtime-trace predicate with
    /// its required fields, and the testimony, whose window is the monitored event.
    private static func statement(_ payload: [UInt8]) throws(AttestationError) -> Verified {
        guard let statement = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw AttestationError("the payload is not a JSON object")
        }
        guard statement["_type"] as? String == RuntimeTraceStatement.statementType else {
            throw AttestationError("the payload is not an in-toto Statement v1")
        }
        guard statement["predicateType"] as? String == RuntimeTraceStatement.predicateType else {
            throw AttestationError("the predicate is not \(RuntimeTraceStatement.predicateType)")
        }
        guard let subjectList = statement["subject"] as? [[String: Any]], !subjectList.isEmpty else {
            throw AttestationError("the statement has no subject")
        }
        var subjects: [(name: String, sha256: String)] = []
        for subject in subjectList {
            guard let sha256 = (subject["digest"] as? [String: Any])?["sha256"] as? String, sha256.utf8.count == 64
            else { throw AttestationError("a subject has no sha256 digest") }
            subjects.append((subject["name"] as? String ?? "", sha256))
        }
        guard let predicate = statement["predicate"] as? [String: Any],
            let monitor = predicate["monitor"] as? [String: Any], monitor["type"] is String,
            let process = predicate["monitoredProcess"] as? [String: Any],
            let hostID = process["hostID"] as? String, process["type"] is String,
            let event = process["event"] as? String,
            predicate["monitorLog"] is [String: Any]
        else { throw AttestationError("the predicate lacks monitor, monitoredProcess or monitorLog") }
        guard let testimony = predicate[RuntimeTraceStatement.testimonyField] as? [String: Any],
            let uuid = testimony["uuid"] as? String,
            let gate = testimony["gate"] as? [String: Any], let verdict = gate["verdictHint"] as? String,
            let passed = gate["passed"] as? Bool
        else { throw AttestationError("the predicate holds no testimony") }
        let window = testimony["windowId"] as? String ?? uuid
        guard event == window else {
            throw AttestationError("monitoredProcess.event \(event) is not the testimony's window \(window)")
        }
        let subject = testimony["subject"] as? [String: Any]
        return Verified(
            keyID: "", subjects: subjects, hostID: hostID, trialID: testimony["trialId"] as? String, window: window,
            subject: "\(subject?["kind"] as? String ?? "?"):\(subject?["value"] as? String ?? "?")",
            verdictHint: verdict, passed: passed, testimony: testimony)
    }
}

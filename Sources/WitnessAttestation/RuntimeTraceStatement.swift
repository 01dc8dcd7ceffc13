import WitnessCore

/// The testimony as an in-toto Statement v1 whose predicate is the runtime-trace
/// predicate (v0.1, the version merged on the attestation repository's main
/// branch; network entries use the field names v0.2 recommends, which v0.1 leaves
/// to the monitor). The whole testimony rides under `witnessTestimony`, so the
/// trial and the window it answers are inside what is signed: an old ADMIT for
/// the same image cannot be replayed into another trial.
package enum RuntimeTraceStatement {
    static let statementType = "https://in-toto.io/Statement/v1"
    package static let predicateType = "https://in-toto.io/attestation/runtime-trace/v0.1"
    /// `monitoredProcess.type`: a witness window over a subject's processes.
    static let windowType = "https://github.com/witness-project/witness-agent/window/v1"
    /// The predicate's extension field holding the testimony.
    static let testimonyField = "witnessTestimony"

    /// The statement's JSON: `testimonyJSON` must be `testimony.json()` (embedded as is).
    package static func json(
        testimony: Testimony, testimonyJSON: String, context: AttestationContext
    ) -> [UInt8] {
        var writer = JSONWriter(capacity: testimonyJSON.utf8.count * 2 + 2048)
        writer.raw("{\"_type\":")
        writer.string(statementType)
        writer.raw(",\"subject\":")
        appendSubjects(testimony: testimony, testimonyJSON: testimonyJSON, images: context.images, to: &writer)
        writer.raw(",\"predicateType\":")
        writer.string(predicateType)
        writer.raw(",\"predicate\":{\"monitor\":")
        appendMonitor(context, to: &writer)
        writer.raw(",\"monitoredProcess\":{\"hostID\":")
        writer.string("urn:witness:node:" + ResourceURI.encoded(context.nodeName))
        writer.raw(",\"type\":")
        writer.string(windowType)
        writer.raw(",\"event\":")
        writer.string(testimony.windowID ?? testimony.uuid)
        writer.raw("},\"monitorLog\":")
        MonitorLog.append(testimony.profile, to: &writer)
        writer.raw(",\"metadata\":{\"buildStartedOn\":")
        quotedTime(testimony.startEpochNanoseconds, to: &writer)
        writer.raw(",\"buildFinishedOn\":")
        quotedTime(testimony.endEpochNanoseconds, to: &writer)
        writer.raw("},\"")
        writer.bytes.append(contentsOf: testimonyField.utf8)
        writer.raw("\":")
        writer.bytes.append(contentsOf: testimonyJSON.utf8)
        writer.raw("}}")
        return writer.bytes
    }

    /// The images that ran, by the digest the runtime reported; where there is no
    /// image (a cgroup or PID subject, a pod the watch no longer knows), the
    /// programs run, by content; where nothing ran, the testimony itself.
    private static func appendSubjects(
        testimony: Testimony, testimonyJSON: String, images: [ImageSubject], to writer: inout JSONWriter
    ) {
        var subjects: [(name: String, sha256: String, annotation: (String, String)?)] = []
        for image in images where !subjects.contains(where: { $0.name == image.reference && $0.sha256 == image.sha256 })
        {
            subjects.append((image.reference, image.sha256, ("container", image.container)))
        }
        if subjects.isEmpty, let profile = testimony.profile {
            var seen = Set<String>()
            for executable in profile.executables {
                guard let sha256 = executable.sha256, seen.insert(executable.path + "\0" + sha256).inserted else {
                    continue
                }
                subjects.append((executable.path, sha256, nil))
            }
        }
        if subjects.isEmpty {
            let digest = WitnessCore.SHA256.hex(of: testimonyJSON)
            subjects.append(("urn:witness:testimony:" + testimony.uuid, digest, nil))
        }
        writer.byte(UInt8(ascii: "["))
        for (index, subject) in subjects.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            appendDescriptor(name: subject.name, sha256: subject.sha256, annotation: subject.annotation, to: &writer)
        }
        writer.byte(UInt8(ascii: "]"))
    }

    /// An in-toto ResourceDescriptor by name and sha256:
    /// `{"name":..,"digest":{"sha256":..}(,"annotations":{key:value})}`.
    private static func appendDescriptor(
        name: String, sha256: String, annotation: (String, String)? = nil, to writer: inout JSONWriter
    ) {
        writer.raw("{\"name\":")
        writer.string(name)
        writer.raw(",\"digest\":{\"sha256\":")
        writer.string(sha256)
        writer.raw("}")
        if let (key, value) = annotation {
            writer.raw(",\"annotations\":{")
            writer.string(key)
            writer.raw(":")
            writer.string(value)
            writer.raw("}")
        }
        writer.raw("}")
    }

    /// `{"type": <Witness and its version>, "configSource": <the rules, by digest>, "tracePolicy": {...}}`
    private static func appendMonitor(_ context: AttestationContext, to writer: inout JSONWriter) {
        writer.raw("{\"type\":")
        writer.string("https://github.com/witness-project/witness-agent/v" + context.agentVersion)
        writer.raw(",\"configSource\":")
        appendDescriptor(name: "rules", sha256: context.rules.digest, to: &writer)
        writer.raw(",\"tracePolicy\":{\"rules\":[")
        for (index, file) in context.rules.files.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            appendDescriptor(name: file.name, sha256: file.sha256, to: &writer)
        }
        writer.raw("]}}")
    }

    private static func quotedTime(_ epochNanoseconds: Int64, to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "\""))
        WallClock.appendRFC3339(epochNanoseconds, to: &writer)
        writer.byte(UInt8(ascii: "\""))
    }
}

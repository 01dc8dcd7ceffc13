import WitnessCore

/// What the controller asks for when it opens a window.
package struct WindowRequest: Sendable {
    package var trialID: String?
    package var subject: SubjectSpec
    package var milliseconds: Int
    package var sostle: SostleLevel?
    /// The profile this window is held to: anything outside it is a drift alert.
    package var baseline: RuntimeProfile?
    /// Or a closed window of this node whose testimony's profile is the baseline.
    var baselineWindow: String?
    package var driftPriority: Priority
    /// Record the window's raw records (for replay) under the spool directory.
    package var record: Bool
    /// A subject not on this node yet is waited for this long (the window is armed,
    /// and active from the moment its cgroup is created); nil: it must exist now.
    var armMilliseconds: Int?

    package init(
        trialID: String?, subject: SubjectSpec, milliseconds: Int, sostle: SostleLevel?,
        baseline: RuntimeProfile? = nil,
        driftPriority: Priority = .warning, record: Bool = false
    ) {
        self.trialID = trialID
        self.subject = subject
        self.milliseconds = milliseconds
        self.sostle = sostle
        self.baseline = baseline
        self.driftPriority = driftPriority
        self.record = record
    }
}

/// One witness window as the API shows it: open with its subject and deadline, or
/// closed with its testimony.
package struct WitnessWindow: Sendable {
    /// armed: waiting for its subject's cgroup to be created; active: witnessing;
    /// closed: its testimony is written.
    package enum State: String, Sendable {
        case armed, active, closed
    }

    package let id: String
    package let request: WindowRequest
    package let subject: ResolvedSubject
    /// The subject slot the kernel marks this window's events with.
    package let slot: Int
    let openedEpochNanoseconds: Int64
    package var state: State = .active
    /// When an armed window was armed and when it became active.
    package var armedEpochNanoseconds: Int64?
    var activeEpochNanoseconds: Int64?
    /// The subject had no process when the window became active (kernel evidence).
    package var witnessedFromStart = false
    /// The testimony line, once closed.
    package var testimony: String?
    /// Its signed attestation (a DSSE envelope's JSON), when the node signs.
    package var attestation: String?
    /// The testimony as outputs deliver it: with its envelope under `attestation`.
    var deliveredTestimony: String? { testimony.map { TestimonyNotary.delivered($0, attestation: attestation) } }
    /// The recording's file, when the window records.
    package var recording: String?

    /// `{"id":..,"trialId":..,"state":..,"subject":{..},"opened":..,"milliseconds":..,"testimony":{..}|null}`
    package func json() -> String {
        var writer = JSONWriter(capacity: 1024)
        writer.byte(UInt8(ascii: "{"))
        writer.key("id")
        writer.string(id)
        writer.raw(",")
        writer.key("trialId")
        if let trialID = request.trialID { writer.string(trialID) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("state")
        writer.string(state.rawValue)
        writer.raw(",")
        writer.key("subject")
        writer.raw("{\"kind\":")
        writer.string(subject.kind)
        writer.raw(",\"value\":")
        writer.string(subject.value)
        writer.raw("},")
        writer.key("opened")
        WallClock.appendQuotedRFC3339(openedEpochNanoseconds, to: &writer)
        if let armedEpochNanoseconds {
            writer.key("armedAt")
            WallClock.appendQuotedRFC3339(armedEpochNanoseconds, to: &writer)
        }
        if let activeEpochNanoseconds {
            writer.key("activeAt")
            WallClock.appendQuotedRFC3339(activeEpochNanoseconds, to: &writer)
        }
        writer.key("milliseconds")
        writer.integer(request.milliseconds)
        writer.raw(",")
        writer.key("sostle")
        if let sostle = request.sostle { writer.string(sostle.description) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("recording")
        if let recording { writer.string(recording) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("testimony")
        writer.bytes.append(contentsOf: (testimony ?? "null").utf8)
        if let attestation {
            writer.raw(",\"attestation\":")
            writer.bytes.append(contentsOf: attestation.utf8)
        }
        writer.byte(UInt8(ascii: "}"))
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

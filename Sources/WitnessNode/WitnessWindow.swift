import WitnessCore

/// What the controller asks for when it opens a window.
public struct WindowRequest: Sendable {
    public var trialID: String?
    public var subject: SubjectSpec
    public var milliseconds: Int
    public var sostle: SostleLevel?
    /// The profile this window is held to: anything outside it is a drift alert.
    public var baseline: RuntimeProfile?
    /// Or a closed window of this node whose testimony's profile is the baseline.
    public var baselineWindow: String?
    public var driftPriority: Priority
    /// Record the window's raw records (for replay) under the spool directory.
    public var record: Bool

    public init(
        trialID: String?, subject: SubjectSpec, milliseconds: Int, sostle: SostleLevel?, baseline: RuntimeProfile? = nil,
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
public struct WitnessWindow: Sendable {
    public enum State: String, Sendable {
        case open, closed
    }

    public let id: String
    public let request: WindowRequest
    public let subject: ResolvedSubject
    /// The subject slot the kernel marks this window's events with.
    public let slot: Int
    public let openedEpochNanoseconds: Int64
    public var state: State = .open
    /// The testimony line, once closed.
    public var testimony: String?
    /// The recording's file, when the window records.
    public var recording: String?

    /// `{"id":..,"trialId":..,"state":..,"subject":{..},"opened":..,"milliseconds":..,"testimony":{..}|null}`
    public func json() -> String {
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
        writer.byte(UInt8(ascii: "}"))
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

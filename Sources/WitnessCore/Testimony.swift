/// Severity classes of the trial (DESIGN.md): what a Falco priority weighs at the gate.
package enum SeverityClass: String, Sendable, CaseIterable {
    case critical, high, medium, low

    /// Deduction per alert of this class.
    package var deduction: Double {
        switch self {
        case .critical: return 1.00
        case .high: return 0.35
        case .medium: return 0.15
        case .low: return 0.05
        }
    }
}

/// SOSTLE level L0–L7: how strict the trial is about hard denies.
package struct SostleLevel: Sendable, Equatable, CustomStringConvertible {
    package let level: Int

    /// Parses `L0`…`L7` (case-insensitive).
    package init(_ text: String) throws(AgentError) {
        let upper = text.uppercased()
        guard upper.count == 2, upper.first == "L", let level = Int(upper.dropFirst()), (0...7).contains(level) else {
            throw AgentError.usage("bad SOSTLE level '\(text)': use L0 to L7")
        }
        self.level = level
    }

    package var description: String { "L\(level)" }

    /// Whether alerts of `counts` are a hard deny at this level: L0–L2 critical only,
    /// L3 high or critical, L4–L5 any medium or above, L6 and above accept no trial.
    func isHardDeny(_ counts: [SeverityClass: Int]) -> Bool {
        let critical = counts[.critical, default: 0]
        let high = counts[.high, default: 0]
        let medium = counts[.medium, default: 0]
        switch level {
        case ...2: return critical > 0
        case 3: return critical + high > 0
        case 4...5: return critical + high + medium > 0
        default: return true
        }
    }
}

/// What the falco gate concludes from one window (DESIGN.md "Testimony").
package struct GateAssessment: Sendable, Equatable {
    package static let weight = 0.35
    package static let cleanBonus = 0.10

    package var passed: Bool
    /// Nothing lost, an ending that can pass, nothing used that Witness could not see.
    package var complete: Bool
    package var deduction: Double
    package var bonus: Double
    package var hardDeny: Bool
    package var verdictHint: String
    package var detail: String

    /// - Parameters:
    ///   - alerts: alerts by class during the window.
    ///   - lost: events of the subject lost in the kernel or the agent; any loss makes
    ///     the window incomplete, and an incomplete window never passes.
    ///   - end: how the window ended; one the agent cut short is incomplete too, and
    ///     the clean bonus needs the requested length to have elapsed.
    ///   - unobserved: what the subject did that Witness could not see; anything here
    ///     makes the window incomplete.
    package init(
        alerts: [SeverityClass: Int], lost: UInt64, sostle: SostleLevel?, end: WindowEnd = .elapsed,
        unobserved: [String] = []
    ) {
        let total = alerts.values.reduce(0, +)
        var deduction = 0.0
        for severity in SeverityClass.allCases {
            deduction -= Double(alerts[severity, default: 0]) * severity.deduction
        }
        self.deduction = (deduction * 100).rounded() / 100
        complete = lost == 0 && end.canPass && unobserved.isEmpty
        bonus = total == 0 && complete && end == .elapsed ? Self.cleanBonus : 0
        hardDeny = (sostle ?? (try! SostleLevel("L0"))).isHardDeny(alerts)
        if alerts[.critical, default: 0] > 0 || alerts[.high, default: 0] > 0 || hardDeny {
            verdictHint = "DENY"
        } else if alerts[.medium, default: 0] > 0 || !complete {
            verdictHint = "WATCH"
        } else {
            verdictHint = "ADMIT"
        }
        passed = complete && verdictHint != "DENY"

        var parts: [String] = []
        for severity in SeverityClass.allCases {
            let count = alerts[severity, default: 0]
            if count > 0 { parts.append("\(count) \(severity.rawValue) alert\(count == 1 ? "" : "s")") }
        }
        if parts.isEmpty { parts.append("no alerts") }
        if lost > 0 { parts.append("incomplete: \(lost) event\(lost == 1 ? "" : "s") lost") }
        if !end.canPass { parts.append("incomplete: \(end.failureDetail)") }
        for what in unobserved { parts.append("incomplete: the subject used \(what), not witnessed") }
        if hardDeny { parts.append("hard deny at SOSTLE \(sostle.map(\.description) ?? "L0")") }
        detail = parts.joined(separator: ", ")
    }
}

/// The end-of-window statement for the controller, in the JSON shape of DESIGN.md.
package struct Testimony: Sendable {
    package var trialID: String?
    /// Subject as `{"kind": "...", "value": "..."}` pairs (cgroup path, pid, ...).
    package var subjectKind: String
    package var subjectValue: String
    package var startEpochNanoseconds: Int64
    package var endEpochNanoseconds: Int64
    package var sostle: SostleLevel?
    package var events: EventCounts
    package var alerts: [SeverityClass: Int]
    package var rules: [(String, Int)]
    package var kernelDrops: UInt64
    package var agentDrops: UInt64
    /// How the window ended, and the length the controller asked for.
    package var end: WindowEnd
    package var requestedMilliseconds: Int64?
    /// Ended before its requested length.
    package var cutShort: Bool { end != .elapsed }
    /// The node-mode window this testimony closes.
    package var windowID: String?
    /// What the subject did: its syscalls (counted in the kernel), programs, files,
    /// endpoints and identities (nil: not collected).
    package var profile: RuntimeProfile?
    /// What could not be seen, and what of it the subject used.
    package var coverage: Coverage?
    /// The window's recording, when it was recorded.
    package var recording: RecordingWriter.Summary?
    /// This testimony's identity, the same in every delivery of it (receivers de-duplicate by it).
    package var uuid = LineIdentifiers.random()

    package init(
        trialID: String?, subjectKind: String, subjectValue: String, startEpochNanoseconds: Int64,
        endEpochNanoseconds: Int64, sostle: SostleLevel?, events: EventCounts, alerts: [SeverityClass: Int] = [:],
        rules: [(String, Int)] = [], kernelDrops: UInt64, agentDrops: UInt64, end: WindowEnd = .elapsed,
        requestedMilliseconds: Int64? = nil, windowID: String? = nil, profile: RuntimeProfile? = nil,
        coverage: Coverage? = nil, recording: RecordingWriter.Summary? = nil
    ) {
        self.coverage = coverage
        self.recording = recording
        self.windowID = windowID
        self.profile = profile
        self.trialID = trialID
        self.subjectKind = subjectKind
        self.subjectValue = subjectValue
        self.startEpochNanoseconds = startEpochNanoseconds
        self.endEpochNanoseconds = endEpochNanoseconds
        self.sostle = sostle
        self.events = events
        self.alerts = alerts
        self.rules = rules
        self.kernelDrops = kernelDrops
        self.agentDrops = agentDrops
        self.end = end
        self.requestedMilliseconds = requestedMilliseconds
    }

    package var drops: UInt64 { kernelDrops + agentDrops }
    package var complete: Bool { gate.complete }
    package var gate: GateAssessment {
        GateAssessment(alerts: alerts, lost: drops, sostle: sostle, end: end, unobserved: coverage?.usedUnobserved ?? [])
    }

    /// One line of JSON.
    package func json() -> String {
        var writer = JSONWriter(capacity: 2048)
        writer.byte(UInt8(ascii: "{"))
        writer.key("trialId")
        if let trialID { writer.string(trialID) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("uuid")
        writer.string(uuid)
        writer.raw(",")
        if let windowID {
            writer.key("windowId")
            writer.string(windowID)
            writer.raw(",")
        }
        writer.key("subject")
        writer.byte(UInt8(ascii: "{"))
        writer.key("kind")
        writer.string(subjectKind)
        writer.raw(",")
        writer.key("value")
        writer.string(subjectValue)
        writer.raw("},")
        writer.key("window")
        writer.byte(UInt8(ascii: "{"))
        writer.key("start")
        WallClock.appendQuotedRFC3339(startEpochNanoseconds, to: &writer)
        writer.key("end")
        WallClock.appendQuotedRFC3339(endEpochNanoseconds, to: &writer)
        writer.key("seconds")
        appendDecimal(Double(endEpochNanoseconds - startEpochNanoseconds) / 1e9, places: 3, to: &writer)
        writer.raw(",")
        writer.key("requestedSeconds")
        if let requestedMilliseconds {
            appendDecimal(Double(requestedMilliseconds) / 1e3, places: 3, to: &writer)
        } else {
            writer.raw("null")
        }
        writer.raw(",")
        writer.key("endReason")
        writer.string(end.rawValue)
        writer.raw(",")
        writer.key("cutShort")
        writer.boolean(cutShort)
        writer.raw("},")
        writer.key("sostle")
        if let sostle { writer.string(sostle.description) } else { writer.raw("null") }
        writer.raw(",")
        writer.key("events")
        writer.byte(UInt8(ascii: "{"))
        writer.key("total")
        writer.integer(events.total)
        writer.raw(",")
        writer.key("byType")
        writer.byte(UInt8(ascii: "{"))
        for (index, entry) in events.byType.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(entry.0)
            writer.byte(UInt8(ascii: ":"))
            writer.integer(entry.1)
        }
        writer.raw("}},")
        if let profile {
            writer.key("profile")
            profile.appendJSON(to: &writer)
            writer.raw(",")
        }
        if let coverage {
            writer.key("coverage")
            coverage.appendJSON(to: &writer)
            writer.raw(",")
        }
        if let recording {
            writer.raw("\"recording\":{\"path\":")
            writer.string(recording.path)
            writer.raw(",\"records\":")
            writer.integer(recording.records)
            writer.raw(",\"bytes\":")
            writer.integer(recording.bytes)
            writer.raw(",\"truncated\":")
            writer.boolean(recording.truncated)
            if let error = recording.error {
                writer.raw(",\"error\":")
                writer.string(error)
            }
            writer.raw("},")
        }
        writer.key("alerts")
        writer.byte(UInt8(ascii: "{"))
        for (index, severity) in SeverityClass.allCases.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(severity.rawValue)
            writer.byte(UInt8(ascii: ":"))
            writer.integer(alerts[severity, default: 0])
        }
        writer.raw("},")
        writer.key("rules")
        writer.byte(UInt8(ascii: "{"))
        for (index, rule) in rules.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(rule.0)
            writer.byte(UInt8(ascii: ":"))
            writer.integer(rule.1)
        }
        writer.raw("},")
        writer.key("drops")
        writer.integer(drops)
        writer.raw(",")
        writer.key("dropsDetail")
        writer.raw("{\"kernel\":")
        writer.integer(kernelDrops)
        writer.raw(",\"agent\":")
        writer.integer(agentDrops)
        writer.raw("},")
        writer.key("complete")
        writer.boolean(complete)
        writer.raw(",")
        let gate = self.gate
        writer.key("gate")
        writer.raw("{\"name\":\"falco\",\"weight\":0.35,\"passed\":")
        writer.boolean(gate.passed)
        writer.raw(",\"deduction\":")
        appendDecimal(gate.deduction, places: 2, to: &writer)
        writer.raw(",\"bonus\":")
        appendDecimal(gate.bonus, places: 2, to: &writer)
        writer.raw(",\"hardDeny\":")
        writer.boolean(gate.hardDeny)
        writer.raw(",\"verdictHint\":")
        writer.string(gate.verdictHint)
        writer.raw(",\"detail\":")
        writer.string(gate.detail)
        writer.raw("}}")
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// A JSON number with a fixed number of decimals (no exponent, no locale).
    private func appendDecimal(_ value: Double, places: Int, to writer: inout JSONWriter) {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        if value < 0 && scaled != 0 { writer.byte(UInt8(ascii: "-")) }
        writer.decimal(UInt64(scaled) / UInt64(scale))
        writer.byte(UInt8(ascii: "."))
        writer.padded(Int(UInt64(scaled) % UInt64(scale)), width: places)
    }
}

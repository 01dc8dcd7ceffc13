/// The testimony as one line of JSON, in the shape of DESIGN.md "Testimony".
extension Testimony {
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
        writer.raw(",")
        writer.key("witnessedFromStart")
        writer.boolean(witnessedFromStart)
        appendEscapes(to: &writer)
        writer.raw("},")
        appendWindow(to: &writer)
        writer.key("sostle")
        if let sostle { writer.string(sostle.description) } else { writer.raw("null") }
        writer.raw(",")
        appendEvents(to: &writer)
        if let profile {
            writer.key("profile")
            profile.appendJSON(to: &writer)
            writer.raw(",")
        }
        if let found {
            writer.key("found")
            found.appendJSON(to: &writer)
            writer.raw(",")
        }
        if let coverage {
            writer.key("coverage")
            coverage.appendJSON(to: &writer)
            writer.raw(",")
        }
        appendRecording(to: &writer)
        appendAlerts(to: &writer)
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
        appendGate(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `"window":{start, end, seconds, requestedSeconds, endReason, cutShort},`
    private func appendWindow(to writer: inout JSONWriter) {
        writer.key("window")
        writer.byte(UInt8(ascii: "{"))
        if let armedEpochNanoseconds {
            writer.key("armedAt")
            WallClock.appendQuotedRFC3339(armedEpochNanoseconds, to: &writer)
        }
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
    }

    /// `,"escaped":[{"pid":..,"to":..,"cgroupId":..,"movedBy":..,"at":..}],"escapedCount":N` when any left.
    private func appendEscapes(to writer: inout JSONWriter) {
        guard escapeCount > 0 else { return }
        writer.raw(",\"escaped\":[")
        for (index, escape) in escapes.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.raw("{\"pid\":")
            writer.integer(escape.pid)
            writer.raw(",\"to\":")
            if let destination = escape.destination { writer.string(destination) } else { writer.raw("null") }
            writer.raw(",\"cgroupId\":")
            writer.integer(escape.cgroupID)
            writer.raw(",\"movedBy\":")
            writer.integer(escape.mover)
            writer.raw("}")
        }
        writer.raw("],\"escapedCount\":")
        writer.integer(escapeCount)
    }

    /// `"events":{total, byType},`
    private func appendEvents(to writer: inout JSONWriter) {
        writer.key("events")
        writer.byte(UInt8(ascii: "{"))
        writer.key("total")
        writer.integer(events.total)
        writer.raw(",")
        writer.key("byType")
        writer.counts(events.byType)
        writer.raw("},")
    }

    /// `"recording":{...},` when the window was recorded.
    private func appendRecording(to writer: inout JSONWriter) {
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
    }

    /// `"alerts":{by severity},"rules":{by name},`
    private func appendAlerts(to writer: inout JSONWriter) {
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
        writer.counts(rules)
        writer.raw(",")
    }

    /// `"gate":{...}}`: the falco gate's conclusion, closing the object.
    private func appendGate(to writer: inout JSONWriter) {
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

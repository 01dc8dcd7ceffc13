/// The envelope of an alert line, in Falco's shape, for every kind of alert Witness
/// writes — a rule's and a drift finding's — so that they cannot drift apart:
///
///     {"time":…,"rule":…,"priority":…,"source":"syscall","output":"HH:MM:SS.nnnnnnnnn: Priority <text>",
///      "output_fields":{…},"tags":[…],"subjects":[…],"hostname":…,"uuid":…}
///
/// and, in text, `HH:MM:SS.mmm Priority <text> (rule: NAME)`. The caller writes the
/// output text and the fields between the pieces.
package enum AlertLine {
    /// Everything up to the output text (which the caller writes escaped, then `closeOutput`).
    static func appendHead(epoch: Int64, rule: String, priority: Priority, to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "{"))
        writer.key("time")
        WallClock.appendQuotedRFC3339(epoch, to: &writer)
        writer.key("rule")
        writer.string(rule)
        writer.raw(",")
        writer.key("priority")
        writer.string(priority.name)
        writer.raw(",\"source\":\"syscall\",")
        writer.key("output")
        writer.byte(UInt8(ascii: "\""))
        WallClock.appendTimeOfDay(epoch, digits: 9, to: &writer)
        writer.raw(": ")
        writer.raw(priority.name)
        writer.byte(UInt8(ascii: " "))
    }

    /// Ends the output text and opens `output_fields`.
    static func closeOutput(to writer: inout JSONWriter) {
        writer.raw("\",")
        writer.key("output_fields")
        writer.byte(UInt8(ascii: "{"))
    }

    /// Ends `output_fields`; tags, subjects, hostname, uuid; the line's end. A found
    /// event's alert says so, in its fields and on the line.
    static func appendTail(
        tags: [String], subjects: UInt64, labels: SubjectLabels, hostname: [UInt8], identifiers: inout LineUUIDs,
        found: Bool = false, to writer: inout JSONWriter
    ) {
        if found { appendFoundField(to: &writer) }
        writer.raw("},")
        if found { writer.raw("\"found\":true,") }
        writer.key("tags")
        writer.byte(UInt8(ascii: "["))
        for (index, tag) in tags.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(tag)
        }
        writer.raw("],")
        labels.append(subjects, to: &writer)
        writer.raw(",")
        writer.key("hostname")
        writer.string(hostname)
        writer.raw(",")
        writer.key("uuid")
        identifiers.appendNext(to: &writer)
        writer.raw("}\n")
    }

    /// `"witness.found":true` as the last of the fields being written.
    static func appendFoundField(to writer: inout JSONWriter) {
        if writer.bytes.last != UInt8(ascii: "{") { writer.byte(UInt8(ascii: ",")) }
        writer.raw("\"witness.found\":true")
    }

    /// The text form's start: `HH:MM:SS.mmm Priority ` (the priority coloured on a terminal).
    static func appendTextHead(epoch: Int64, priority: Priority, colour: Bool, to writer: inout JSONWriter) {
        WallClock.appendTimeOfDay(epoch, digits: 3, to: &writer)
        writer.byte(UInt8(ascii: " "))
        if colour { writer.raw(EventTextFormatter.colourCode(SeverityClass(priority))) }
        writer.raw(priority.name)
        if colour { writer.raw("\u{1B}[0m") }
        writer.byte(UInt8(ascii: " "))
    }

    /// A whole line of an alert Witness raises itself (drift, a subject's escape):
    /// `message` writes the output text (escaped), `fields` the output fields.
    static func appendOwn(
        epoch: Int64, rule: String, priority: Priority, format: OutputFormat, colour: Bool, tags: [String],
        subjects: UInt64, labels: SubjectLabels, hostname: [UInt8], identifiers: inout LineUUIDs,
        to writer: inout JSONWriter, message: (inout JSONWriter) -> Void, fields: (inout JSONWriter) -> Void
    ) {
        if format == .text {
            appendTextHead(epoch: epoch, priority: priority, colour: colour, to: &writer)
            message(&writer)
            appendTextTail(rule: rule, to: &writer)
            return
        }
        appendHead(epoch: epoch, rule: rule, priority: priority, to: &writer)
        message(&writer)
        closeOutput(to: &writer)
        fields(&writer)
        appendTail(
            tags: tags, subjects: subjects, labels: labels, hostname: hostname, identifiers: &identifiers, to: &writer)
    }

    /// The text form's end: ` (rule: NAME)` and the line's end.
    static func appendTextTail(rule: String, to writer: inout JSONWriter) {
        writer.raw(" (rule: ")
        writer.escaped(rule)
        writer.raw(")\n")
    }
}

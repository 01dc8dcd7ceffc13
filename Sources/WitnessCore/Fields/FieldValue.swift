/// One field's value for one event, without copying: bytes borrowed from the record
/// or from what the resolved event holds (a process record, a buffer it built) —
/// valid until the next value is asked for — a number, a boolean, or nothing
/// (Falco's `<NA>`). Plain data: passing one around counts no reference.
package enum FieldValue {
    case none
    case number(Int64)
    case boolean(Bool)
    case bytes(UnsafeRawBufferPointer)
    case text(StaticString)

    /// The bytes of a string value; nil for other kinds. A `.text` value's bytes are
    /// static (the catalogue's texts are literals), a `.bytes` value's as long as it is valid.
    @inline(__always)
    package var rawBytes: UnsafeRawBufferPointer? {
        switch self {
        case .bytes(let raw): return raw
        case .text(let text): return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        case .none, .number, .boolean: return nil
        }
    }

    package var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

extension FieldValue {
    /// The value as output text prints it: Falco's `<NA>` for nothing, evt.time as a
    /// clock time, strings escaped for a JSON string body.
    package func appendText(of field: FieldID, to writer: inout JSONWriter) {
        switch self {
        case .none:
            writer.raw("<NA>")
        case .number(let number):
            if field == .evtTime {
                WallClock.appendTimeOfDay(number, digits: 9, to: &writer)
            } else {
                writer.integer(number)
            }
        case .boolean(let flag):
            writer.boolean(flag)
        case .bytes, .text:
            guard let text = rawBytes else { return }
            writer.escaped(
                UnsafeBufferPointer(start: text.baseAddress?.assumingMemoryBound(to: UInt8.self), count: text.count))
        }
    }

    /// The value as a JSON value (alert and event lines' `output_fields`): strings
    /// quoted, numbers and booleans bare, nothing as null.
    package func appendJSON(to writer: inout JSONWriter) {
        switch self {
        case .none: writer.raw("null")
        case .number(let number): writer.integer(number)
        case .boolean(let flag): writer.boolean(flag)
        case .bytes, .text:
            writer.byte(UInt8(ascii: "\""))
            appendText(of: .unavailable, to: &writer)
            writer.byte(UInt8(ascii: "\""))
        }
    }
}

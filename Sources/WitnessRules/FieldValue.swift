/// One field's value for one event, without copying: bytes borrowed from the record
/// or from a process record or scratch buffer, a number, a boolean, or nothing
/// (Falco's `<NA>`).
enum FieldValue {
    case none
    case number(Int64)
    case boolean(Bool)
    case bytes(UnsafeRawBufferPointer)
    case array(ArraySlice<UInt8>)
    case text(StaticString)

    /// Runs `body` over the string form of a string value; nil for other kinds.
    @inline(__always)
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        switch self {
        case .bytes(let raw): return body(raw)
        case .array(let slice): return slice.withUnsafeBytes(body)
        case .text(let text): return text.withUTF8Buffer { body(UnsafeRawBufferPointer($0)) }
        case .none, .number, .boolean: return nil
        }
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

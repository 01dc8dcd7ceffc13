extension Sequence<UInt8> {
    /// The newlines in these bytes: how many JSON lines a buffer of whole lines holds
    /// (counted when lines are lost, never on the way out).
    package var lineCount: Int {
        reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }
}

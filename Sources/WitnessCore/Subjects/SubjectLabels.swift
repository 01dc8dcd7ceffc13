/// Names of subject slots ("pid:4242", "cgroup:/trial"), and how every line says
/// which subjects witnessed it: `"subjects":[...]`, by name, or by slot number
/// when a slot has none.
package struct SubjectLabels: Sendable {
    private var names: [Int: String] = [:]

    package init() {}

    package subscript(slot: Int) -> String? {
        get { names[slot] }
        set { names[slot] = newValue }
    }

    /// Appends `"subjects":[...]` for the bits of `subjects`.
    package func append(_ subjects: UInt64, to writer: inout JSONWriter) {
        writer.key("subjects")
        writer.byte(UInt8(ascii: "["))
        var bits = subjects
        var first = true
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            if let label = names[slot] { writer.string(label) } else { writer.integer(slot) }
        }
        writer.byte(UInt8(ascii: "]"))
    }
}

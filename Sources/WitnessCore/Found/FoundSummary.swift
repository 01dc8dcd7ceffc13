/// What a window found its subject already doing as it became active: processes
/// running, descriptors open (files, sockets, listeners), and the rules their found
/// events fired. In the testimony as `found`.
package struct FoundSummary: Sendable {
    package var processes = 0
    package var descriptors = 0
    /// Rules fired by found events, by name, in the order first fired.
    package var matched: [(String, Int)] = []
    /// A scan limit was reached: some of the subject was not looked at, and the
    /// window is incomplete.
    package var truncated = false
    /// Where the state was read from.
    package var source = "/proc"

    package init() {}

    /// `{"processes":N,"descriptors":N,"matched":{rule:count},"truncated":B,"source":S}`
    package func appendJSON(to writer: inout JSONWriter) {
        writer.raw("{\"processes\":")
        writer.integer(processes)
        writer.raw(",\"descriptors\":")
        writer.integer(descriptors)
        writer.raw(",\"matched\":")
        writer.counts(matched)
        writer.raw(",\"truncated\":")
        writer.boolean(truncated)
        writer.raw(",\"source\":")
        writer.string(source)
        writer.raw("}")
    }
}

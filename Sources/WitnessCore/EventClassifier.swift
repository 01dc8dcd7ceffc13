/// What the pipeline asks of a rules engine, so that WitnessCore does not depend on
/// one: classify an event, writing one line per rule that fires.
public protocol EventClassifier: AnyObject {
    /// Writes a line (in `format`) for each rule `event` fires and returns how many fired.
    func classify(
        _ event: KernelEvent, number: UInt64, processes: ProcessTable, format: OutputFormat, into writer: inout JSONWriter
    ) -> Int

    /// Names subject slots in alert lines.
    func label(slot: Int, as label: String)
}

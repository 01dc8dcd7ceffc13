/// What the pipeline asks of a rules engine, so that WitnessCore does not depend on
/// one: classify an event, then either write the Falco alert lines of the rules it
/// fired, or mark the event's own line with the most severe of them.
package protocol EventClassifier: AnyObject {
    /// Evaluates the rules for `event`; returns how many fired. The matches are kept
    /// until the next call, for `writeAlerts` and `lastMark`. `droppedFiles` answers
    /// who wrote a file during the window (`fd.writer`).
    func classify(_ event: KernelEvent, number: UInt64, droppedFiles: DroppedFiles) -> Int

    /// Writes one alert line (in `format`) per rule the last classified event fired.
    func writeAlerts(for event: KernelEvent, format: OutputFormat, into writer: inout JSONWriter)

    /// The most severe rule the last classified event fired.
    var lastMark: AlertMark? { get }

    /// Names subject slots in alert lines (nil: the slot's window closed).
    func label(slot: Int, as label: String?)

    /// The record handed to `classify` is gone: keep no pointer into it.
    func endRecord()

    /// Indexes of the rules the last classified event fired.
    var matchedRules: [Int] { get }

    /// How many rules there are; rule indexes run from 0 to this.
    var ruleCount: Int { get }

    /// The name and severity class of rule `index`.
    func rule(_ index: Int) -> (name: String, severity: SeverityClass)
}

/// A rule that fired, as an event line shows it.
package struct AlertMark: Sendable {
    package var rule: String
    package var priority: StaticString
    package var severity: SeverityClass
    package var count: Int

    package init(rule: String, priority: StaticString, severity: SeverityClass, count: Int) {
        self.rule = rule
        self.priority = priority
        self.severity = severity
        self.count = count
    }
}

/// What the pipeline asks of a rules engine, so that WitnessCore does not depend on
/// one: which rules the resolved event fires, and each rule's output. The lines
/// themselves — alert or event — are the pipeline's encoders' to write: the engine
/// knows rules, not hostnames, clocks or subjects.
package protocol EventClassifier: AnyObject {
    /// Evaluates the rules for `event`; returns how many fired. The matches are kept
    /// until the next call, in `matchedRules`.
    func classify(_ event: ResolvedEvent) -> Int

    /// Indexes of the rules the last classified event fired, in rule order.
    var matchedRules: [Int] { get }

    /// How many rules there are; rule indexes run from 0 to this.
    var ruleCount: Int { get }

    /// Rule `index`'s name, priority and tags.
    func rule(_ index: Int) -> RuleSummary

    /// Rule `index`'s output text for `event`, escaped as a JSON string body.
    func appendOutput(rule index: Int, of event: ResolvedEvent, to writer: inout JSONWriter)

    /// Rule `index`'s output fields for `event`: `"name":value,...`.
    func appendOutputFields(rule index: Int, of event: ResolvedEvent, to writer: inout JSONWriter)
}

extension EventClassifier {
    /// The most severe rule the last classified event fired (the first of equals).
    var lastMark: AlertMark? {
        let matched = matchedRules
        guard let first = matched.first else { return nil }
        var top = rule(first)
        for index in matched.dropFirst() {
            let candidate = rule(index)
            if candidate.priority < top.priority { top = candidate }
        }
        return AlertMark(
            rule: top.name, priority: top.priority.name, severity: SeverityClass(top.priority), count: matched.count)
    }
}

/// A rule as lines and tallies name it.
package struct RuleSummary: Sendable {
    package var name: String
    package var priority: Priority
    package var tags: [String]
    package var severity: SeverityClass { SeverityClass(priority) }

    package init(name: String, priority: Priority, tags: [String]) {
        self.name = name
        self.priority = priority
        self.tags = tags
    }
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

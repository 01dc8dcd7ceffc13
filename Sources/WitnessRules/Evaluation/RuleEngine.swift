import WitnessCore

/// Classifies resolved events with compiled rules. Their conditions run as one flat
/// program (`RuleProgram`) over the event's catalogue values, compiled by event type
/// at load so that an event meets only the rules that can match it. Counts
/// what fired, by rule and by class, for metrics and testimony. Writing lines is
/// not its business: it answers which rules fired and what their outputs say.
package final class RuleEngine: EventClassifier {
    package let rules: [CompiledRule]
    /// Every rule's condition, flat, by the event types it can fire on.
    private let program: RuleProgram
    /// Alerts per rule index.
    package private(set) var firedByRule: [Int]
    /// Each test's answer for the event being classified, stamped with `stamp`.
    private var answers: [UInt32]
    private var stamp: UInt32 = 0
    /// Rules the last classified event fired.
    package private(set) var matchedRules: [Int] = []

    package init(rules: [CompiledRule]) {
        self.rules = rules
        firedByRule = Array(repeating: 0, count: rules.count)
        matchedRules.reserveCapacity(rules.count)
        program = RuleProgram(rules.map(\.predicate))
        answers = Array(repeating: 0, count: program.leafCount)
    }

    /// Alerts so far, by severity class.
    package var alertsBySeverity: [SeverityClass: Int] {
        var counts: [SeverityClass: Int] = [:]
        for (index, count) in firedByRule.enumerated() where count > 0 {
            counts[SeverityClass(rules[index].priority), default: 0] += count
        }
        return counts
    }

    /// Alerts so far, by rule name, in rule order.
    package var alertsByRule: [(String, Int)] {
        firedByRule.enumerated().filter { $0.element > 0 }.map { (rules[$0.offset].name, $0.element) }
    }

    package func classify(_ event: ResolvedEvent) -> Int {
        matchedRules.removeAll(keepingCapacity: true)
        // A new stamp per event (31 bits: the answer takes the low one); at the wrap,
        // every old answer is forgotten first.
        stamp = (stamp + 1) & 0x7FFF_FFFF
        if stamp == 0 {
            for index in answers.indices { answers[index] = 0 }
            stamp = 1
        }
        program.run(event, answers: &answers, stamp: stamp) { index in
            firedByRule[index] &+= 1
            matchedRules.append(index)
        }
        return matchedRules.count
    }

    package var ruleCount: Int { rules.count }

    package func rule(_ index: Int) -> RuleSummary {
        RuleSummary(name: rules[index].name, priority: rules[index].priority, tags: rules[index].tags)
    }

    package func appendOutput(rule index: Int, of event: ResolvedEvent, to writer: inout JSONWriter) {
        rules[index].output.render(event, to: &writer)
    }

    package func appendOutputFields(rule index: Int, of event: ResolvedEvent, to writer: inout JSONWriter) {
        rules[index].output.appendOutputFields(event, to: &writer)
    }
}

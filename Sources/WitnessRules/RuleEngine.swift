import WitnessCore

/// Classifies resolved events with compiled rules. Rules are indexed by event type
/// at load, so an event meets only the rules that can match it; their conditions run
/// as one flat program (`RuleProgram`) over the event's catalogue values. Counts
/// what fired, by rule and by class, for metrics and testimony. Writing lines is
/// not its business: it answers which rules fired and what their outputs say.
package final class RuleEngine: EventClassifier {
    package let rules: [CompiledRule]
    /// Rule indexes by syscall; rules that name no event type are in every list.
    private let byEventType: [[Int]]
    /// Every rule's condition, flat.
    private let program: RuleProgram
    /// Alerts per rule index.
    package private(set) var firedByRule: [Int]
    /// Rules the last classified event fired.
    package private(set) var matchedRules: [Int] = []

    package init(rules: [CompiledRule]) {
        self.rules = rules
        firedByRule = Array(repeating: 0, count: rules.count)
        matchedRules.reserveCapacity(rules.count)
        var index = Array(repeating: [Int](), count: Syscall.allCases.count)
        for syscall in Syscall.allCases {
            let type = "\(syscall.eventType)"
            for (position, rule) in rules.enumerated() where rule.eventTypes?.contains(type) ?? true {
                index[Int(syscall.rawValue)].append(position)
            }
        }
        byEventType = index
        program = RuleProgram(rules.map(\.predicate))
    }

    /// Alerts so far, by severity class.
    package var alertsBySeverity: [SeverityClass: Int] {
        var counts: [SeverityClass: Int] = [:]
        for (index, count) in firedByRule.enumerated() where count > 0 {
            counts[rules[index].priority.severity, default: 0] += count
        }
        return counts
    }

    /// Alerts so far, by rule name, in rule order.
    package var alertsByRule: [(String, Int)] {
        firedByRule.enumerated().filter { $0.element > 0 }.map { (rules[$0.offset].name, $0.element) }
    }

    package func classify(_ event: ResolvedEvent) -> Int {
        matchedRules.removeAll(keepingCapacity: true)
        for index in byEventType[Int(event.syscall.rawValue)] where program.holds(rule: index, event) {
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

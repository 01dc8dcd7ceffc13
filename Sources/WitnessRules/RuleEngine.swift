import WitnessCore

/// Classifies witnessed events with compiled rules. Rules are indexed by event
/// type at load, so an event meets only the rules that can match it; field values
/// are extracted lazily, once per event. Counts what fired, by rule and by class,
/// for metrics and testimony.
package final class RuleEngine: EventClassifier {
    package let rules: [CompiledRule]
    /// Rule indexes by syscall; rules that name no event type are in every list.
    private let byEventType: [[Int]]
    private let fields: EventFields
    private let hostname: [UInt8]
    private let clock: WallClock
    private var subjectLabels = SubjectLabels()
    /// The `uuid` of each alert line.
    private var identifiers = LineIdentifiers()
    private let colour: Bool
    /// Alerts per rule index.
    package private(set) var firedByRule: [Int]
    /// Rules the last classified event fired.
    package private(set) var matched: [Int] = []

    package init(
        rules: [CompiledRule], hostname: [UInt8], clock: WallClock, processes: ProcessTable, colour: Bool = false,
        identities: CgroupIdentities? = nil
    ) {
        self.rules = rules
        self.hostname = hostname
        self.clock = clock
        self.colour = colour
        fields = EventFields(processes: processes, users: UserNames(), clock: clock, identities: identities)
        firedByRule = Array(repeating: 0, count: rules.count)
        matched.reserveCapacity(rules.count)
        var index = Array(repeating: [Int](), count: Syscall.allCases.count)
        for syscall in Syscall.allCases {
            let type = "\(syscall.eventType)"
            for (position, rule) in rules.enumerated() where rule.eventTypes?.contains(type) ?? true {
                index[Int(syscall.rawValue)].append(position)
            }
        }
        byEventType = index
    }

    package func label(slot: Int, as label: String?) {
        subjectLabels[slot] = label
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

    package func endRecord() {
        fields.end()
    }

    /// Whether the fields still point into a record (tests: never after `endRecord`).
    package var holdsRecord: Bool { fields.holdsRecord }

    package func classify(_ event: KernelEvent, number: UInt64, droppedFiles: DroppedFiles) -> Int {
        matched.removeAll(keepingCapacity: true)
        let candidates = byEventType[Int(event.header.syscall.rawValue)]
        guard !candidates.isEmpty else { return 0 }
        fields.begin(event, number: number, droppedFiles: droppedFiles)
        for index in candidates where rules[index].predicate.evaluate(fields) {
            firedByRule[index] &+= 1
            matched.append(index)
        }
        return matched.count
    }

    package func writeAlerts(for event: KernelEvent, format: OutputFormat, into writer: inout JSONWriter) {
        for index in matched {
            switch format {
            case .json: writeJSON(rules[index], event, into: &writer)
            case .text: writeText(rules[index], event, into: &writer)
            }
        }
    }

    package var matchedRules: [Int] { matched }

    package var ruleCount: Int { rules.count }

    package func rule(_ index: Int) -> (name: String, severity: SeverityClass) {
        (rules[index].name, rules[index].priority.severity)
    }

    package var lastMark: AlertMark? {
        guard let first = matched.first else { return nil }
        let top = matched.dropFirst().reduce(first) { rules[$1].priority < rules[$0].priority ? $1 : $0 }
        let rule = rules[top]
        return AlertMark(rule: rule.name, priority: rule.priority.name, severity: rule.priority.severity, count: matched.count)
    }

    /// Falco's alert shape: time, rule, priority, source, output (prefixed with the
    /// time and priority, as Falco prints it), output_fields, tags, hostname.
    private func writeJSON(_ rule: CompiledRule, _ event: KernelEvent, into writer: inout JSONWriter) {
        AlertLine.appendHead(
            epoch: clock.epochNanoseconds(boot: event.header.timestamp), rule: rule.name, priority: rule.priority,
            to: &writer)
        rule.output.render(fields, to: &writer)
        AlertLine.closeOutput(to: &writer)
        rule.output.appendOutputFields(fields, to: &writer)
        AlertLine.appendTail(
            tags: rule.tags, subjects: event.header.subjects, labels: subjectLabels, hostname: hostname,
            identifiers: &identifiers, to: &writer)
    }

    /// `TIME PRIORITY output (rule)`, coloured by class on a terminal.
    private func writeText(_ rule: CompiledRule, _ event: KernelEvent, into writer: inout JSONWriter) {
        AlertLine.appendTextHead(
            epoch: clock.epochNanoseconds(boot: event.header.timestamp), priority: rule.priority, colour: colour,
            to: &writer)
        rule.output.render(fields, to: &writer)
        AlertLine.appendTextTail(rule: rule.name, to: &writer)
    }

}

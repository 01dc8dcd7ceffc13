/// Severity classes of the trial (DESIGN.md): what a Falco priority weighs at the gate.
package enum SeverityClass: String, Sendable, CaseIterable {
    case critical, high, medium, low

    /// The class a rule of `priority` weighs as at the gate.
    package init(_ priority: Priority) {
        switch priority {
        case .emergency, .alert, .critical: self = .critical
        case .error: self = .high
        case .warning: self = .medium
        case .notice, .informational, .debug: self = .low
        }
    }

    /// Deduction per alert of this class.
    package var deduction: Double {
        switch self {
        case .critical: return 1.00
        case .high: return 0.35
        case .medium: return 0.15
        case .low: return 0.05
        }
    }
}

/// SOSTLE level L0–L7: how strict the trial is about hard denies.
package struct SostleLevel: Sendable, Equatable, CustomStringConvertible {
    package let level: Int

    /// Parses `L0`…`L7` (case-insensitive).
    package init(_ text: String) throws(AgentError) {
        let upper = text.uppercased()
        guard upper.count == 2, upper.first == "L", let level = Int(upper.dropFirst()), (0...7).contains(level) else {
            throw AgentError.usage("bad SOSTLE level '\(text)': use L0 to L7")
        }
        self.level = level
    }

    package var description: String { "L\(level)" }

    /// Whether alerts of `counts` are a hard deny at this level: L0–L2 critical only,
    /// L3 high or critical, L4–L5 any medium or above, L6 and above accept no trial.
    func isHardDeny(_ counts: [SeverityClass: Int]) -> Bool {
        let critical = counts[.critical, default: 0]
        let high = counts[.high, default: 0]
        let medium = counts[.medium, default: 0]
        switch level {
        case ...2: return critical > 0
        case 3: return critical + high > 0
        case 4...5: return critical + high + medium > 0
        default: return true
        }
    }
}

/// What the falco gate concludes from one window (DESIGN.md "Testimony").
package struct GateAssessment: Sendable, Equatable {
    package static let weight = 0.35
    static let cleanBonus = 0.10

    package var passed: Bool
    /// Nothing lost, an ending that can pass, nothing used that Witness could not see.
    package var complete: Bool
    package var deduction: Double
    package var bonus: Double
    package var hardDeny: Bool
    package var verdictHint: String
    package var detail: String

    /// - Parameters:
    ///   - alerts: alerts by class during the window.
    ///   - lost: events of the subject lost in the kernel or the agent; any loss makes
    ///     the window incomplete, and an incomplete window never passes.
    ///   - end: how the window ended; one the agent cut short is incomplete too, and
    ///     the clean bonus needs the requested length to have elapsed.
    ///   - unobserved: what the subject did that Witness could not see; anything here
    ///     makes the window incomplete.
    ///   - witnessedFromStart: kernel evidence that no process of the subject ran
    ///     before the window: without it a clean window earns no bonus (what ran
    ///     before was not seen doing it).
    ///   - foundTruncated: the scan of what the subject already ran hit a limit: incomplete.
    package init(
        alerts: [SeverityClass: Int], lost: UInt64, sostle: SostleLevel?, end: WindowEnd = .elapsed,
        unobserved: [String] = [], witnessedFromStart: Bool = false, foundTruncated: Bool = false
    ) {
        let total = alerts.values.reduce(0, +)
        var deduction = 0.0
        for severity in SeverityClass.allCases {
            deduction -= Double(alerts[severity, default: 0]) * severity.deduction
        }
        self.deduction = (deduction * 100).rounded() / 100
        complete = lost == 0 && end.canPass && unobserved.isEmpty && !foundTruncated
        bonus = total == 0 && complete && end == .elapsed && witnessedFromStart ? Self.cleanBonus : 0
        hardDeny = (sostle ?? (try! SostleLevel("L0"))).isHardDeny(alerts)
        if alerts[.critical, default: 0] > 0 || alerts[.high, default: 0] > 0 || hardDeny {
            verdictHint = "DENY"
        } else if alerts[.medium, default: 0] > 0 || !complete {
            verdictHint = "WATCH"
        } else {
            verdictHint = "ADMIT"
        }
        passed = complete && verdictHint != "DENY"

        var parts: [String] = []
        for severity in SeverityClass.allCases {
            let count = alerts[severity, default: 0]
            if count > 0 { parts.append("\(count) \(severity.rawValue) alert\(count == 1 ? "" : "s")") }
        }
        if parts.isEmpty { parts.append("no alerts") }
        if lost > 0 { parts.append("incomplete: \(lost) event\(lost == 1 ? "" : "s") lost") }
        if !end.canPass { parts.append("incomplete: \(end.failureDetail)") }
        for what in unobserved { parts.append("incomplete: the subject used \(what), not witnessed") }
        if foundTruncated { parts.append("incomplete: the subject's running state was not read whole") }
        if total == 0 && complete && end == .elapsed && !witnessedFromStart {
            parts.append("no clean bonus: the subject ran before the window")
        }
        if hardDeny { parts.append("hard deny at SOSTLE \(sostle.map(\.description) ?? "L0")") }
        detail = parts.joined(separator: ", ")
    }
}

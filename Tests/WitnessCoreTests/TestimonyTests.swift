import Foundation
import Testing

@testable import WitnessCore

@Suite("Testimony and the falco gate")
struct TestimonyTests {
    func testimony(
        alerts: [SeverityClass: Int] = [:], kernelDrops: UInt64 = 0, sostle: String? = nil, end: WindowEnd = .elapsed,
        fromStart: Bool = true, found: FoundSummary? = nil
    ) throws -> [String: Any] {
        var counts = EventCounts()
        counts.record(.execve)
        counts.record(.openat)
        counts.record(.openat)
        var statement = Testimony(
            trialID: "TRB-1", subjectKind: "cgroup", subjectValue: "/sys/fs/cgroup/trial", startEpochNanoseconds: 0,
            endEpochNanoseconds: 60_000_000_000,
            sostle: try sostle.map { (text) throws(AgentError) in try SostleLevel(text) },
            events: counts, alerts: alerts, rules: [("Read sensitive file", 1)], kernelDrops: kernelDrops,
            agentDrops: 0,
            end: end, requestedMilliseconds: 60_000)
        statement.witnessedFromStart = fromStart
        statement.found = found
        return try #require(try JSONSerialization.jsonObject(with: Data(statement.json().utf8)) as? [String: Any])
    }

    func gate(_ json: [String: Any]) throws -> [String: Any] {
        try #require(json["gate"] as? [String: Any])
    }

    @Test func cleanWindowAdmitsWithBonus() throws {
        let json = try testimony()
        #expect(json["trialId"] as? String == "TRB-1")
        #expect(json["complete"] as? Bool == true)
        #expect((json["events"] as? [String: Any])?["total"] as? Int == 3)
        #expect(((json["events"] as? [String: Any])?["byType"] as? [String: Int])?["openat"] == 2)
        #expect((json["window"] as? [String: Any])?["seconds"] as? Double == 60)
        let gate = try gate(json)
        #expect(gate["name"] as? String == "falco")
        #expect(gate["weight"] as? Double == 0.35)
        #expect(gate["passed"] as? Bool == true)
        #expect(gate["bonus"] as? Double == 0.1)
        #expect(gate["deduction"] as? Double == 0)
        #expect(gate["verdictHint"] as? String == "ADMIT")
    }

    @Test func aSubjectThatRanBeforeTheWindowEarnsNoBonus() throws {
        let json = try testimony(fromStart: false)
        #expect((json["subject"] as? [String: Any])?["witnessedFromStart"] as? Bool == false)
        let gate = try gate(json)
        #expect(gate["passed"] as? Bool == true)
        #expect(gate["bonus"] as? Double == 0, "clean, but what ran before the window was not seen")
        #expect(gate["verdictHint"] as? String == "ADMIT")
        #expect((gate["detail"] as? String)?.contains("ran before the window") == true)
    }

    @Test func aWindowWhoseSubjectNeverCameNeverPasses() throws {
        let json = try testimony(end: .neverStarted, fromStart: false)
        #expect((json["window"] as? [String: Any])?["endReason"] as? String == "neverStarted")
        let gate = try gate(json)
        #expect(gate["passed"] as? Bool == false)
        #expect(gate["bonus"] as? Double == 0)
        #expect(json["complete"] as? Bool == false)
    }

    @Test func aTruncatedScanOfFoundStateIsIncomplete() throws {
        var found = FoundSummary()
        found.processes = 4096
        found.truncated = true
        found.matched = [("Execution from shared memory", 1)]
        let json = try testimony(found: found)
        #expect(json["complete"] as? Bool == false)
        #expect((try gate(json))["passed"] as? Bool == false)
        let summary = try #require(json["found"] as? [String: Any])
        #expect(summary["truncated"] as? Bool == true)
        #expect((summary["matched"] as? [String: Int])?["Execution from shared memory"] == 1)
    }

    @Test func mediumAlertWatches() throws {
        let gate = try gate(try testimony(alerts: [.medium: 1, .low: 3]))
        #expect(gate["passed"] as? Bool == true)
        #expect(gate["deduction"] as? Double == -0.3)
        #expect(gate["bonus"] as? Double == 0)
        #expect(gate["verdictHint"] as? String == "WATCH")
        #expect(gate["hardDeny"] as? Bool == false)
        #expect(gate["detail"] as? String == "1 medium alert, 3 low alerts")
    }

    @Test func criticalIsAHardDenyAtEveryLevel() throws {
        for level in 0...7 {
            let gate = try gate(try testimony(alerts: [.critical: 1], sostle: "L\(level)"))
            #expect(gate["hardDeny"] as? Bool == true)
            #expect(gate["verdictHint"] as? String == "DENY")
            #expect(gate["passed"] as? Bool == false)
        }
    }

    @Test func sostleTightensHardDenies() throws {
        #expect(try gate(try testimony(alerts: [.high: 1], sostle: "L2"))["hardDeny"] as? Bool == false)
        #expect(try gate(try testimony(alerts: [.high: 1], sostle: "L3"))["hardDeny"] as? Bool == true)
        #expect(try gate(try testimony(alerts: [.medium: 1], sostle: "L3"))["hardDeny"] as? Bool == false)
        #expect(try gate(try testimony(alerts: [.medium: 1], sostle: "L4"))["hardDeny"] as? Bool == true)
        #expect(try gate(try testimony(alerts: [:], sostle: "L6"))["hardDeny"] as? Bool == true)
        #expect(throws: AgentError.self) { try SostleLevel("L8") }
        #expect(throws: AgentError.self) { try SostleLevel("high") }
    }

    @Test func lostEventsNeverPass() throws {
        let json = try testimony(kernelDrops: 12)
        #expect(json["complete"] as? Bool == false)
        #expect(json["drops"] as? Int == 12)
        let gate = try gate(json)
        #expect(gate["passed"] as? Bool == false)
        #expect(gate["bonus"] as? Double == 0)
        #expect(gate["verdictHint"] as? String == "WATCH")
        #expect((gate["detail"] as? String)?.contains("12 events lost") == true)
    }

    /// A window the agent cut short (a rolling update, a crash) saw less than was asked:
    /// it never passes and never earns the clean bonus; the controller closing it early
    /// may pass, without the bonus.
    @Test func onlyAnElapsedOrDeletedWindowCanPass() throws {
        let elapsed = try testimony()
        #expect((elapsed["window"] as? [String: Any])?["endReason"] as? String == "elapsed")
        #expect((elapsed["window"] as? [String: Any])?["requestedSeconds"] as? Double == 60)
        #expect((elapsed["window"] as? [String: Any])?["cutShort"] as? Bool == false)
        for end in [WindowEnd.shutdown, .agentRestarted, .failed] {
            let json = try testimony(end: end)
            #expect(json["complete"] as? Bool == false, "\(end)")
            let gate = try gate(json)
            #expect(gate["passed"] as? Bool == false, "\(end)")
            #expect(gate["bonus"] as? Double == 0, "\(end)")
            #expect(gate["verdictHint"] as? String == "WATCH", "\(end)")
            #expect((gate["detail"] as? String)?.contains("ended early") == true, "\(end)")
            #expect((json["window"] as? [String: Any])?["endReason"] as? String == end.rawValue)
            #expect((json["window"] as? [String: Any])?["cutShort"] as? Bool == true)
        }
        let deleted = try testimony(end: .deleted)
        #expect(deleted["complete"] as? Bool == true)
        #expect(try gate(deleted)["passed"] as? Bool == true)
        #expect(try gate(deleted)["bonus"] as? Double == 0, "the clean bonus needs the whole length")
        #expect(try gate(deleted)["verdictHint"] as? String == "ADMIT")
    }

    /// A subject that went where this kernel does not let Witness look has a window
    /// that cannot be called clean.
    @Test func aBlindSpotTheSubjectUsedMakesTheWindowIncomplete() throws {
        #if arch(x86_64)
            let missing = Coverage.BlindSpot("io_uring operations", syscalls: ["io_uring_enter"], makesIncomplete: true)
            let partial = Coverage.BlindSpot("results", syscalls: ["io_uring_setup"], makesIncomplete: false)
            let enter = try #require(SyscallNumbers.number(of: "io_uring_enter", in: .native))
            let setup = try #require(SyscallNumbers.number(of: "io_uring_setup", in: .native))
            let used = SyscallProfile(counts: [SyscallCount(table: .native, number: enter, count: 4)])
            let untouched = SyscallProfile(counts: [SyscallCount(table: .native, number: setup, count: 1)])
            #expect(Coverage.assess([missing, partial], profile: used).usedUnobserved == ["io_uring operations"])
            #expect(
                Coverage.assess([missing, partial], profile: untouched).usedUnobserved.isEmpty,
                "a partial limit is noted, not failed")
            let statement = Testimony(
                trialID: "T", subjectKind: "cgroup", subjectValue: "/t", startEpochNanoseconds: 0,
                endEpochNanoseconds: 1,
                sostle: nil, events: EventCounts(), kernelDrops: 0, agentDrops: 0,
                coverage: Coverage.assess([missing, partial], profile: used))
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(statement.json().utf8)) as? [String: Any])
            #expect(json["complete"] as? Bool == false)
            let gate = try gate(json)
            #expect(gate["passed"] as? Bool == false)
            #expect(gate["bonus"] as? Double == 0)
            #expect(
                (gate["detail"] as? String)?.contains("the subject used io_uring operations, not witnessed") == true)
            let coverage = try #require(json["coverage"] as? [String: [String]])
            #expect(coverage["unobserved"] == ["io_uring operations", "results"])
            #expect(coverage["usedUnobserved"] == ["io_uring operations"])
        #endif
    }
}

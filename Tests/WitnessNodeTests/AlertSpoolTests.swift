import Foundation
import Testing

@testable import WitnessNode

@Suite struct AlertSpoolTests {
    func scratch() -> String {
        let path = "/tmp/witness-spool-test-\(UUID().uuidString.prefix(8))"
        return path
    }

    func append(_ spool: AlertSpool, _ line: String) -> Bool {
        Array((line + "\n").utf8).withUnsafeBytes { spool.append($0) }
    }

    func drain(_ spool: AlertSpool) -> [String] {
        var lines: [String] = []
        while let line = spool.peek() {
            lines.append(String(decoding: line, as: UTF8.self))
            spool.acknowledge(line)
        }
        return lines
    }

    @Test func deliversInOrderAcrossSegmentsAndRestarts() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = (0..<500).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 97))\"}" }
        do {
            let spool = try AlertSpool(directory: directory, maxBytes: 64 * 1024)
            for line in lines {
                #expect(append(spool, line))
                spool.commit()
            }
            // Deliver the first 100, make that durable, then "crash".
            for _ in 0..<100 {
                let line = try #require(spool.peek())
                spool.acknowledge(line)
            }
            spool.sync()
        }
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ndjson") }
        #expect(segments.count > 1, "the spool rotates segments")
        let reopened = try AlertSpool(directory: directory, maxBytes: 64 * 1024)
        #expect(drain(reopened) == Array(lines.dropFirst(100)))
        #expect(reopened.depth == 0)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ndjson") }
        #expect(left.count == 1, "delivered segments are deleted")
    }

    @Test func refusesAndCountsWhatDoesNotFit() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try AlertSpool(directory: directory, maxBytes: 100)
        #expect(append(spool, String(repeating: "a", count: 60)))
        #expect(!append(spool, String(repeating: "b", count: 60)))
        spool.commit()
        #expect(spool.dropped == 1)
        #expect(drain(spool) == [String(repeating: "a", count: 60)])
        #expect(append(spool, String(repeating: "c", count: 60)), "room again once delivered")
    }

    @Test func aTornLastLineIsCutOff() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("{\"whole\":1}\n{\"torn\":".utf8).write(
            to: URL(fileURLWithPath: directory + "/0000000000000001.ndjson"))
        let spool = try AlertSpool(directory: directory, maxBytes: 1 << 20)
        #expect(drain(spool) == ["{\"whole\":1}"])
        #expect(append(spool, "{\"next\":2}"))
        spool.commit()
        #expect(drain(spool) == ["{\"next\":2}"])
    }

    @Test func anUnwritableDirectoryIsAUsageError() {
        #expect(throws: (any Error).self) { try AlertSpool(directory: "/proc/witness-spool", maxBytes: 1024) }
    }

    /// Deliveries not yet made durable are sent again after a crash (at least once),
    /// never skipped; a cursor replacement the crash cut short changes nothing.
    @Test func aCrashReplaysWhatWasNotSyncedAndATornCursorIsIgnored() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = (0..<10).map { "{\"n\":\($0)}" }
        do {
            let spool = try AlertSpool(directory: directory, maxBytes: 64 * 1024, syncInterval: .seconds(1))
            for line in lines { #expect(append(spool, line)) }
            spool.commit()
            for _ in 0..<4 { spool.acknowledge(try #require(spool.peek())) }
            spool.sync()
            for _ in 0..<3 { spool.acknowledge(try #require(spool.peek())) }
            #expect(spool.syncIfDue() != nil, "not due yet: the last three are not durable")
        }
        try Data("garbage that is no cursor".utf8).write(to: URL(fileURLWithPath: directory + "/cursor.new"))
        let reopened = try AlertSpool(directory: directory, maxBytes: 64 * 1024)
        #expect(drain(reopened) == Array(lines.dropFirst(4)), "from the last durable cursor")
        #expect(!FileManager.default.fileExists(atPath: directory + "/cursor.new"))
    }

    /// A line queued after another spool's lines waits until they were delivered.
    @Test func aGatedLineWaitsForTheOtherSpool() throws {
        let alertsDirectory = scratch(), testimoniesDirectory = scratch()
        defer {
            for path in [alertsDirectory, testimoniesDirectory] { try? FileManager.default.removeItem(atPath: path) }
        }
        let alerts = try AlertSpool(directory: alertsDirectory, maxBytes: 64 * 1024)
        let testimonies = try AlertSpool(directory: testimoniesDirectory, maxBytes: 64 * 1024)
        #expect(append(alerts, "{\"alert\":1}") && append(alerts, "{\"alert\":2}"))
        #expect(testimonies.append("{\"testimony\":1}", after: alerts))
        alerts.commit()
        testimonies.commit()
        #expect(append(alerts, "{\"alert\":3}"), "queued after the testimony: not waited for")
        alerts.commit()
        let (line, after) = try #require(testimonies.peekGated())
        #expect(String(decoding: line, as: UTF8.self) == "{\"testimony\":1}")
        let position = try #require(after)
        #expect(!alerts.hasDelivered(through: position))
        alerts.acknowledge(try #require(alerts.peek()))
        #expect(!alerts.hasDelivered(through: position))
        alerts.acknowledge(try #require(alerts.peek()))
        #expect(alerts.hasDelivered(through: position), "alert 3 came after the testimony")
        testimonies.acknowledge(line)
        #expect(testimonies.depth == 0, "the gate's prefix is acknowledged with its line")
    }

    @Test func deadLetterKeepsRefusedLinesWithinTheBound() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try AlertSpool(directory: directory, maxBytes: 40)
        #expect(spool.deadLetter(Array("{\"bad\":1}".utf8)))
        #expect(spool.deadLetter(Array("{\"bad\":2}".utf8)))
        #expect(
            !spool.deadLetter(Array(String(repeating: "x", count: 30).utf8)), "full: refused, for the caller to count")
        #expect(try String(contentsOfFile: spool.deadLetterPath, encoding: .utf8) == "{\"bad\":1}\n{\"bad\":2}\n")
    }
}

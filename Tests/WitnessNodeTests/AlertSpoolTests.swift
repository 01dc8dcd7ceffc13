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
            // Deliver the first 100, then "crash".
            for _ in 0..<100 {
                let line = try #require(spool.peek())
                spool.acknowledge(line)
            }
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
        try Data("{\"whole\":1}\n{\"torn\":".utf8).write(to: URL(fileURLWithPath: directory + "/0000000000000001.ndjson"))
        let spool = try AlertSpool(directory: directory, maxBytes: 1 << 20)
        #expect(drain(spool) == ["{\"whole\":1}"])
        #expect(append(spool, "{\"next\":2}"))
        spool.commit()
        #expect(drain(spool) == ["{\"next\":2}"])
    }

    @Test func anUnwritableDirectoryIsAUsageError() {
        #expect(throws: (any Error).self) { try AlertSpool(directory: "/proc/witness-spool", maxBytes: 1024) }
    }
}

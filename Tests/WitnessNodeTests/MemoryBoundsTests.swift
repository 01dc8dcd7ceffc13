import Testing
import WitnessCore

@testable import WitnessNode

/// The agent's bookkeeping is bounded in bytes: process records and alert histories
/// forget what does not fit, and say so.
@Suite struct MemoryBoundsTests {
    @Test func theProcessTableForgetsWhatItsBudgetCannotHoldAndSaysWhose() {
        let table = ProcessTable(procRoot: "/nonexistent", byteBudget: 20_000)
        var forgotten: [UInt64] = []
        table.onForget = { forgotten.append($0.subjects) }
        for pid in Int32(1)...20 {
            var record = ProcessRecord(
                pid: pid, ppid: 1, name: Array("p".utf8), exePath: Array("/bin/p".utf8),
                argv: [UInt8](repeating: UInt8(ascii: "x"), count: 4096))
            record.subjects = pid.isMultiple(of: 2) ? 0b10 : 0b01
            table.insert(record)
            #expect(table.bytes <= 20_000)
        }
        #expect(table.count == 4, "four records of 4 KiB fit in 20 KB")
        #expect(table.forgotten == 16 && forgotten.count == 16)
        #expect(Set(forgotten) == [0b01, 0b10], "each forgotten record names the windows that saw it")
        table.exit(20)
        #expect(table.count == 3 && table.bytes < 16_000, "an exit gives its bytes back")
    }

    @Test func alertHistoriesShareOneBudget() async {
        let streams = AlertStreams(historyLimit: 100, totalHistoryLimit: 24)
        streams.open(window: "a", slot: 0)
        streams.open(window: "b", slot: 1)
        for (slot, n) in [(0, 1), (1, 2), (0, 3), (1, 4)] {
            Array("{\"n\":\(n)}\n".utf8).withUnsafeBytes { streams.publish($0, subjects: 1 << UInt64(slot)) }
        }
        streams.close(window: "a", slot: 0)
        streams.close(window: "b", slot: 1)
        var texts: [String] = []
        for id in ["a", "b"] {
            guard case .stream(let stream) = streams.subscribe(window: id) else {
                Issue.record("no history for \(id)")
                return
            }
            var text = ""
            for await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
            texts.append(text)
        }
        // 8 bytes a line, 24 for both: three lines kept, the fourth told as lost.
        #expect(texts == ["{\"n\":1}\n{\"n\":3}\n", "{\"n\":2}\n{\"lost\":1}\n"], "\(texts)")
    }
}

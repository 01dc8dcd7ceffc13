import Testing
import WitnessCore

@testable import WitnessNode

/// A window's alert streams are bounded: a reader that falls behind is told how many
/// lines it lost, where they would have been, and no window takes more readers than allowed.
@Suite struct AlertStreamsTests {
    private func line(_ n: Int) -> [UInt8] { Array("{\"n\":\(n)}\n".utf8) }

    private func publish(_ streams: AlertStreams, _ n: Int) {
        line(n).withUnsafeBytes { streams.publish($0, subjects: 1) }
    }

    @Test func aSlowReaderIsToldWhatItLost() async {
        let streams = AlertStreams(queueLimit: 3)
        streams.open(window: "w", slot: 0)
        guard case .stream(let stream) = streams.subscribe(window: "w") else {
            Issue.record("no stream")
            return
        }
        for n in 1...6 { publish(streams, n) }  // the reader reads nothing yet
        streams.close(window: "w", slot: 0)
        var lines: [String] = []
        for await chunk in stream { lines.append(String(decoding: chunk, as: UTF8.self)) }
        #expect(lines == ["{\"n\":1}\n", "{\"n\":2}\n", "{\"n\":3}\n", "{\"lost\":3}\n"], "\(lines)")
    }

    @Test func aReaderThatCatchesUpGetsTheMarkerThenTheLines() async {
        let streams = AlertStreams(queueLimit: 2)
        streams.open(window: "w", slot: 0)
        guard case .stream(let stream) = streams.subscribe(window: "w") else {
            Issue.record("no stream")
            return
        }
        var iterator = stream.makeAsyncIterator()
        for n in 1...4 { publish(streams, n) }
        var lines: [String] = []
        while lines.count < 2, let chunk = await iterator.next() {
            lines.append(String(decoding: chunk, as: UTF8.self))
        }
        publish(streams, 5)
        streams.close(window: "w", slot: 0)
        while let chunk = await iterator.next() { lines.append(String(decoding: chunk, as: UTF8.self)) }
        let lost = lines.compactMap { $0.hasPrefix("{\"lost\":") ? Int($0.dropFirst(8).prefix { $0.isNumber }) : nil }
            .reduce(0, +)
        let delivered = lines.filter { $0.hasPrefix("{\"n\":") }.count
        #expect(lost + delivered == 5, "every line delivered or counted: \(lines)")
        #expect(
            lines == ["{\"n\":1}\n", "{\"n\":2}\n", "{\"lost\":2}\n", "{\"n\":5}\n"],
            "the marker where the lines were: \(lines)")
    }

    @Test func aWindowTakesABoundedNumberOfReaders() {
        let streams = AlertStreams(maxSubscribers: 2)
        streams.open(window: "w", slot: 0)
        var kept: [AlertStream] = []
        for _ in 0..<2 {
            guard case .stream(let stream) = streams.subscribe(window: "w") else {
                Issue.record("refused below the bound")
                return
            }
            kept.append(stream)
        }
        guard case .full = streams.subscribe(window: "w") else {
            Issue.record("a third reader was let in")
            return
        }
        guard case .unknown = streams.subscribe(window: "nope") else {
            Issue.record("an unknown window streamed")
            return
        }
        #expect(kept.count == 2)
    }

    @Test func aLateReaderIsToldWhatTheHistoryCouldNotKeep() async {
        let streams = AlertStreams(historyLimit: 16)
        streams.open(window: "w", slot: 0)
        for n in 1...3 { publish(streams, n) }  // 8 bytes each: two fit
        streams.close(window: "w", slot: 0)
        guard case .stream(let stream) = streams.subscribe(window: "w") else {
            Issue.record("a closed window's history is kept")
            return
        }
        var text = ""
        for await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
        #expect(text == "{\"n\":1}\n{\"n\":2}\n{\"lost\":1}\n")
    }
}

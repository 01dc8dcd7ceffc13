import Foundation
import Testing

@testable import WitnessCore

@Suite("JSON writer on untrusted bytes")
struct JSONWriterTests {
    /// Encodes `bytes` as a JSON string and parses it back with Foundation.
    func roundTrip(_ bytes: [UInt8]) throws -> String {
        var writer = JSONWriter()
        writer.byte(UInt8(ascii: "["))
        writer.string(bytes)
        writer.byte(UInt8(ascii: "]"))
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String]
        return try #require(parsed?.first)
    }

    @Test(arguments: [
        "plain", "quote\"d", "back\\slash", "new\nline", "tab\tcr\r", "bell\u{07}", "del\u{7F}", "nul\u{0}byte",
        "héllo wörld", "日本語", "emoji 🛡️", "</script>",
    ])
    func validTextRoundTrips(_ text: String) throws {
        #expect(try roundTrip(Array(text.utf8)) == text)
    }

    @Test func invalidUTF8BecomesOneReplacementPerByte() throws {
        #expect(try roundTrip([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(try roundTrip([0xC3]) == "\u{FFFD}")  // truncated sequence
        #expect(try roundTrip([0xC0, 0xAF]) == "\u{FFFD}\u{FFFD}")  // overlong '/'
        #expect(try roundTrip([0xED, 0xA0, 0x80]) == "\u{FFFD}\u{FFFD}\u{FFFD}")  // UTF-16 surrogate
        #expect(try roundTrip([0xF4, 0x90, 0x80, 0x80]) == "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}")  // > U+10FFFF
        #expect(try roundTrip([0xE2, 0x82, 0xAC, 0xFE]) == "€\u{FFFD}")
    }

    @Test func everyByteValueGivesValidJSON() throws {
        var all: [UInt8] = []
        for value in 0...255 { all.append(UInt8(value)) }
        let text = try roundTrip(all)
        #expect(text.hasPrefix("\u{0}\u{1}"))
    }

    @Test func randomBytesAlwaysGiveValidJSON() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let count = Int.random(in: 0..<64, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try roundTrip(bytes)
        }
    }

    @Test func integersAndPadding() {
        var writer = JSONWriter()
        writer.integer(0)
        writer.byte(UInt8(ascii: " "))
        writer.integer(-42)
        writer.byte(UInt8(ascii: " "))
        writer.integer(Int64.max)
        writer.byte(UInt8(ascii: " "))
        writer.integer(Int64.min + 1)
        writer.byte(UInt8(ascii: " "))
        writer.padded(7, width: 3)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "0 -42 9223372036854775807 -9223372036854775807 007")
    }
}

@Suite("Wall clock")
struct WallClockTests {
    func format(_ nanoseconds: Int64) -> String {
        var writer = JSONWriter()
        WallClock.appendRFC3339(nanoseconds, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func formatsRFC3339WithNanoseconds() {
        #expect(format(0) == "1970-01-01T00:00:00.000000000Z")
        #expect(format(951_782_400_000_000_001) == "2000-02-29T00:00:00.000000001Z")
        #expect(format(1_778_536_629_123_456_789) == "2026-05-11T21:57:09.123456789Z")
        #expect(format(4_102_444_799_999_999_999) == "2099-12-31T23:59:59.999999999Z")
    }

    @Test func convertsBootTimeToEpoch() {
        let clock = WallClock()
        let now = clock.epochNanoseconds(boot: WallClock.bootNow())
        var real = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        let expected = Int64(real.tv_sec) * 1_000_000_000 + Int64(real.tv_nsec)
        #expect(abs(now - expected) < 50_000_000)
    }
}

import Foundation
import Testing

@testable import WitnessCore

@Suite("Addresses, flags, durations")
struct FormattingTests {
    func text(_ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        body(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    func ipv6(_ groups: [UInt16]) -> SocketAddress {
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .ipv6(high: high, low: low, port: 443)
    }

    @Test func formatsIPv6InShortForm() {
        let cases: [([UInt16], String)] = [
            ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
            ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
            ([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"),
            ([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
            ([0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4], "fe80::1:2:3:4"),
            ([0x2001, 0xdb8, 1, 2, 3, 4, 5, 0], "2001:db8:1:2:3:4:5:0"),
            ([0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001], "::ffff:127.0.0.1"),
        ]
        for (groups, expected) in cases {
            #expect(text { SocketAddressFormatter.appendHost(ipv6(groups), to: &$0) } == expected)
        }
    }

    @Test func formatsIPv4AndUnixAddresses() throws {
        #expect(
            text { SocketAddressFormatter.append(.ipv4(address: 0xA9FE_A9FE, port: 80), to: &$0) }
                == "169.254.169.254:80")
        var raw: [UInt8] = [1, 0] + Array("/run/docker.sock".utf8) + [0, 0, 0]
        let decoded = raw.withUnsafeMutableBytes { bytes -> String in
            let address = SocketAddress(sockaddr: UnsafeRawBufferPointer(bytes))
            return text { SocketAddressFormatter.append(address, to: &$0) }
        }
        #expect(decoded == "/run/docker.sock")
        raw = [0, 0]
        let unspecified = raw.withUnsafeBytes { SocketAddress(sockaddr: $0) }
        #expect(unspecified == .unspecified)
    }

    @Test func rendersOpenFlagsLikeFalco() {
        #expect(text { OpenFlags.append(0, to: &$0) } == "O_RDONLY")
        #expect(text { OpenFlags.append(0o2000000, to: &$0) } == "O_RDONLY|O_CLOEXEC")
        #expect(text { OpenFlags.append(0o1 | 0o100 | 0o1000, to: &$0) } == "O_WRONLY|O_CREAT|O_TRUNC")
        #expect(text { OpenFlags.append(0o2 | 0o4010000, to: &$0) } == "O_RDWR|O_SYNC")
        #expect(text { OpenFlags.append(0o2 | 0o20200000, to: &$0) } == "O_RDWR|O_TMPFILE")
        #expect(OpenFlags.isWrite(0o1) && OpenFlags.isWrite(0o2) && !OpenFlags.isWrite(0))
        #expect(OpenFlags.isRead(0) && OpenFlags.isRead(0o2) && !OpenFlags.isRead(0o1))
    }

    @Test(arguments: [
        ("60s", 60_000), ("5m", 300_000), ("1h30m", 5_400_000), ("500ms", 500), ("90", 90_000), ("1m5s", 65_000),
    ])
    func parsesDurations(_ text: String, _ milliseconds: Int) throws {
        #expect(try DurationParser.milliseconds(text) == milliseconds)
    }

    @Test(arguments: ["", "0", "-5s", "1x", "s", "10 s", "5m5", "1.5s", "99999999999s"])
    func rejectsBadDurations(_ text: String) {
        #expect(throws: AgentError.self) { try DurationParser.milliseconds(text) }
    }

    @Test func parsesSizes() throws {
        #expect(try DurationParser.bytes("8M") == 8 << 20)
        #expect(try DurationParser.bytes("256K") == 256 << 10)
        #expect(try DurationParser.bytes("4096") == 4096)
        #expect(throws: AgentError.self) { try DurationParser.bytes("M") }
        #expect(throws: AgentError.self) { try DurationParser.bytes("-1M") }
    }

    @Test func namesErrnos() {
        #expect(ErrnoNames.name(2)?.description == "ENOENT")
        #expect(ErrnoNames.name(13)?.description == "EACCES")
        #expect(ErrnoNames.name(111)?.description == "ECONNREFUSED")
        #expect(ErrnoNames.name(0) == nil)
        #expect(ErrnoNames.name(9999) == nil)
    }
}

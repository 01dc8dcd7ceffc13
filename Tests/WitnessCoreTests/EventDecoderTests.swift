import CBPF
import Testing
import WitnessTestSupport

@testable import WitnessCore

@Suite("Event decoder on byte fixtures")
struct EventDecoderTests {
    @Test func decodesAnOpenWithEveryHeaderField() throws {
        let fixture = RecordFixture.open(path: Array("/etc/hosts".utf8), flags: 0o2000000, result: 3)
        try fixture.withEvent { event in
            #expect(event.header.kind == .open)
            #expect(event.header.syscall == .openat)
            #expect(event.header.pid == 4242)
            #expect(event.header.tid == 4243)
            #expect(event.header.ppid == 1)
            #expect(event.header.uid == 1000)
            #expect(event.header.gid == 100)
            #expect(event.header.cgroupID == 77)
            #expect(event.header.subjects == 1)
            #expect(event.header.result == 3)
            #expect(Array(event.header.comm) == Array("cat".utf8))
            guard case let .open(dirfd, flags, mode, path, directory, _) = event.payload else {
                Issue.record("not an open")
                return
            }
            #expect(dirfd == -100)
            #expect(flags == 0o2000000)
            #expect(mode == 0o644)
            #expect(Array(path) == Array("/etc/hosts".utf8))
            #expect(directory.isEmpty)
        }
    }

    @Test func joinsRelativePathsWithTheKernelsDirectoryAndNormalises() throws {
        let cases: [(String, String, String)] = [
            ("shadow", "/etc", "/etc/shadow"), ("./shadow", "/etc", "/etc/shadow"), ("a/b", "/", "/a/b"),
            ("../x", "/tmp", "/x"), ("/abs", "", "/abs"), ("rel", "", "rel"), ("//etc//shadow", "", "/etc/shadow"),
            ("/etc/./shadow", "/tmp", "/etc/shadow"), ("a/../../b", "/x", "/b"), ("../../..", "/a", "/"),
            ("rel/../..", "", ".."), (".", "/etc", "/etc"), ("/", "", "/"), ("x/", "/d", "/d/x"),
            ("/etc/../etc//shadow/", "", "/etc/shadow"), ("..", "/", "/"), ("a", "/d/", "/d/a"), ("", "", ""),
        ]
        for (path, directory, expected) in cases {
            let fixture = RecordFixture.open(path: Array(path.utf8), directory: Array(directory.utf8))
            try fixture.withEvent { event in
                guard case let .open(_, _, _, path, directory, _) = event.payload else { return }
                #expect(PathResolver.joined(directory: directory, path: path) == Array(expected.utf8))
            }
        }
    }

    @Test func aSuccessfulOpenIsNamedByTheKernelsPathAndKeepsTheRawOne() throws {
        let fixture = RecordFixture.open(
            path: Array("../etc//shadow".utf8), directory: Array("/tmp".utf8), resolved: Array("/etc/shadow".utf8))
        try fixture.withEvent { event in
            guard case let .open(_, _, _, path, directory, raw) = event.payload else {
                Issue.record("not an open")
                return
            }
            #expect(Array(path) == Array("/etc/shadow".utf8))
            #expect(directory.isEmpty)
            #expect(Array(raw) == Array("../etc//shadow".utf8))
        }
    }

    @Test func decodesAnExecWithItsArguments() throws {
        try RecordFixture.exec(filename: "/usr/bin/curl", argv: ["curl", "-s", "http://x"]).withEvent { event in
            guard case let .exec(filename, args, _, _, _, _) = event.payload else {
                Issue.record("not an exec")
                return
            }
            #expect(String(decoding: filename, as: UTF8.self) == "/usr/bin/curl")
            #expect(Array(args) == Array("curl\0-s\0http://x\0".utf8))
        }
    }

    @Test func decodesIPv4AndIPv6Connects() throws {
        let v4 = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(10, 0, 0, 1, port: 443), local: [127, 0, 0, 1], localPort: 5555)
        try v4.withEvent { event in
            guard case let .connect(fd, remote, local, _) = event.payload else {
                Issue.record("not a connect")
                return
            }
            #expect(fd == 5)
            #expect(remote == .ipv4(address: 0x0A00_0001, port: 443))
            #expect(local == .ipv4(address: 0x7F00_0001, port: 5555))
        }
        let loopback6 = [UInt8](repeating: 0, count: 15) + [1]
        try RecordFixture.connect(sockaddr: RecordFixture.sockaddrIPv6(loopback6, port: 8080)).withEvent { event in
            guard case let .connect(_, remote, local, _) = event.payload else {
                Issue.record("not a connect")
                return
            }
            #expect(remote == .ipv6(high: 0, low: 1, port: 8080))
            #expect(local == nil)
        }
    }

    @Test func ignoresWakeRecords() throws {
        var wake = witness_wake_record()
        wake.kind = UInt16(WITNESS_EVENT_WAKE.rawValue)
        wake.size = 8
        let bytes = withUnsafeBytes(of: wake) { Array($0) }
        let decoded = try bytes.withUnsafeBytes { try EventDecoder.decode($0) }
        #expect(decoded == nil)
    }

    @Test func rejectsRecordsThatLie() throws {
        var fixture = RecordFixture.open(path: Array("/etc/passwd".utf8))
        // A path length past the end of the record.
        let lengthOffset = MemoryLayout<witness_open_event>.offset(of: \.path_len)!
        fixture.bytes[lengthOffset] = 200
        #expect(throws: EventDecodingError.self) {
            try fixture.bytes.withUnsafeBytes { try EventDecoder.decode($0) }
        }
        // A declared size larger than what arrived.
        let short = Array(RecordFixture.open(path: Array("/x".utf8)).bytes.prefix(60))
        #expect(throws: EventDecodingError.self) {
            try short.withUnsafeBytes { try EventDecoder.decode($0) }
        }
        // An unknown kind.
        var unknown = RecordFixture.open(path: []).bytes
        unknown[0] = 99
        #expect(throws: EventDecodingError.unknownKind(99)) {
            try unknown.withUnsafeBytes { try EventDecoder.decode($0) }
        }
    }

    @Test func keepsTheLayoutTheKernelWrites() {
        // The C header asserts these too; a Swift-side mismatch would mean a bad import.
        #expect(MemoryLayout<witness_event_header>.size == 80)
        #expect(MemoryLayout<witness_open_event>.size == 120)
        #expect(MemoryLayout<witness_exec_event>.size == 168)
        #expect(MemoryLayout<witness_syscall_event>.size == 160)
        #expect(MemoryLayout<witness_open_event>.offset(of: \.file_ino) == 112)
        #expect(MemoryLayout<witness_fork_event>.size == 96)
        #expect(MemoryLayout<witness_connect_event>.size == 240)
        #expect(MemoryLayout<witness_event_header>.offset(of: \.comm) == 64)
        #expect(MemoryLayout<witness_connect_event>.offset(of: \.local_family) == 92)
        #expect(
            RecordingFormat.layoutVersion == 3, "a layout change bumps WITNESS_EVENT_LAYOUT_VERSION (recordings say it)"
        )
    }
}

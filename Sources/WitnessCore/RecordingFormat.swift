import CBPF
import Glibc

/// The recording file: a window's raw ring buffer records and what the agent read
/// around them, so that `replay` can run them through the same pipeline later — with
/// the rules it was recorded with (the same alerts) or newer ones (re-scored).
///
///     "WITREC\0\0"  u16 format version  u16 event layout version      (plain)
///     zlib stream of frames: u8 kind, u32 length (little-endian), payload
///
/// Besides the records (`record`), a recording holds what the live pipeline took
/// from the machine rather than from the kernel: the process table at the window's
/// start (`snapshot`), each later /proc read (`procRead`, `procMissing`), cgroup
/// identities (`identity`), files open for writing at the start (`written`) and
/// executables' hashes (`hash`), records another window's events removed (`forget`),
/// the profile the window was held to (`baseline`, after `meta`),
/// each written before the record whose handling needed it. `meta` opens the
/// stream (kernel, host, clock); `end` closes it (counts, losses, how it ended).
package enum RecordingFormat {
    package static let magic: [UInt8] = Array("WITREC".utf8) + [0, 0]
    package static let formatVersion: UInt16 = 1
    /// The record layout of this build (bpf/witness_event.h).
    package static let layoutVersion = UInt16(WITNESS_EVENT_LAYOUT_VERSION)
    /// magic, format version, layout version.
    package static let prefixSize = 12
    /// No frame is larger (a record is a few KiB, a process record some, a baseline
    /// profile the most).
    package static let maxFrame = 64 << 20  // a baseline profile read from a file may be this large

    package enum Kind: UInt8, Sendable {
        case meta = 1
        case record = 2
        case snapshot = 3
        case procRead = 4
        case procMissing = 5
        case identity = 6
        case written = 7
        case end = 8
        case hash = 9
        case forget = 10
        case baseline = 11
    }

    package static func prefix() -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes.append(contentsOf: magic)
        writer.u16(formatVersion)
        writer.u16(layoutVersion)
        return writer.bytes
    }
}

/// Little-endian fields into a byte array.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func u8(_ value: UInt8) { bytes.append(value) }
    package mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    /// u32 length, then the bytes.
    package mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    package mutating func string(_ value: String) { data(Array(value.utf8)) }

    /// 0, or 1 and the value.
    package mutating func optional(_ value: UInt64?) {
        if let value {
            u8(1)
            u64(value)
        } else {
            u8(0)
        }
    }
}

/// Little-endian fields out of untrusted bytes: every read checks its bounds and a
/// short or malformed input is an error naming where, never a crash.
package struct ByteReader {
    package struct Malformed: Error, Sendable {
        package var offset: Int
        package var what: String

        package init(offset: Int, what: String) {
            self.offset = offset
            self.what = what
        }
    }

    private let bytes: [UInt8]
    package private(set) var offset = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int, _ what: String) throws(Malformed) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw Malformed(offset: offset, what: what) }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    package mutating func u8(_ what: String) throws(Malformed) -> UInt8 { try take(1, what).first! }

    package mutating func u16(_ what: String) throws(Malformed) -> UInt16 {
        try take(2, what).reversed().reduce(0) { $0 << 8 | UInt16($1) }
    }

    package mutating func u32(_ what: String) throws(Malformed) -> UInt32 {
        try take(4, what).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    package mutating func u64(_ what: String) throws(Malformed) -> UInt64 {
        try take(8, what).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    package mutating func i64(_ what: String) throws(Malformed) -> Int64 { Int64(bitPattern: try u64(what)) }

    package mutating func data(_ what: String, max: Int = RecordingFormat.maxFrame) throws(Malformed) -> [UInt8] {
        let count = Int(try u32(what))
        guard count <= max else { throw Malformed(offset: offset - 4, what: "\(what) length \(count)") }
        return Array(try take(count, what))
    }

    package mutating func string(_ what: String) throws(Malformed) -> String {
        String(decoding: try data(what), as: UTF8.self)
    }

    package mutating func optional(_ what: String) throws(Malformed) -> UInt64? {
        switch try u8(what) {
        case 0: return nil
        case 1: return try u64(what)
        default: throw Malformed(offset: offset - 1, what: what)
        }
    }
}

extension ProcessRecord {
    /// The record as a recording's `snapshot` or `procRead` frame holds it.
    package func encode(into writer: inout ByteWriter) {
        writer.u32(UInt32(bitPattern: pid))
        writer.u32(UInt32(bitPattern: ppid))
        writer.data(name)
        writer.data(exePath)
        writer.data(argv)
        writer.data(cwd)
        writer.data(environment)
        writer.data(loaderTarget)
        writer.optional(executableWriter.map { _ in 1 })
        writer.data(executableWriter ?? [])
        writer.u32(UInt32(bitPattern: tty))
        writer.u32(loginUID)
        writer.optional(capabilities)
        writer.optional(permittedCapabilities)
        writer.optional(inheritableCapabilities)
        writer.optional(sessionID.map { UInt64(UInt32(bitPattern: $0)) })
        writer.optional(namespaceProcessGroupID.map { UInt64(UInt32(bitPattern: $0)) })
        writer.optional(vpid.map { UInt64(UInt32(bitPattern: $0)) })
        writer.u32(stdio)
        writer.u64(startTime)
        writer.u64(subjects)
        let flags: [Bool] = [
            argvTruncated, executableIsMemfd, executableIsDeleted, executableInUpperLayer, environmentTruncated,
            executableIsScript,
        ]
        writer.u8(flags.enumerated().reduce(0) { $0 | ($1.element ? 1 << UInt8($1.offset) : 0) })
    }

    package init(decoding reader: inout ByteReader) throws(ByteReader.Malformed) {
        let pid = Int32(bitPattern: try reader.u32("pid"))
        let ppid = Int32(bitPattern: try reader.u32("ppid"))
        self.init(pid: pid, ppid: ppid, name: try reader.data("name"), exePath: try reader.data("exe"), argv: try reader.data("argv"))
        cwd = try reader.data("cwd")
        environment = try reader.data("environment")
        loaderTarget = try reader.data("loader target")
        let hasWriter = try reader.optional("writer") != nil
        let writer = try reader.data("writer")
        executableWriter = hasWriter ? writer : nil
        tty = Int32(bitPattern: try reader.u32("tty"))
        loginUID = try reader.u32("loginuid")
        capabilities = try reader.optional("capabilities")
        permittedCapabilities = try reader.optional("permitted")
        inheritableCapabilities = try reader.optional("inheritable")
        sessionID = try reader.optional("sid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        namespaceProcessGroupID = try reader.optional("vpgid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        vpid = try reader.optional("vpid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        stdio = try reader.u32("stdio")
        startTime = try reader.u64("start time")
        subjects = try reader.u64("subjects")
        let flags = try reader.u8("flags")
        argvTruncated = flags & 1 != 0
        executableIsMemfd = flags & 2 != 0
        executableIsDeleted = flags & 4 != 0
        executableInUpperLayer = flags & 8 != 0
        environmentTruncated = flags & 16 != 0
        executableIsScript = flags & 32 != 0
    }
}

/// What a recording's `end` frame says: how many records it holds, how many were
/// left out, and how the window ended (what the writer was given). Reads as the
/// ending itself (`end.kernelDrops`).
@dynamicMemberLookup
package struct RecordingEnd: Sendable {
    package var records: UInt64
    /// Records left out past the size limit.
    package var skipped: UInt64
    package var ending: RecordingWriter.Ending

    package subscript<Value>(dynamicMember keyPath: KeyPath<RecordingWriter.Ending, Value>) -> Value {
        ending[keyPath: keyPath]
    }

    package init(_ payload: [UInt8]) throws(ByteReader.Malformed) {
        var reader = ByteReader(payload)
        records = try reader.u64("records")
        skipped = try reader.u64("skipped")
        ending = try RecordingWriter.Ending(&reader)
    }

    /// The frame's payload.
    static func encode(records: UInt64, skipped: UInt64, _ ending: RecordingWriter.Ending) -> [UInt8] {
        var writer = ByteWriter()
        writer.u64(records)
        writer.u64(skipped)
        ending.encode(into: &writer)
        return writer.bytes
    }
}

/// The ending's layout in the frame, written and read in one place.
extension RecordingWriter.Ending {
    func encode(into end: inout ByteWriter) {
        end.u64(startBootTime)
        end.u64(endBootTime)
        end.string(endReason)
        end.u64(kernelDrops)
        end.u64(agentDrops)
        end.u32(UInt32(syscalls.count))
        for count in syscalls {
            end.u8(UInt8(count.table.rawValue))
            end.u16(UInt16(count.number))
            end.u64(count.count)
        }
        end.u8(coverage == nil ? 0 : 1)
        for list in [coverage?.unobserved ?? [], coverage?.usedUnobserved ?? []] {
            end.u32(UInt32(list.count))
            for text in list { end.string(text) }
        }
    }

    init(_ reader: inout ByteReader) throws(ByteReader.Malformed) {
        let startBootTime = try reader.u64("start")
        let endBootTime = try reader.u64("end")
        let endReason = try reader.string("end reason")
        let kernelDrops = try reader.u64("kernel drops")
        let agentDrops = try reader.u64("agent drops")
        let count = try reader.u32("syscall count")
        guard count <= 4096 else { throw ByteReader.Malformed(offset: reader.offset - 4, what: "syscall count \(count)") }
        var syscalls: [SyscallCount] = []
        for _ in 0..<count {
            let table = try reader.u8("table")
            let number = try reader.u16("number")
            let value = try reader.u64("count")
            guard let known = SyscallNumbers.Table(rawValue: Int(table)) else {
                throw ByteReader.Malformed(offset: reader.offset - 11, what: "syscall table \(table)")
            }
            syscalls.append(SyscallCount(table: known, number: Int(number), count: value))
        }
        var coverage: Coverage?
        if try reader.u8("coverage") != 0 {
            var lists: [[String]] = []
            for _ in 0..<2 {
                let count = try reader.u32("coverage count")
                guard count <= 256 else { throw ByteReader.Malformed(offset: reader.offset - 4, what: "coverage count") }
                lists.append(try (0..<count).map { (_) throws(ByteReader.Malformed) in try reader.string("coverage") })
            }
            coverage = Coverage(unobserved: lists[0], usedUnobserved: lists[1])
        }
        self.init(
            startBootTime: startBootTime, endBootTime: endBootTime, endReason: endReason, kernelDrops: kernelDrops,
            agentDrops: agentDrops, syscalls: syscalls, coverage: coverage)
    }
}

/// The `meta` frame: ordered key and value pairs.
package struct RecordingMetadata: Sendable {
    package var pairs: [(String, String)]

    package init(pairs: [(String, String)]) { self.pairs = pairs }

    package init(_ payload: [UInt8]) throws(ByteReader.Malformed) {
        var reader = ByteReader(payload)
        pairs = []
        while !reader.isAtEnd {
            pairs.append((try reader.string("key"), try reader.string("value")))
        }
    }

    package subscript(key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    /// When this machine booted, RFC 3339 (boot-time timestamps count from it).
    private static func bootTime(_ clock: WallClock) -> String {
        var writer = JSONWriter(capacity: 40)
        WallClock.appendRFC3339(clock.offset, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// What a live window records about itself and this machine.
    package static func live(
        clock: WallClock, subjectKind: String, subjectValue: String, label: String, trialID: String?,
        sostle: SostleLevel?, requestedMilliseconds: Int, rules: [String]
    ) -> [(String, String)] {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return [
            ("layout", String(RecordingFormat.layoutVersion)), ("kernel", release),
            ("hostname", String(decoding: HostName.current(), as: UTF8.self)),
            ("clockOffset", String(clock.offset)), ("bootTime", bootTime(clock)),
            ("subjectKind", subjectKind), ("subjectValue", subjectValue),
            ("label", label),
            ("trialId", trialID ?? ""), ("sostle", sostle?.description ?? ""),
            ("requestedMilliseconds", String(requestedMilliseconds)),
            ("rules", rules.isEmpty ? "(built-in)" : rules.joined(separator: ",")),
        ]
    }
}

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
    static let magic: [UInt8] = Array("WITREC".utf8) + [0, 0]
    static let formatVersion: UInt16 = 1
    /// The record layout of this build (bpf/witness_event.h).
    package static let layoutVersion = UInt16(WITNESS_EVENT_LAYOUT_VERSION)
    /// magic, format version, layout version.
    static let prefixSize = 12
    /// No frame is larger (a record is a few KiB, a process record some, a baseline
    /// profile the most).
    static let maxFrame = 64 << 20  // a baseline profile read from a file may be this large

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
        // How the window began (absent from recordings made before it was kept).
        end.u8((witnessedFromStart ? 1 : 0) | (armedBootTime == nil ? 0 : 2) | (found == nil ? 0 : 4))
        if let armedBootTime { end.u64(armedBootTime) }
        if let found {
            end.u32(UInt32(clamping: found.processes))
            end.u32(UInt32(clamping: found.descriptors))
            end.u8(found.truncated ? 1 : 0)
            end.string(found.source)
        }
    }

    init(_ reader: inout ByteReader) throws(ByteReader.Malformed) {
        let startBootTime = try reader.u64("start")
        let endBootTime = try reader.u64("end")
        let endReason = try reader.string("end reason")
        let kernelDrops = try reader.u64("kernel drops")
        let agentDrops = try reader.u64("agent drops")
        let count = try reader.u32("syscall count")
        guard count <= 4096 else {
            throw ByteReader.Malformed(offset: reader.offset - 4, what: "syscall count \(count)")
        }
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
                guard count <= 256 else {
                    throw ByteReader.Malformed(offset: reader.offset - 4, what: "coverage count")
                }
                lists.append(try (0..<count).map { (_) throws(ByteReader.Malformed) in try reader.string("coverage") })
            }
            coverage = Coverage(unobserved: lists[0], usedUnobserved: lists[1])
        }
        self.init(
            startBootTime: startBootTime, endBootTime: endBootTime, endReason: endReason, kernelDrops: kernelDrops,
            agentDrops: agentDrops, syscalls: syscalls, coverage: coverage)
        guard !reader.isAtEnd else { return }
        let beginning = try reader.u8("beginning")
        witnessedFromStart = beginning & 1 != 0
        if beginning & 2 != 0 { armedBootTime = try reader.u64("armed") }
        if beginning & 4 != 0 {
            var summary = FoundSummary()
            summary.processes = Int(try reader.u32("found processes"))
            summary.descriptors = Int(try reader.u32("found descriptors"))
            summary.truncated = try reader.u8("found truncated") != 0
            summary.source = try reader.string("found source")
            found = summary
        }
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

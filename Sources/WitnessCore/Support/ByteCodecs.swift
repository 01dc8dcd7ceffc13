import Glibc

/// Little-endian fields into a byte array.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init() {}

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

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

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int, _ what: String) throws(Malformed) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw Malformed(offset: offset, what: what) }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func u8(_ what: String) throws(Malformed) -> UInt8 { try take(1, what).first! }

    mutating func u16(_ what: String) throws(Malformed) -> UInt16 {
        try take(2, what).reversed().reduce(0) { $0 << 8 | UInt16($1) }
    }

    package mutating func u32(_ what: String) throws(Malformed) -> UInt32 {
        try take(4, what).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ what: String) throws(Malformed) -> UInt64 {
        try take(8, what).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func i64(_ what: String) throws(Malformed) -> Int64 { Int64(bitPattern: try u64(what)) }

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

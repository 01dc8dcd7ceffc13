/// URIs for what a statement names: a path as a `file://` URI, a node name inside
/// a URN. Every byte outside RFC 3986's unreserved set (and `/` in paths) is
/// percent-encoded, so a file name with a newline, a space or invalid UTF-8 is
/// still one valid URI that decodes to the exact bytes.
enum ResourceURI {
    static func file(_ path: String) -> String { "file://" + encoded(path, keeping: UInt8(ascii: "/")) }

    static func encoded(_ text: String, keeping extra: UInt8? = nil) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            let unreserved =
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "~") || byte == extra
            if unreserved {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

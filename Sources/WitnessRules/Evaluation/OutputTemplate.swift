import WitnessCore

/// A rule's output string, parsed once: literal text and `%field` / `%field[N]`
/// references. Renders into a `JSONWriter` (escaped as a JSON string body, with
/// Falco's `<NA>` for missing values) and lists its fields for `output_fields`.
struct OutputTemplate {
    enum Segment {
        case literal([UInt8])
        case field(FieldRef)
    }

    let segments: [Segment]
    /// Each field once, in order of first use, and its name as output_fields keys it.
    let fields: [FieldRef]
    private let fieldNames: [String]

    init(segments: [Segment]) {
        self.segments = segments
        var seen: [FieldRef] = []
        for case .field(let field) in segments where !seen.contains(field) { seen.append(field) }
        fields = seen
        fieldNames = seen.map(\.displayName)
    }

    static func parse(_ text: String) -> Result<OutputTemplate, FieldRef.UnknownField> {
        let bytes = Array(text.utf8)
        var segments: [Segment] = []
        var literal: [UInt8] = []
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%"), index + 1 < bytes.count, isNameByte(bytes[index + 1]) else {
                literal.append(bytes[index])
                index += 1
                continue
            }
            var end = index + 1
            while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
            // A trailing dot is punctuation ("... %proc.name."), not part of the field.
            while end > index + 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
            let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            var argument: String?
            if end < bytes.count, bytes[end] == UInt8(ascii: "["),
                let close = bytes[end...].firstIndex(of: UInt8(ascii: "]"))
            {
                argument = String(decoding: bytes[(end + 1)..<close], as: UTF8.self)
                end = close + 1
            }
            switch FieldRef.resolve(name: name, argument: argument) {
            case .success(let field):
                if !literal.isEmpty { segments.append(.literal(literal)) }
                literal = []
                segments.append(.field(field))
            case .failure(let unknown):
                return .failure(unknown)
            }
            index = end
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return .success(OutputTemplate(segments: segments))
    }

    /// The rendered output as a JSON string body.
    func render(_ event: ResolvedEvent, to writer: inout JSONWriter) {
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                bytes.withUnsafeBufferPointer { writer.escaped($0) }
            case .field(let field):
                event.value(field).appendText(of: field.id, to: &writer)
            }
        }
    }

    /// `"field":value,...` for output_fields: strings as strings, numbers as
    /// numbers, missing values as null (Falco's JSON output does the same).
    func appendOutputFields(_ event: ResolvedEvent, to writer: inout JSONWriter) {
        for (index, field) in self.fields.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(fieldNames[index])
            writer.byte(UInt8(ascii: ":"))
            event.value(field).appendJSON(to: &writer)
        }
    }
}

/// Joins a relative path with the directory the kernel resolved for it when the
/// event happened (the working directory, or the directory of `dirfd`), as Falco's
/// fd.name is absolute. `./` prefixes are dropped; `..` is kept as the program wrote
/// it. Pure: no /proc lookups, so a process that is already gone is named right.
public enum PathResolver {
    /// Hands the pieces of the joined path, in order, to `emit`.
    public static func join(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ emit: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let bytes = UnsafeBufferPointer(start: path.baseAddress?.assumingMemoryBound(to: UInt8.self), count: path.count)
        let base = UnsafeBufferPointer(
            start: directory.baseAddress?.assumingMemoryBound(to: UInt8.self), count: directory.count)
        if base.isEmpty || bytes.first == UInt8(ascii: "/") {
            emit(bytes)
            return
        }
        emit(base)
        var rest = bytes[...]
        while rest.count >= 2, rest[rest.startIndex] == UInt8(ascii: "."), rest[rest.startIndex + 1] == UInt8(ascii: "/") {
            rest = rest.dropFirst(2)
        }
        if rest.isEmpty || rest.elementsEqual(CollectionOfOne(UInt8(ascii: "."))) { return }
        if base.last != UInt8(ascii: "/") { slash.withUnsafeBufferPointer { emit($0) } }
        emit(UnsafeBufferPointer(rebasing: rest))
    }

    /// The joined path as a JSON string body (escaped, no quotes).
    public static func appendJoined(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, to writer: inout JSONWriter
    ) {
        join(directory: directory, path: path) { writer.escaped($0) }
    }

    /// The joined path as bytes.
    public static func joined(directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> [UInt8] {
        var result: [UInt8] = []
        join(directory: directory, path: path) { result.append(contentsOf: $0) }
        return result
    }

    private static let slash: [UInt8] = [UInt8(ascii: "/")]
}

/// Joins a relative path with the directory the kernel resolved for it when the
/// event happened (the working directory, or the directory of `dirfd`), as Falco's
/// fd.name is absolute, and normalises the result lexically: `//`, `.` and `..` are
/// collapsed, so `//etc/./x/../shadow` is `/etc/shadow`. A path the kernel resolved
/// itself (a successful open's file) never comes here; this is for the names of
/// attempts and of operations whose result is not observed, where no file object
/// exists to ask. Pure: no /proc lookups, so a process that is already gone is
/// named right; no heap allocation.
package enum PathResolver {
    /// Hands the pieces of the joined, normalised path, in order, to `emit`.
    package static func join(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ emit: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let bytes = UnsafeBufferPointer(start: path.baseAddress?.assumingMemoryBound(to: UInt8.self), count: path.count)
        let base = UnsafeBufferPointer(
            start: directory.baseAddress?.assumingMemoryBound(to: UInt8.self), count: directory.count)
        let absolute = base.isEmpty || bytes.first == slashByte
        // The usual case, a clean name: as it is, no copy.
        if absolute, isNormal(bytes) {
            emit(bytes)
            return
        }
        if !absolute, isNormal(base), isNormal(bytes), base.last != slashByte || base.count == 1 {
            emit(base)
            if base.count > 1 { slash.withUnsafeBufferPointer { emit($0) } }
            emit(bytes)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: base.count + bytes.count + 2) { buffer in
            var name = NormalisedName(
                buffer: buffer, rooted: absolute ? bytes.first == slashByte : base.first == slashByte)
            if !absolute { name.add(base) }
            name.add(bytes)
            emit(name.result)
        }
    }

    /// The joined path as a JSON string body (escaped, no quotes).
    static func appendJoined(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, to writer: inout JSONWriter
    ) {
        join(directory: directory, path: path) { writer.escaped($0) }
    }

    /// `path` joined with `directory` when relative, nothing collapsed: for a name that
    /// something trusts (an exemption by executable path) and that the kernel did not
    /// give, where collapsing `..` over a symlink would name another file.
    static func joinedAsWritten(directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> [UInt8] {
        if directory.isEmpty || path.first == slashByte { return Array(path) }
        var result = Array(directory)
        if result.last != slashByte { result.append(slashByte) }
        result.append(contentsOf: path)
        return result
    }

    /// Whether `path` has a `..` component: where lexical normalisation and the
    /// kernel's resolution (symlinks first) can disagree.
    static func climbs(_ path: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        for index in 0...path.count where index == path.count || path[index] == slashByte {
            if index - start == 2, path[start] == dotByte, path[start + 1] == dotByte { return true }
            start = index + 1
        }
        return false
    }

    /// The joined path as bytes.
    package static func joined(directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> [UInt8] {
        var result: [UInt8] = []
        join(directory: directory, path: path) { result.append(contentsOf: $0) }
        return result
    }

    /// Whether `name` has no empty, `.` or `..` component (a trailing slash counts as
    /// an empty one): then normalising leaves it as it is. One pass, no allocation:
    /// every fd.name asks it.
    static func isNormal(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = name.count
        if count == 0 || (count == 1 && name[0] == slashByte) { return true }
        var start = 0
        var index = 0
        while index <= count {
            if index == count || name[index] == slashByte {
                let length = index - start
                if length == 0 {
                    if index != 0 { return false }  // "//", or a trailing slash; a leading one is fine
                } else if name[start] == dotByte && (length == 1 || (length == 2 && name[start + 1] == dotByte)) {
                    return false
                }
                start = index + 1
            }
            index += 1
        }
        return true
    }

    static let slashByte = UInt8(ascii: "/")
    static let dotByte = UInt8(ascii: ".")
    private static let slash: [UInt8] = [UInt8(ascii: "/")]
}

/// A name being normalised into a buffer: components are added, `.` dropped, `..`
/// removing the last one (never climbing above the root; a relative name keeps a
/// leading `..` it cannot resolve).
private struct NormalisedName {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    let rooted: Bool
    var length: Int

    init(buffer: UnsafeMutableBufferPointer<UInt8>, rooted: Bool) {
        self.buffer = buffer
        self.rooted = rooted
        length = 0
        if rooted {
            buffer[0] = PathResolver.slashByte
            length = 1
        }
    }

    /// Where the names start: after the root's slash.
    private var floor: Int { rooted ? 1 : 0 }

    mutating func add(_ part: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for index in 0...part.count where index == part.count || part[index] == PathResolver.slashByte {
            let component = UnsafeBufferPointer(rebasing: part[start..<index])
            start = index + 1
            let dot = PathResolver.dotByte
            if component.isEmpty || (component.count == 1 && component[0] == dot) { continue }
            if component.count == 2 && component[0] == dot && component[1] == dot {
                if length > floor && !lastIsDotDot {
                    dropLast()
                    continue
                }
                if rooted { continue }  // /.. is /
            }
            if length > floor {
                buffer[length] = PathResolver.slashByte
                length += 1
            }
            for byte in component {
                buffer[length] = byte
                length += 1
            }
        }
    }

    private var lastStart: Int {
        var index = length
        while index > floor && buffer[index - 1] != PathResolver.slashByte { index -= 1 }
        return index
    }

    private var lastIsDotDot: Bool {
        let start = lastStart
        return length - start == 2 && buffer[start] == PathResolver.dotByte && buffer[start + 1] == PathResolver.dotByte
    }

    private mutating func dropLast() {
        let start = lastStart
        length = start > floor ? start - 1 : floor
    }

    var result: UnsafeBufferPointer<UInt8> {
        if length == 0 {
            buffer[0] = PathResolver.dotByte
            return UnsafeBufferPointer(rebasing: buffer[0..<1])
        }
        return UnsafeBufferPointer(rebasing: buffer[0..<length])
    }
}

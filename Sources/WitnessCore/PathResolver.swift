import Glibc

/// Makes a path from a syscall absolute, as Falco's fd.name is: a relative path is
/// joined to the process's working directory (or to the directory of `dirfd`), read
/// from /proc when the event is handled. Best effort: if the process is gone, the
/// path stays as the program passed it. Reuses one buffer; never allocates after warm-up.
public struct PathResolver {
    public static let currentDirectory: Int32 = -100  // AT_FDCWD

    private var link = [UInt8](repeating: 0, count: 4096)
    private let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// Writes `path` resolved for `pid` as a JSON string body (escaped, no quotes).
    public mutating func appendResolved(
        _ path: UnsafeRawBufferPointer, dirfd: Int32, pid: Int32, to writer: inout JSONWriter
    ) {
        resolve(path, dirfd: dirfd, pid: pid) { writer.escaped($0) }
    }

    /// `path` resolved for `pid`, as bytes.
    public mutating func resolvedBytes(_ path: UnsafeRawBufferPointer, dirfd: Int32, pid: Int32) -> [UInt8] {
        var result: [UInt8] = []
        resolve(path, dirfd: dirfd, pid: pid) { result.append(contentsOf: $0) }
        return result
    }

    /// Hands the pieces of the resolved path, in order, to `emit`.
    private mutating func resolve(
        _ path: UnsafeRawBufferPointer, dirfd: Int32, pid: Int32, _ emit: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let bytes = UnsafeBufferPointer(start: path.baseAddress?.assumingMemoryBound(to: UInt8.self), count: path.count)
        if bytes.first == UInt8(ascii: "/") || bytes.isEmpty {
            emit(bytes)
            return
        }
        let length = directory(pid: pid, dirfd: dirfd)
        guard length > 0 else {
            emit(bytes)
            return
        }
        link.withUnsafeBufferPointer { emit(UnsafeBufferPointer(rebasing: $0[..<length])) }
        var rest = bytes[...]
        while rest.count >= 2, rest[rest.startIndex] == UInt8(ascii: "."), rest[rest.startIndex + 1] == UInt8(ascii: "/") {
            rest = rest.dropFirst(2)
        }
        if rest.elementsEqual([UInt8(ascii: ".")]) { return }
        if length > 1 { Self.slash.withUnsafeBufferPointer { emit($0) } }
        emit(UnsafeBufferPointer(rebasing: rest))
    }

    private static let slash: [UInt8] = [UInt8(ascii: "/")]

    /// Reads /proc/PID/cwd or /proc/PID/fd/DIRFD into `link`; returns its length or 0.
    private mutating func directory(pid: Int32, dirfd: Int32) -> Int {
        let target = dirfd == Self.currentDirectory ? "\(procRoot)/\(pid)/cwd" : "\(procRoot)/\(pid)/fd/\(dirfd)"
        return target.withCString { name in
            link.withUnsafeMutableBytes { buffer in
                let n = readlink(name, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
                return n > 0 ? n : 0
            }
        }
    }
}

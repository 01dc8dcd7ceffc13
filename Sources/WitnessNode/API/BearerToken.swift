import Synchronization
import WitnessCore

/// A bearer token read from a file (a Kubernetes Secret mount), re-read when the
/// file changes (a rotated Secret replaces it, so a token rotates without a restart),
/// and the check of a presented one in constant time: the comparison touches every
/// byte whatever the first difference, so response timing tells an attacker nothing
/// about the token.
package final class BearerToken: Sendable {
    private struct Loaded {
        var stamp: FileStamp?
        var bytes: [UInt8]
    }

    private let file: String?
    private let loaded: Mutex<Loaded>

    /// - Parameter privateOnly: refuse a file that users other than its owner can
    ///   read (the API's token: anyone who reads it holds the API).
    package init(file: String, privateOnly: Bool = false) throws(AgentError) {
        let stamp = FileStamp(file)
        if privateOnly, let mode = stamp?.mode, mode & 0o044 != 0 {
            throw AgentError.usage(
                "token file \(file) can be read by other users (mode \(String(mode & 0o777, radix: 8))): make it 0600 or 0400"
            )
        }
        self.file = file
        loaded = Mutex(Loaded(stamp: stamp, bytes: Array(try Self.read(file).utf8)))
    }

    init(_ token: String) {
        file = nil
        loaded = Mutex(Loaded(stamp: nil, bytes: Array(token.utf8)))
    }

    /// The token now: the file is read again when its identity, size or time changed.
    /// A replacement that holds no usable token keeps the last good one (logged by
    /// the caller as a failed request, never as an open door).
    package var current: [UInt8] {
        loaded.withLock { loaded in
            guard let file, let stamp = FileStamp(file), stamp != loaded.stamp else { return loaded.bytes }
            if let text = try? Self.read(file) {
                loaded.bytes = Array(text.utf8)
                loaded.stamp = stamp
            }
            return loaded.bytes
        }
    }

    /// `Bearer <token>`, for a request.
    package var authorization: String { "Bearer " + String(decoding: current, as: UTF8.self) }

    /// The token in `file`, surrounding whitespace removed; a missing, unreadable or
    /// empty file is an error (an empty token would let anyone in).
    package static func read(_ file: String) throws(AgentError) -> String {
        guard let data = BoundedFile.read(file, limit: 64 * 1024) else {
            throw AgentError.usage("cannot read token file \(file)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        guard text.count >= 16 else {
            throw AgentError.usage("token file \(file) holds no usable token (at least 16 characters are needed)")
        }
        return text
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`.
    package func accepts(authorization header: String?) -> Bool {
        guard let header else { return false }
        let scheme = "bearer "
        guard header.utf8.count > scheme.utf8.count,
            header.utf8.prefix(scheme.utf8.count).map({ $0 | 0x20 }) == Array(scheme.utf8)
        else { return false }
        let presented = Array(header.utf8.dropFirst(scheme.utf8.count))
        return Self.constantTimeEqual(presented, current)
    }

    /// Compares without an early exit; lengths differ → false, still after a full pass.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for index in 0..<count {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

import WitnessCore

/// A bearer token read from a file (a Kubernetes Secret mount), and the check of a
/// presented one in constant time: the comparison touches every byte whatever the
/// first difference, so response timing tells an attacker nothing about the token.
public struct BearerToken: Sendable {
    private let bytes: [UInt8]

    public init(file: String) throws(AgentError) {
        bytes = Array(try Self.read(file).utf8)
    }

    init(_ token: String) {
        bytes = Array(token.utf8)
    }

    /// The token in `file`, surrounding whitespace removed; a missing, unreadable or
    /// empty file is an error (an empty token would let anyone in).
    public static func read(_ file: String) throws(AgentError) -> String {
        guard let data = ProcFiles.read(file, limit: 64 * 1024) else {
            throw AgentError.usage("cannot read token file \(file)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        guard text.count >= 16 else {
            throw AgentError.usage("token file \(file) holds no usable token (at least 16 characters are needed)")
        }
        return text
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`.
    public func accepts(authorization header: String?) -> Bool {
        guard let header else { return false }
        let scheme = "bearer "
        guard header.utf8.count > scheme.utf8.count,
            header.utf8.prefix(scheme.utf8.count).map({ $0 | 0x20 }) == Array(scheme.utf8)
        else { return false }
        let presented = Array(header.utf8.dropFirst(scheme.utf8.count))
        return Self.constantTimeEqual(presented, bytes)
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

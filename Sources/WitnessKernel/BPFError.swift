import Glibc

/// A failure of the kernel side: which operation failed, with what errno, and a
/// sentence a person can act on. Loading problems that are the user's to fix (not
/// privileged, no BTF) are marked `isUsageError` so the command exits 2, not 1.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let errno: Int32
    public let message: String
    public let isUsageError: Bool

    public init(operation: String, errno: Int32, message: String? = nil, isUsageError: Bool = false) {
        self.operation = operation
        self.errno = errno
        self.isUsageError = isUsageError
        if let message {
            self.message = message
        } else {
            self.message = "\(operation) failed: \(String(cString: strerror(errno)))"
        }
    }

    public var description: String { message }

    /// Builds the error for a failing libbpf or system call, reading errno now.
    static func lastError(_ operation: String) -> BPFError {
        BPFError(operation: operation, errno: Glibc.errno)
    }
}

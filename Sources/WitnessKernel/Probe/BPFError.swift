import Glibc

/// A failure of the kernel side: which operation failed, with what errno, and a
/// sentence a person can act on. Loading problems that are the user's to fix (not
/// privileged, no BTF) are marked `isUsageError` so the command exits 2, not 1.
package struct BPFError: Error, CustomStringConvertible, Sendable {
    package let operation: String
    package let errno: Int32
    package let message: String
    package let isUsageError: Bool

    package init(operation: String, errno: Int32, message: String? = nil, isUsageError: Bool = false) {
        self.operation = operation
        self.errno = errno
        self.isUsageError = isUsageError
        if let message {
            self.message = message
        } else {
            self.message = "\(operation) failed: \(String(cString: strerror(errno)))"
        }
    }

    package var description: String { message }

    /// Builds the error for a failing libbpf or system call, reading errno now.
    static func lastError(_ operation: String) -> BPFError {
        BPFError(operation: operation, errno: Glibc.errno)
    }
}

import Glibc

/// Where tracepoint ids are read: libbpf looks in /sys/kernel/tracing (or the
/// debugfs copy). Many hosts mount tracefs only on demand; the agent mounts it when
/// it is missing, as perf and bpftrace do.
enum Tracefs {
    static let root = "/sys/kernel/tracing"
    static let debugfsRoot = "/sys/kernel/debug/tracing"

    /// The directory holding `events/`, mounting tracefs at /sys/kernel/tracing if needed.
    static func ensureMounted() throws(BPFError) -> String {
        if access(root + "/events", F_OK) == 0 { return root }
        if access(debugfsRoot + "/events", F_OK) == 0 { return debugfsRoot }
        if mount("tracefs", root, "tracefs", 0, nil) != 0 {
            let error = errno
            throw BPFError(
                operation: "mount tracefs", errno: error,
                message: "cannot mount tracefs at \(root): \(String(cString: strerror(error))) (run as root, or mount it first)",
                isUsageError: error == EPERM || error == EACCES)
        }
        return root
    }

    /// Whether the tracepoint `category/name` exists on this kernel.
    static func hasTracepoint(_ root: String, category: String, name: String) -> Bool {
        access("\(root)/events/\(category)/\(name)", F_OK) == 0
    }
}

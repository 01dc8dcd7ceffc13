import Glibc

/// Whether this process may load BPF programs: root, or the capabilities that let
/// a non-root process do it (CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN). Checked
/// up front so that the user reads one clear line instead of a libbpf errno.
enum Privileges {
    static let capSysAdmin = 21
    static let capPerfmon = 38
    static let capBPF = 39

    static func check(statusPath: String = "/proc/self/status") throws(BPFError) {
        let effective = effectiveCapabilities(statusPath: statusPath)
        func has(_ capability: Int) -> Bool { effective & (1 << UInt64(capability)) != 0 }
        if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) { return }
        throw BPFError(
            operation: "privileges", errno: EPERM,
            message:
                "loading BPF programs needs root, or CAP_BPF and CAP_PERFMON (running as uid \(geteuid()) without them)",
            isUsageError: true)
    }

    /// The CapEff mask of /proc/self/status.
    static func effectiveCapabilities(statusPath: String) -> UInt64 {
        statusValue("CapEff:", statusPath: statusPath).flatMap { UInt64($0, radix: 16) } ?? 0
    }

    /// Whether a seccomp filter runs on this process's system calls (Seccomp: 2): in
    /// a container, the runtime's default profile, which most runtimes write to
    /// refuse bpf() without CAP_SYS_ADMIN whatever the other capabilities.
    static func seccompFiltered(statusPath: String = "/proc/self/status") -> Bool {
        statusValue("Seccomp:", statusPath: statusPath) == "2"
    }

    /// The value of one `Name:` line of /proc/self/status, trimmed.
    private static func statusValue(_ name: String, statusPath: String) -> Substring? {
        guard let file = fopen(statusPath, "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix(name) {
                return text.dropFirst(name.count).trimmingCharacters(in: " \t\n")
            }
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}

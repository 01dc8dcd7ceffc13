/// The capabilities node mode uses, and why: what daemonset.yaml adds (a test
/// checks that it asks for these and nothing more), and what `run` warns about
/// when one is missing.
public enum NodeCapabilities {
    public struct Capability: Sendable {
        public let name: String
        let number: Int
        public let reason: String
    }

    public static let required: [Capability] = [
        Capability(name: "BPF", number: 39, reason: "load the programs, create and update the maps"),
        Capability(name: "PERFMON", number: 38, reason: "attach tracepoints; read kernel memory from BPF"),
        Capability(name: "SYS_RESOURCE", number: 24, reason: "kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK"),
        Capability(name: "SYS_PTRACE", number: 19, reason: "read the exe and cwd links of other users' processes"),
        Capability(name: "DAC_READ_SEARCH", number: 2, reason: "open cgroups by id to name their container and pod"),
    ]

    /// Those this process lacks (CAP_SYS_ADMIN stands in for BPF and PERFMON).
    public static func missing(statusPath: String = "/proc/self/status") -> [Capability] {
        let effective = Privileges.effectiveCapabilities(statusPath: statusPath)
        func has(_ number: Int) -> Bool { effective & (1 << UInt64(number)) != 0 }
        return required.filter { capability in
            if has(capability.number) { return false }
            return !(has(Privileges.capSysAdmin) && (capability.number == Privileges.capBPF || capability.number == Privileges.capPerfmon))
        }
    }
}

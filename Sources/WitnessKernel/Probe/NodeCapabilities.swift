import Glibc

/// The capabilities node mode uses, and why: what daemonset.yaml adds (a test
/// checks that it asks for these and nothing more), and what `run` warns about
/// when one is missing.
package enum NodeCapabilities {
    package struct Capability: Sendable {
        package let name: String
        let number: Int
        package let reason: String
    }

    package static let required: [Capability] = [
        Capability(name: "BPF", number: 39, reason: "load the programs and create the maps"),
        Capability(name: "PERFMON", number: 38, reason: "attach tracepoints or read kernel memory from BPF"),
        Capability(
            name: "SYS_RESOURCE", number: 24,
            reason: "raise RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF memory to"),
        Capability(
            name: "DAC_READ_SEARCH", number: 2,
            reason:
                "open cgroups by id to name their container and pod, or list the descriptors of other users' processes in /proc"
        ),
        Capability(
            name: "SYS_PTRACE", number: 19,
            reason:
                "read other users' processes in /proc: the exe and cwd links, and the files they hold open for writing"),
        Capability(
            name: "SYS_NICE", number: 23,
            reason: "raise the consumer thread's priority (nice -10): a subject keeping every core busy could starve it"
        ),
    ]

    /// Those this process lacks and this kernel needs (CAP_SYS_ADMIN stands in for
    /// BPF and PERFMON; SYS_RESOURCE matters only before 5.11).
    package static func missing(statusPath: String = "/proc/self/status") -> [Capability] {
        let effective = Privileges.effectiveCapabilities(statusPath: statusPath)
        func has(_ number: Int) -> Bool { effective & (1 << UInt64(number)) != 0 }
        let accountsBPFMemory = kernelVersion() >= (5, 11)
        return required.filter { capability in
            if has(capability.number) { return false }
            if capability.name == "SYS_RESOURCE" && accountsBPFMemory { return false }
            return
                !(has(Privileges.capSysAdmin)
                && (capability.number == Privileges.capBPF || capability.number == Privileges.capPerfmon))
        }
    }

    /// The running kernel's major and minor version, from uname.
    static func kernelVersion() -> (Int, Int) {
        var name = utsname()
        guard uname(&name) == 0 else { return (0, 0) }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : (0, 0)
    }
}

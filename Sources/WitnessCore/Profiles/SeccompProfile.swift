/// A runtime profile's syscalls as a seccomp profile in the JSON shape kubelet's
/// `localhost/` profiles, the OCI runtime spec and container runtimes take: every
/// syscall the subject made allowed, anything else refused with EPERM. The ia32
/// architecture is listed only when the subject used it (then an i386 binary's
/// calls are allowed by the same names); any other architecture is refused whole.
package enum SeccompProfile {
    /// The profile, and the observed syscalls that have no name in this build and so
    /// cannot be allowed by name (they would be refused under it).
    package static func make(from profile: RuntimeProfile) -> (json: String, unnamed: [String]) {
        var names = Set(profile.syscalls.keys)
        names.formUnion(profile.compatSyscalls.keys)
        // rt_sigreturn restores the registers, its own number too: at its exit the kernel
        // reports number -1, counted as `other`. A subject with `other` returned from
        // a signal handler, and needs it allowed (the ia32 table has two of them).
        if names.remove("other") != nil {
            names.insert("rt_sigreturn")
            if profile.compatSyscalls["other"] != nil { names.insert("sigreturn") }
        }
        let unnamed = names.filter { $0.hasPrefix("syscall_") }.sorted()
        names.subtract(unnamed)
        var writer = JSONWriter(capacity: 8192)
        writer.raw(
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": [\"SCMP_ARCH_X86_64\""
        )
        if !profile.compatSyscalls.isEmpty { writer.raw(", \"SCMP_ARCH_X86\"") }
        writer.raw("],\n  \"syscalls\": [\n    {\n      \"names\": [")
        for (index, name) in names.sorted().enumerated() {
            writer.raw(index % 6 == 0 ? "\n        " : " ")
            writer.string(name)
            if index < names.count - 1 { writer.byte(UInt8(ascii: ",")) }
        }
        writer.raw("\n      ],\n      \"action\": \"SCMP_ACT_ALLOW\"\n    }\n  ]\n}\n")
        return (String(decoding: writer.bytes, as: UTF8.self), unnamed)
    }
}

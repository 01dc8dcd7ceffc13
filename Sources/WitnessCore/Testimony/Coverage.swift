/// What Witness could not see during a window, so that a testimony never claims
/// more than was witnessed: the limits of this kernel and of Witness itself, and
/// which of them the subject actually used (known from its syscall profile, which
/// counts every syscall whether or not it was decoded).
package struct Coverage: Sendable, Equatable {
    /// Something not observed, and the syscalls whose use means the subject went there.
    package struct BlindSpot: Sendable, Equatable {
        package var description: String
        /// Using any of these (by name, either table) is using the blind spot.
        package var syscalls: [String]
        /// Whether a subject using it makes the window incomplete (false: a known,
        /// partial limit that the rules are written around).
        package var makesIncomplete: Bool

        package init(_ description: String, syscalls: [String], makesIncomplete: Bool) {
            self.description = description
            self.syscalls = syscalls
            self.makesIncomplete = makesIncomplete
        }
    }

    /// What this kernel and configuration do not let Witness see.
    package var unobserved: [String]
    /// Of those, what the subject used in this window and so was not witnessed.
    package var usedUnobserved: [String]

    package init(unobserved: [String] = [], usedUnobserved: [String] = []) {
        self.unobserved = unobserved
        self.usedUnobserved = usedUnobserved
    }

    /// Limits of Witness on every kernel.
    package static let inherent: [BlindSpot] = [
        BlindSpot(
            "io_uring operation results (submissions are reported, completions and reads/writes are not)",
            syscalls: ["io_uring_setup", "io_uring_enter"], makesIncomplete: false),
        BlindSpot(
            "host names in rules (fd.sip.name: mining pools) are the agent's answers for them, not the subject's (its hosts file, DNS policy, search domains, another round-robin or geo answer)",
            syscalls: [], makesIncomplete: false),
    ]

    /// The coverage of a window over `spots`, given what the subject did.
    package static func assess(_ spots: [BlindSpot], profile: SyscallProfile?) -> Coverage {
        var used: [String] = []
        if let profile {
            var names = Set<String>()
            for table in SyscallNumbers.Table.allCases {
                for entry in profile.byName(in: table) { names.insert(entry.name) }
            }
            used = spots.filter { $0.makesIncomplete && $0.syscalls.contains { names.contains($0) } }.map(\.description)
        }
        return Coverage(unobserved: spots.map(\.description), usedUnobserved: used)
    }

    /// `{"unobserved":[...],"usedUnobserved":[...]}`
    package func appendJSON(to writer: inout JSONWriter) {
        writer.raw("{\"unobserved\":[")
        for (index, text) in unobserved.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(text)
        }
        writer.raw("],\"usedUnobserved\":[")
        for (index, text) in usedUnobserved.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.string(text)
        }
        writer.raw("]}")
    }
}

/// One counter of the in-kernel syscall profile: how often a subject made syscall
/// `number` of `table`.
package struct SyscallCount: Sendable, Equatable {
    package var table: SyscallNumbers.Table
    package var number: Int
    package var count: UInt64

    package init(table: SyscallNumbers.Table, number: Int, count: UInt64) {
        self.table = table
        self.number = number
        self.count = count
    }
}

/// Every syscall a subject made during a window, reported as an event or not: the
/// trial's runtime syscall profile. Counted in the kernel per subject slot, so it
/// costs no ring buffer record and cannot be lost to a full one.
package struct SyscallProfile: Sendable, Equatable {
    package var counts: [SyscallCount]

    package init(counts: [SyscallCount]) {
        self.counts = counts
    }

    /// Syscalls by name in `table`, most frequent first (ties by name).
    package func byName(in table: SyscallNumbers.Table) -> [(name: String, count: UInt64)] {
        var merged: [String: UInt64] = [:]
        for entry in counts where entry.table == table {
            merged[SyscallNumbers.name(of: entry.number, in: table), default: 0] &+= entry.count
        }
        return merged.map { ($0.key, $0.value) }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name
        }
    }

    /// `{"syscalls":{...},"compatSyscalls":{...}}`: native names to counts, and the
    /// ia32 table's when the subject used it.
    /// Written as a runtime profile writes its counts.
    package func appendJSON(to writer: inout JSONWriter) {
        var profile = RuntimeProfile()
        profile.setSyscalls(self)
        writer.byte(UInt8(ascii: "{"))
        writer.key("syscalls")
        RuntimeProfile.appendCounts(profile.syscalls, to: &writer)
        if !profile.compatSyscalls.isEmpty {
            writer.raw(",")
            writer.key("compatSyscalls")
            RuntimeProfile.appendCounts(profile.compatSyscalls, to: &writer)
        }
        writer.byte(UInt8(ascii: "}"))
    }
}

/// Events witnessed, by Falco event type, and records the agent could not decode.
/// A fixed array indexed by syscall: counting costs an increment, not a hash.
package struct EventCounts: Sendable, Equatable {
    private var bySyscall = [UInt64](repeating: 0, count: Syscall.allCases.count)
    /// Records that failed to decode: lost by the agent.
    package var undecodable: UInt64 = 0

    package init() {}

    /// Events recorded, all types.
    package private(set) var total: UInt64 = 0

    @inline(__always)
    package mutating func record(_ syscall: Syscall) {
        bySyscall[Int(syscall.rawValue)] &+= 1
        total &+= 1
    }

    package subscript(_ syscall: Syscall) -> UInt64 { bySyscall[Int(syscall.rawValue)] }

    /// Counts restored by `evt.type` name (a journal written by an earlier agent);
    /// names this agent does not know are skipped.
    package init(restoring counts: [String: UInt64]) {
        for syscall in Syscall.allCases {
            guard let count = counts["\(syscall.eventType)"] else { continue }
            bySyscall[Int(syscall.rawValue)] = count
            total &+= count
        }
    }

    /// Non-zero counts, keyed by `evt.type`, in syscall order.
    package var byType: [(String, UInt64)] {
        Syscall.allCases.compactMap { syscall in
            let count = self[syscall]
            return count == 0 ? nil : ("\(syscall.eventType)", count)
        }
    }
}

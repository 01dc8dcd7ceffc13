import CBPF

/// The agent's resident set once start-up is over. Loading rules, BTF and the
/// programs touches code and data of the agent's binary and libraries (YAML,
/// Foundation, libbpf) that an idle or steady agent never touches again; the kernel
/// would keep those pages mapped, and counted in the agent's RSS, until memory ran
/// short. Dropping them when the consumer first rests (and, in node mode, once the
/// API listens) leaves the resident set to what the agent really uses: a page
/// needed again comes back from the page cache on first use. At the first rest, not
/// at attach: a traced command starts right after attach, and the consumer should
/// not fault its own code back in under the command's first burst.
package enum ResidentMemory {
    /// Unmaps the pages of the agent's clean read-only file mappings (anonymous
    /// memory, the heap, relocated data and the ring buffer stay); the page cache
    /// keeps them, so the next touch is a minor fault. Returns how many mappings.
    @discardableResult
    package static func releaseStartupPages() -> Int {
        Int(cbpf_drop_file_mappings())
    }
}

import CBPF

/// The agent's resident set once start-up is over. Loading rules, BTF and the
/// programs touches code and data of the agent's binary and libraries (YAML,
/// Foundation, libbpf) that an idle or steady agent never touches again; the kernel
/// would keep those pages mapped, and counted in the agent's RSS, until memory ran
/// short. Paging them out once attached leaves the resident set to what the agent
/// really uses: a page needed again comes back from the page cache on first use.
package enum ResidentMemory {
    /// Asks the kernel to reclaim the pages of every mapped file (anonymous memory,
    /// the heap and the ring buffer stay). Returns how many mappings it advised.
    @discardableResult
    package static func releaseStartupPages() -> Int {
        Int(cbpf_page_out_file_mappings())
    }
}

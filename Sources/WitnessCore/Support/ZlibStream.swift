import CBPF

/// A zlib deflate or inflate stream (CBPF's `cbpf_zstream`): recordings are written
/// and read through one, a buffer at a time.
package final class ZlibStream {
    /// What one `run` did.
    package struct Step {
        package var consumed: Int
        package var produced: Int
        /// zlib's status (0 ok, 1 stream end, negative: an error or no progress).
        package var status: Int32
    }

    private let stream: OpaquePointer

    /// nil when zlib could not allocate its state.
    package init?(inflate: Bool, level: Int32 = 6) {
        guard let stream = cbpf_zstream_new(inflate ? 1 : 0, level) else { return nil }
        self.stream = stream
    }

    deinit { cbpf_zstream_free(stream) }

    package func run(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finish: Bool = false
    ) -> Step {
        var consumed = 0
        var produced = 0
        let status = cbpf_zstream_run(
            stream, input.baseAddress, input.count, &consumed, output.baseAddress, output.count, &produced,
            finish ? 1 : 0)
        return Step(consumed: consumed, produced: produced, status: status)
    }

    /// Compressed bytes taken so far (inflate): where in the file an error is.
    var totalIn: UInt64 { cbpf_zstream_total_in(stream) }
}

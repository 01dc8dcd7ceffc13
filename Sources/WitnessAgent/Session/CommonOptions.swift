import ArgumentParser
import Glibc
import WitnessCore
import WitnessKernel

/// Options every witnessing command shares: where lines go and in what form, and
/// how big the kernel ring buffer is.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: json or text (default: text on a terminal, json otherwise).")
    var output: OutputFormat?

    @Option(name: [.customShort("o"), .customLong("output-file")], help: "Append lines to FILE instead of stdout.")
    var outputFile: String?

    @Option(name: .customLong("ring-buffer"), help: "Kernel ring buffer size (power of two): 256K, 2M, 64M.")
    var ringBuffer: String = "2M"

    @Option(name: .long, help: "Kernel BTF file, for kernels without /sys/kernel/btf/vmlinux.")
    var btf: String?

    @Flag(name: .long, help: "Show libbpf warnings (twice: debug output, verifier logs).")
    var verbose: Int

    func validate() throws {
        let bytes = try DurationParser.bytes(ringBuffer)
        guard bytes >= 4096, bytes & (bytes - 1) == 0 else {
            throw ValidationError("--ring-buffer must be a power of two of at least 4K, got \(ringBuffer)")
        }
    }

    var ringBufferBytes: Int { (try? DurationParser.bytes(ringBuffer)) ?? WitnessProbe.defaultRingBufferBytes }

    func makeSink() throws(AgentError) -> OutputSink {
        if let outputFile { return try OutputSink.appending(to: outputFile) }
        return OutputSink(fd: 1)
    }

    func format(for sink: OutputSink) -> OutputFormat {
        output ?? (isatty(sink.fd) == 1 ? .text : .json)
    }
}

extension OutputFormat: ExpressibleByArgument {}

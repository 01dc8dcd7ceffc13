import Glibc

/// Reads a recording (`RecordingFormat`) frame by frame. The file is untrusted: a
/// wrong magic, another layout version, a cut or corrupted stream, a frame that
/// overruns — each is one `AgentError` naming the file offset, never a crash.
package final class RecordingReader {
    package struct Frame {
        package var kind: RecordingFormat.Kind
        package var payload: [UInt8]
    }

    package let path: String
    package let layoutVersion: UInt16
    private let fd: Int32
    private let inflater: ZlibStream
    private var input = [UInt8](repeating: 0, count: 64 << 10)
    private var inputStart = 0
    private var inputEnd = 0
    private var inputEnded = false
    private var decoded: [UInt8] = []
    private var decodedStart = 0
    private var streamEnded = false
    /// Decompressed bytes handed out so far (frame offsets in errors).
    private var frameOffset = 0

    package init(path: String) throws(AgentError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AgentError.usage("cannot open recording '\(path)': \(String(cString: strerror(errno)))")
        }
        guard let inflater = ZlibStream(inflate: true) else {
            close(fd)
            throw AgentError.runtime("zlib: out of memory")
        }
        self.inflater = inflater
        var prefix = [UInt8](repeating: 0, count: RecordingFormat.prefixSize)
        let file = fd
        let count = prefix.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        guard count == RecordingFormat.prefixSize, Array(prefix[0..<8]) == RecordingFormat.magic else {
            close(fd)
            throw AgentError.usage("\(path): not a Witness recording (no WITREC header)")
        }
        var reader = ByteReader(Array(prefix[8...]))
        let format = (try? reader.u16("format")) ?? 0
        layoutVersion = (try? reader.u16("layout")) ?? 0
        // Every property is set from here: a throw runs deinit, which closes the file.
        guard format == RecordingFormat.formatVersion else {
            throw AgentError.usage(
                "\(path): recording format \(format); this agent reads format \(RecordingFormat.formatVersion)")
        }
        guard layoutVersion == RecordingFormat.layoutVersion else {
            throw AgentError.usage(
                "\(path): recorded with event layout \(layoutVersion); this agent reads layout \(RecordingFormat.layoutVersion)"
            )
        }
    }

    deinit { close(fd) }

    /// The next frame; nil at the end of the stream.
    package func next() throws(AgentError) -> Frame? {
        while true {
            let available = decoded.count - decodedStart
            if available >= 5 {
                let length = decoded[(decodedStart + 1)..<(decodedStart + 5)].reversed().reduce(0) { $0 << 8 | Int($1) }
                guard let kind = RecordingFormat.Kind(rawValue: decoded[decodedStart]),
                    length <= RecordingFormat.maxFrame
                else {
                    throw AgentError.usage("\(path): corrupt: bad frame at byte \(frameOffset) of the stream")
                }
                if available >= 5 + length {
                    let payload = Array(decoded[(decodedStart + 5)..<(decodedStart + 5 + length)])
                    decodedStart += 5 + length
                    frameOffset += 5 + length
                    return Frame(kind: kind, payload: payload)
                }
            }
            if streamEnded {
                guard available == 0 else {
                    throw AgentError.usage("\(path): truncated: the stream ends inside a frame at byte \(frameOffset)")
                }
                return nil
            }
            try inflateMore()
        }
    }

    private func inflateMore() throws(AgentError) {
        if decodedStart > 0 {
            decoded.removeFirst(decodedStart)
            decodedStart = 0
        }
        if inputStart == inputEnd && !inputEnded {
            let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count >= 0 else {
                throw AgentError.runtime("\(path): read failed: \(String(cString: strerror(errno)))")
            }
            inputStart = 0
            inputEnd = count
            inputEnded = count == 0
        }
        let offset = RecordingFormat.prefixSize + Int(inflater.totalIn)
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        let step = input.withUnsafeBytes { bytes in
            chunk.withUnsafeMutableBytes {
                inflater.run(UnsafeRawBufferPointer(rebasing: bytes[inputStart..<inputEnd]), into: $0)
            }
        }
        inputStart += step.consumed
        decoded.append(contentsOf: chunk[..<step.produced])
        switch step.status {
        case 1:
            streamEnded = true
        case 0:
            break
        case -5 where inputEnded:
            throw AgentError.usage("\(path): truncated: the file ends at byte \(offset) inside the compressed stream")
        case -5:
            break
        default:
            throw AgentError.usage("\(path): corrupt: the compressed stream is damaged near byte \(offset)")
        }
        if step.consumed == 0 && step.produced == 0 && inputEnded && !streamEnded {
            throw AgentError.usage("\(path): truncated: the file ends at byte \(offset) inside the compressed stream")
        }
    }
}

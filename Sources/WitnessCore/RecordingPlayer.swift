/// Plays a recording into a pipeline: records are handled as the live window handled
/// them, and the frames around them put back what the live pipeline took from the
/// machine — the process table as it was, each /proc read in order, cgroup
/// identities, files open for writing at the start, executables' hashes. Used by
/// `replay` and by the consumer benchmark on recorded workloads.
public final class RecordingPlayer {
    public let path: String
    public let metadata: RecordingMetadata
    /// The end frame, once played.
    public private(set) var end: RecordingEnd?
    /// Records handled.
    public private(set) var records = 0
    private let reader: RecordingReader
    private var reads: [Int32: [ProcessRecord?]] = [:]

    /// Opens `path` and reads its metadata.
    public init(path: String) throws(AgentError) {
        self.path = path
        reader = try RecordingReader(path: path)
        guard let first = try reader.next(), first.kind == .meta else {
            throw AgentError.usage("\(path): corrupt: the recording does not begin with its metadata")
        }
        do { metadata = try RecordingMetadata(first.payload) } catch {
            throw AgentError.usage("\(path): corrupt metadata at byte \(error.offset) (\(error.what))")
        }
    }

    /// The subject slot the live window had (a node window's records carry its bit).
    public var slot: Int { Int(metadata["slot"] ?? "0").flatMap { (0..<64).contains($0) ? $0 : nil } ?? 0 }

    /// The live run's clock: alert times come out as they did.
    public var clock: WallClock { WallClock(offset: Int64(metadata["clockOffset"] ?? "") ?? WallClock().offset) }

    /// A process table that reads no /proc: what the live run read comes from here.
    public func makeProcessTable() -> ProcessTable {
        let processes = ProcessTable(procRoot: "/nonexistent/witness-replay")
        processes.procSource = { [unowned self] pid in
            guard var list = reads[pid], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            reads[pid] = list.isEmpty ? nil : list
            return first
        }
        return processes
    }

    /// Every frame left, read into memory (the benchmark plays them without inflating).
    public func remainingFrames() throws(AgentError) -> [RecordingReader.Frame] {
        var frames: [RecordingReader.Frame] = []
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }

    /// Plays every frame left into `pipeline` (built on `makeProcessTable()` and `identities`).
    public func play(into pipeline: EventPipeline, identities: CgroupIdentities) throws(AgentError) {
        while let frame = try reader.next() { try apply(frame, to: pipeline, identities: identities) }
        guard end != nil else { throw AgentError.usage("\(path): truncated: the recording has no end frame") }
    }

    public func apply(
        _ frame: RecordingReader.Frame, to pipeline: EventPipeline, identities: CgroupIdentities
    ) throws(AgentError) {
        do {
            try decode(frame, pipeline: pipeline, identities: identities)
        } catch {
            throw AgentError.usage("\(path): corrupt \(frame.kind) frame at byte \(error.offset) (\(error.what))")
        }
    }

    private func decode(
        _ frame: RecordingReader.Frame, pipeline: EventPipeline, identities: CgroupIdentities
    ) throws(ByteReader.Malformed) {
        var reader = ByteReader(frame.payload)
        switch frame.kind {
        case .meta:
            throw ByteReader.Malformed(offset: 0, what: "a second metadata frame")
        case .record:
            records += 1
            frame.payload.withUnsafeBytes { pipeline.handle($0) }
        case .snapshot:
            pipeline.processes.insert(try ProcessRecord(decoding: &reader))
        case .procRead:
            let record = try ProcessRecord(decoding: &reader)
            reads[record.pid, default: []].append(record)
        case .procMissing:
            reads[Int32(bitPattern: try reader.u32("pid")), default: []].append(nil)
        case .identity:
            let id = try reader.u64("cgroup id")
            let hasContainer = try reader.optional("container") != nil
            let container = try reader.data("container", max: 256)
            let hasPod = try reader.optional("pod") != nil
            let pod = try reader.data("pod", max: 256)
            identities.seed(id, CgroupIdentity(containerID: hasContainer ? container : nil, podUID: hasPod ? pod : nil))
        case .written:
            let subjects = try reader.u64("subjects")
            let file = FileID(device: try reader.u32("device"), inode: try reader.u64("inode"))
            let path = try reader.data("path")
            let program = try reader.data("writer")
            _ = path.withUnsafeBufferPointer {
                pipeline.droppedFiles.record(file: file, path: $0, writer: program, subjects: subjects)
            }
        case .hash:
            let file = FileID(device: try reader.u32("device"), inode: try reader.u64("inode"))
            let path = try reader.data("path")
            let failed = try reader.u8("outcome") != 0
            let text = try reader.string("outcome")
            pipeline.profiles.hasher.recorded(file: file, path: path, outcome: failed ? .failed(text) : .digest(text))
        case .end:
            end = try RecordingEnd(frame.payload)
        }
    }
}

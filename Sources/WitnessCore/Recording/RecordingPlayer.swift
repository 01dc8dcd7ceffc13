/// Plays a recording into a pipeline: records are handled as the live window handled
/// them, and the frames around them put back what the live pipeline took from the
/// machine — the process table as it was, each /proc read in order, cgroup
/// identities, files open for writing at the start, executables' hashes. Used by
/// `replay` and by the consumer benchmark on recorded workloads.
package final class RecordingPlayer {
    package let path: String
    package let metadata: RecordingMetadata
    /// The end frame, once played.
    package private(set) var end: RecordingEnd?
    /// Records handled.
    package private(set) var records = 0
    /// The profile the live window was held to, and its drift priority (`baseline`
    /// frame); a replay holds its window to it unless told otherwise.
    package private(set) var baseline: RuntimeProfile?
    package private(set) var driftPriority = Priority.warning
    /// Set by the caller: hold the replayed window to this instead of the recorded baseline.
    package var baselineOverride: RuntimeProfile?
    private let reader: RecordingReader
    /// /proc reads waiting to be asked for, by pid, oldest first (`head`: the next).
    private var reads: [Int32: (list: [ProcessRecord?], head: Int)] = [:]
    private var queuedReads = 0
    /// A hostile file could queue reads nothing asks for: beyond this it is refused.
    package static let maxQueuedReads = 1 << 20

    /// Opens `path` and reads its metadata.
    package init(path: String) throws(AgentError) {
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
    package var slot: Int { Int(metadata["slot"] ?? "0").flatMap { (0..<64).contains($0) ? $0 : nil } ?? 0 }

    /// The live run's clock: alert times come out as they did.
    package var clock: WallClock {
        // Untrusted: an offset past a few centuries would overflow the time arithmetic.
        guard let offset = Int64(metadata["clockOffset"] ?? ""), abs(offset) < Int64(1) << 62 else {
            return WallClock()
        }
        return WallClock(offset: offset)
    }

    /// A process table that reads no /proc: what the live run read comes from here.
    package func makeProcessTable() -> ProcessTable {
        let processes = ProcessTable(procRoot: "/nonexistent/witness-replay")
        processes.procSource = { [unowned self] pid in
            guard var queue = reads[pid], queue.head < queue.list.count else { return nil }
            let first = queue.list[queue.head]
            queue.head += 1
            queuedReads -= 1
            reads[pid] = queue.head == queue.list.count ? nil : queue
            return first
        }
        return processes
    }

    /// Starts the replayed window's profile, held to the baseline that applies.
    package func beginProfile(_ pipeline: EventPipeline) {
        let held = baselineOverride ?? baseline
        pipeline.beginProfile(
            slot: slot, WindowProfiles.Settings(baseline: held.map(ProfileBaseline.init), driftPriority: driftPriority))
    }

    /// Every frame left, read into memory (the benchmark plays them without inflating).
    package func remainingFrames() throws(AgentError) -> [RecordingReader.Frame] {
        var frames: [RecordingReader.Frame] = []
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }

    /// Plays every frame left into `pipeline` (built on `makeProcessTable()` and `identities`).
    package func play(into pipeline: EventPipeline, identities: CgroupIdentities) throws(AgentError) {
        while let frame = try reader.next() { try apply(frame, to: pipeline, identities: identities) }
        guard end != nil else { throw AgentError.usage("\(path): truncated: the recording has no end frame") }
    }

    package func apply(
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
            try queue(record, for: record.pid)
        case .baseline:
            guard records == 0 else { throw ByteReader.Malformed(offset: 0, what: "a baseline after the first record") }
            driftPriority = Priority(rawValue: Int(try reader.u8("priority"))) ?? .warning
            do {
                baseline = try ProfileReader.parse(Array(frame.payload.dropFirst()))
            } catch {
                throw ByteReader.Malformed(offset: 1, what: "baseline: \(error.message)")
            }
            beginProfile(pipeline)
        case .forget:
            pipeline.processes.exit(Int32(bitPattern: try reader.u32("pid")))
        case .procMissing:
            try queue(nil, for: Int32(bitPattern: try reader.u32("pid")))
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
                pipeline.writtenFiles.record(file: file, path: $0, writer: program, subjects: subjects)
            }
        case .hash:
            let time = try reader.u64("time")
            let file = FileID(device: try reader.u32("device"), inode: try reader.u64("inode"))
            let path = try reader.data("path")
            let failed = try reader.u8("outcome") != 0
            let text = try reader.string("outcome")
            pipeline.profiles.hasher.recorded(file: file, path: path, outcome: failed ? .failed(text) : .digest(text))
            pipeline.applyProfileArrivals(at: time)
        case .end:
            end = try RecordingEnd(frame.payload)
        }
    }

    private func queue(_ record: ProcessRecord?, for pid: Int32) throws(ByteReader.Malformed) {
        guard queuedReads < Self.maxQueuedReads else {
            throw ByteReader.Malformed(offset: 0, what: "more than \(Self.maxQueuedReads) /proc reads never asked for")
        }
        queuedReads += 1
        reads[pid, default: ([], 0)].list.append(record)
    }
}

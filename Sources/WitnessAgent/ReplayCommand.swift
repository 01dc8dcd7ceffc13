import ArgumentParser
import Glibc
import WitnessCore
import WitnessRules

/// `witness-agent replay FILE`: runs a recording's records through the pipeline a
/// live window uses — with the rules it was recorded with, the same alerts in the
/// same order; with other rules, the window re-scored — and prints the alerts (every
/// event with --events) and the testimony. Loads no BPF: needs no privilege.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a recording (witness --record) through the rules again and print alerts and the testimony.")

    @Argument(help: "A recording written by witness --record or a node window with record: true.")
    var file: String

    @Flag(name: .long, help: "Also print every recorded event, as trace does.")
    var events = false

    @Option(name: .long, help: "Output format: json or text (default: text on a terminal, json otherwise).")
    var output: OutputFormat?

    @OptionGroup var rules: RulesOptions

    func run() throws {
        let reader = try RecordingReader(path: file)
        guard let first = try reader.next(), first.kind == .meta else {
            throw AgentError.usage("\(file): corrupt: the recording does not begin with its metadata")
        }
        let meta: RecordingMetadata
        do { meta = try RecordingMetadata(first.payload) } catch {
            throw AgentError.usage("\(file): corrupt metadata at byte \(error.offset) (\(error.what))")
        }
        let sink = OutputSink(fd: 1)
        let format = output ?? (isatty(1) == 1 ? .text : .json)
        let clock = WallClock(offset: Int64(meta["clockOffset"] ?? "") ?? WallClock().offset)
        let processes = ProcessTable(procRoot: "/nonexistent/witness-replay")
        let reads = RecordedReads()
        processes.procSource = { reads.next($0) }
        let identities = CgroupIdentities(mountPoint: nil)
        let assembly = PipelineAssembly(
            loaded: try rules.load(), sink: sink, format: format, colour: format == .text && isatty(1) == 1,
            printsEvents: events, hostname: Array((meta["hostname"] ?? "").utf8), clock: clock, processes: processes,
            identities: identities)
        let pipeline = assembly.pipeline
        // A node window's records carry its slot's bit.
        let slot = Int(meta["slot"] ?? "0").flatMap { (0..<64).contains($0) ? $0 : nil } ?? 0
        pipeline.label(slot: slot, as: meta["label"] ?? "\(meta["subjectKind"] ?? "subject"):\(meta["subjectValue"] ?? "")")
        pipeline.profiles.replaying()
        pipeline.beginProfile(slot: slot, WindowProfiles.Settings())
        var end: RecordingEnd?
        var handled = 0
        let started = WallClock.bootNow()
        while let frame = try reader.next() {
            do {
                try apply(frame, pipeline: pipeline, reads: reads, identities: identities, end: &end)
            } catch {
                throw AgentError.usage("\(file): corrupt \(frame.kind) frame at byte \(error.offset) (\(error.what))")
            }
            if frame.kind == .record { handled += 1 }
        }
        guard let end else { throw AgentError.usage("\(file): truncated: the recording has no end frame") }
        let seconds = Double(WallClock.bootNow() - started) / 1e9
        pipeline.flush()
        let syscalls = SyscallProfile(counts: end.syscalls)
        let profile = pipeline.finishProfile(slot: slot, syscalls: syscalls)
        pipeline.flush()
        let (alerts, byRule) = assembly.alerts(driftAlerts: pipeline.driftAlerts[slot], driftPriority: .warning)
        let statement = Testimony(
            trialID: (meta["trialId"] ?? "").isEmpty ? nil : meta["trialId"], subjectKind: meta["subjectKind"] ?? "",
            subjectValue: meta["subjectValue"] ?? "", startEpochNanoseconds: clock.epochNanoseconds(boot: end.startBootTime),
            endEpochNanoseconds: clock.epochNanoseconds(boot: end.endBootTime), sostle: nil, events: pipeline.counts,
            alerts: alerts, rules: byRule, kernelDrops: end.kernelDrops,
            agentDrops: end.agentDrops + end.skipped + pipeline.counts.undecodable,
            end: WindowEnd(rawValue: end.endReason) ?? .failed,
            requestedMilliseconds: Int64(meta["requestedMilliseconds"] ?? ""), profile: profile, coverage: end.coverage)
        pipeline.writeLine(statement.json())
        FileHandleWriter.standardError(
            "witness-agent: replayed \(handled) records in \((seconds * 1000).rounded() / 1000) s (\(seconds > 0 ? Int(Double(handled) / seconds) : 0) records/s) from \(file)\(end.skipped > 0 ? "; \(end.skipped) records were left out when it was recorded (size limit): the testimony is incomplete" : "")\n")
    }

    private func apply(
        _ frame: RecordingReader.Frame, pipeline: EventPipeline, reads: RecordedReads, identities: CgroupIdentities,
        end: inout RecordingEnd?
    ) throws(ByteReader.Malformed) {
        var reader = ByteReader(frame.payload)
        switch frame.kind {
        case .meta:
            throw ByteReader.Malformed(offset: 0, what: "a second metadata frame")
        case .record:
            frame.payload.withUnsafeBytes { pipeline.handle($0) }
        case .snapshot:
            pipeline.processes.insert(try ProcessRecord(decoding: &reader))
        case .procRead:
            let record = try ProcessRecord(decoding: &reader)
            reads.add(record.pid, record)
        case .procMissing:
            reads.add(Int32(bitPattern: try reader.u32("pid")), nil)
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

/// The /proc reads a recording holds, handed out in the order the live run made them.
final class RecordedReads {
    private var queued: [Int32: [ProcessRecord?]] = [:]

    func add(_ pid: Int32, _ record: ProcessRecord?) { queued[pid, default: []].append(record) }

    func next(_ pid: Int32) -> ProcessRecord? {
        guard var list = queued[pid], !list.isEmpty else { return nil }
        let first = list.removeFirst()
        queued[pid] = list.isEmpty ? nil : list
        return first
    }
}

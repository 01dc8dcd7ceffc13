import Glibc
import WitnessCore
import WitnessRules

/// The consumer on a recorded real workload (`witness --record`): the recording's
/// frames are read into memory, then played through fresh pipelines — decode only,
/// the default rules with alert JSON, and the same with the runtime profile — until
/// each stage has handled at least a million records. Prints one JSON object.
enum RecordedWorkload {
    static func main(path: String) {
        let frames: [RecordingReader.Frame]
        let player: RecordingPlayer
        do {
            player = try RecordingPlayer(path: path)
            frames = try player.remainingFrames()
        } catch {
            BenchFailure.fail(error.message)
        }
        let records = frames.filter { $0.kind == .record }
        guard !records.isEmpty else { BenchFailure.fail("\(path): no records") }
        let rules = RulesLoader.load(RulesLoader.defaultSources()).rules
        let sink = OutputSink(fd: open("/dev/null", O_WRONLY))
        let passes = max(1, 1_000_000 / records.count)

        func measure(_ body: () -> Void) -> Double {
            let start = WallClock.bootNow()
            body()
            return Double(passes * records.count) / (Double(WallClock.bootNow() - start) / 1e9)
        }

        var results: [(String, Double)] = []
        results.append(
            (
                "decode",
                measure {
                    for _ in 0..<passes {
                        for frame in records { frame.payload.withUnsafeBytes { _ = try? EventDecoder.decode($0) } }
                    }
                }
            ))
        for profiled in [false, true] {
            let rate = measure {
                for _ in 0..<passes {
                    // Each pass as the live window: a fresh pipeline, the recording's process table and reads.
                    let pass = try? RecordingPlayer(path: path)
                    guard let pass else { return }
                    let identities = CgroupIdentities(mountPoint: nil)
                    let processes = pass.makeProcessTable()
                    let clock = pass.clock
                    let pipeline = EventPipeline(
                        sink: sink, format: .json, printsEvents: false, hostname: Array("node".utf8), clock: clock,
                        processes: processes,
                        classifier: RuleEngine(rules: rules), identities: identities)
                    if profiled {
                        pipeline.profiles.replaying()
                        pipeline.beginProfile(slot: pass.slot, WindowProfiles.Settings())
                    }
                    for frame in frames { try? pass.apply(frame, to: pipeline, identities: identities) }
                    pipeline.flush()
                }
            }
            results.append((profiled ? "decode+rules+alert JSON+profile" : "decode+rules+alert JSON", rate))
        }
        var line = "{\"records\":\(records.count),\"passes\":\(passes),\"eventsPerSecond\":{"
        line += results.map { "\"\($0.0)\":\(Int($0.1))" }.joined(separator: ",")
        line += "}}"
        print(line)
    }
}

/// One line on stderr and exit 2.
enum BenchFailure {
    static func fail(_ message: String) -> Never {
        var text = "WitnessBench: \(message)\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}

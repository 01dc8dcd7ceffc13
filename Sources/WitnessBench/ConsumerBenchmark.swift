import Glibc
import WitnessCore
import WitnessRules
import WitnessTestSupport

/// Measures what one core of the consumer sustains without the kernel: records
/// built byte for byte like the kernel's, pushed through decode, the process table,
/// the default rules and the JSON encoder, output to /dev/null. Prints one JSON
/// object of events per second per stage, for bench/run.
@main
struct ConsumerBenchmark {
    static func main() {
        if CommandLine.arguments.count > 2, CommandLine.arguments[1] == "--recording" {
            return RecordedWorkload.main(path: CommandLine.arguments[2])
        }
        if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "--sha256" {
            let mebibytes = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 256 : 256
            return DigestWorkload.main(mebibytes: mebibytes)
        }
        // `WitnessBench [COUNT] [STAGE] [--rules FILE]...`: a stage's name runs just that
        // stage (to profile it); `--rules` loads those files instead of the default rules.
        var positional: [String] = []
        var rulesFiles: [String] = []
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            if argument == "--rules", let file = arguments.popFirst() {
                rulesFiles.append(file)
            } else {
                positional.append(argument)
            }
        }
        let count = positional.first.flatMap { Int($0) } ?? 2_000_000
        let only = positional.count > 1 ? positional[1] : nil
        // A realistic mix: mostly opens (library loads, config reads), some connects and execs;
        // one open in 200 reads a sensitive file and fires a rule.
        var records: [[UInt8]] = []
        for index in 0..<1000 {
            switch index % 50 {
            case 0:
                records.append(
                    RecordFixture.exec(filename: "/usr/bin/curl", argv: ["curl", "-s", "http://10.0.0.1/"]).bytes)
            case 1, 2:
                records.append(
                    RecordFixture.connect(
                        sockaddr: RecordFixture.sockaddrIPv4(10, 0, 0, 1, port: 443), local: [10, 0, 0, 2],
                        localPort: 40000
                    ).bytes)
            default:
                let path = index % 200 == 3 ? "/etc/shadow" : "/usr/lib/x86_64-linux-gnu/libc.so.\(index % 7)"
                records.append(RecordFixture.open(path: Array(path.utf8), flags: 0o2000000, result: 3).bytes)
            }
        }
        let processes = ProcessTable(procRoot: "/nonexistent")
        processes.insert(
            ProcessRecord(
                pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8),
                argv: Array("cat\0x\0".utf8)))
        processes.insert(
            ProcessRecord(
                pid: 1, ppid: 0, name: Array("bash".utf8), exePath: Array("/bin/bash".utf8), argv: Array("bash\0".utf8))
        )
        let sink = OutputSink(fd: open("/dev/null", O_WRONLY))
        let clock = WallClock()
        let sources: [RulesSource]
        do {
            sources = rulesFiles.isEmpty ? RulesLoader.defaultSources() : try RulesLoader.sources(paths: rulesFiles)
        } catch {
            print("WitnessBench: \(error)")
            exit(2)
        }
        let rules = RulesLoader.load(sources).rules

        func measure(_ name: String, _ body: ([UInt8]) -> Void) -> (String, Double) {
            if let only, only != name { return (name, 0) }
            var start = timespec()
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            for index in 0..<count { body(records[index % records.count]) }
            clock_gettime(CLOCK_MONOTONIC, &end)
            let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
            return (name, Double(count) / seconds)
        }

        var results: [(String, Double)] = []
        results.append(
            measure("decode") { record in
                record.withUnsafeBytes { _ = try? EventDecoder.decode($0) }
            })
        let counting = EventPipeline(
            sink: sink, format: .json, printsEvents: false, hostname: [], clock: clock, processes: processes)
        results.append(measure("decode+process table") { record in record.withUnsafeBytes { counting.handle($0) } })
        let engine = RuleEngine(rules: rules)
        let alerting = EventPipeline(
            sink: sink, format: .json, printsEvents: false, hostname: Array("node".utf8), clock: clock,
            processes: processes,
            classifier: engine)
        results.append(measure("decode+rules+alert JSON") { record in record.withUnsafeBytes { alerting.handle($0) } })
        alerting.flush()
        let everything = EventPipeline(
            sink: sink, format: .json, printsEvents: true, hostname: Array("node".utf8), clock: clock,
            processes: processes,
            classifier: RuleEngine(rules: rules))
        results.append(
            measure("decode+rules+every event as JSON") { record in record.withUnsafeBytes { everything.handle($0) } })
        everything.flush()
        let profiling = EventPipeline(
            sink: sink, format: .json, printsEvents: false, hostname: Array("node".utf8), clock: clock,
            processes: processes,
            classifier: RuleEngine(rules: rules))
        profiling.beginProfile(slot: 0, WindowProfiles.Settings())
        results.append(
            measure("decode+rules+alert JSON+profile") { record in record.withUnsafeBytes { profiling.handle($0) } })
        profiling.flush()

        var line = "{\"events\":\(count),\"rules\":\(rules.count),\"eventsPerSecond\":{"
        line += results.filter { $0.1 > 0 }.map { "\"\($0.0)\":\(Int($0.1))" }.joined(separator: ",")
        line += "}}"
        print(line)
    }
}

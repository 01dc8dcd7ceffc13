import Foundation
import Testing

/// Every test here loads the real BPF object into the running kernel. They run one
/// at a time, so that counting the kernel's loaded programs before and after a run
/// says something about that run alone. A test that hangs fails after its time
/// limit instead of holding up the whole run.
@Suite("Real kernel", .serialized, .timeLimit(.minutes(4)))
struct RealKernelTests {
    func field(_ event: [String: Any], _ name: String) -> String? {
        event[name].map { "\($0)" }
    }

    @Test func traceCommandSeesExecOpensConnectsAndGrandchildren() throws {
        let dir = try Scratch.directory("trace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tag = UUID().uuidString.prefix(8)
        let binary = dir.appendingPathComponent("witness-uniq-\(tag)").path
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: binary)
        let opened = dir.appendingPathComponent("opened-\(tag)").path
        let missing = dir.appendingPathComponent("missing-\(tag)").path
        let grandchild = dir.appendingPathComponent("grandchild-\(tag)").path
        try Scratch.write(opened, Data("x".utf8))
        try Scratch.write(grandchild, Data("x".utf8))
        let connect = { (family: String, host: String, portFile: String) in
            """
            python3 -c 'import socket; l=socket.socket(socket.\(family)); l.bind(("\(host)",0)); l.listen(1); \
            c=socket.socket(socket.\(family)); c.connect(l.getsockname()); \
            open("\(portFile)","w").write(str(l.getsockname()[1]))'
            """
        }
        let port4 = dir.appendingPathComponent("port4").path
        let port6 = dir.appendingPathComponent("port6").path
        let script = """
            \(binary)
            cat \(opened) > /dev/null
            cat \(missing) 2> /dev/null
            \(connect("AF_INET", "127.0.0.1", port4))
            \(connect("AF_INET6", "::1", port6))
            sh -c 'cat \(grandchild) > /dev/null'
            exit 7
            """
        let result = try Agent.run(["trace", "--output", "json", "--", "sh", "-c", script])
        #expect(result.status == 7, "trace exits with the command's status: \(result.stderr)")
        #expect(result.stderr.contains("lost 0 in kernel, 0 in agent"))
        let events = result.events()

        let exec = try #require(
            events.first { field($0, "evt.type") == "execve" && field($0, "proc.exepath") == binary })
        #expect(field(exec, "evt.res") == "SUCCESS")
        #expect(field(exec, "proc.name") == String("witness-uniq-\(tag)".prefix(15)))
        #expect(field(exec, "proc.pname") == "sh")
        #expect(field(exec, "proc.cmdline") == String("witness-uniq-\(tag)".prefix(15)))

        let open = try #require(events.first { field($0, "fd.name") == opened })
        #expect(field(open, "evt.type") == "openat")
        #expect(field(open, "evt.res") == "SUCCESS")
        #expect(Int(field(open, "fd.num") ?? "") ?? -1 >= 0)
        #expect(field(open, "proc.name") == "cat")
        #expect(field(open, "proc.cmdline") == "cat \(opened)")
        #expect(field(open, "evt.arg.flags")?.hasPrefix("O_RDONLY") == true)

        let failed = try #require(events.first { field($0, "fd.name") == missing })
        #expect(field(failed, "evt.res") == "ENOENT")
        #expect(field(failed, "evt.rawres") == "-2")

        for (portFile, host) in [(port4, "127.0.0.1"), (port6, "::1")] {
            let port = try String(contentsOfFile: portFile, encoding: .utf8)
            let connect = try #require(
                events.first { field($0, "evt.type") == "connect" && field($0, "fd.sport") == port },
                "connect to \(host):\(port)")
            #expect(field(connect, "fd.sip") == host)
            #expect(field(connect, "fd.cip") == host)
            #expect(field(connect, "evt.res") == "SUCCESS")
            #expect(field(connect, "fd.name")?.hasSuffix("->\(host):\(port)") == true)
            #expect(field(connect, "fd.typechar") == (host == "::1" ? "6" : "4"))
        }

        let deep = try #require(events.first { field($0, "fd.name") == grandchild })
        #expect(field(deep, "proc.pname") == "sh")
        #expect(events.contains { field($0, "evt.type") == "procexit" })
        #expect(Agent.witnessProgramsLeft() == 0, "every program detached")
    }

    @Test func tracePidFollowsALiveTreeUntilInterrupted() throws {
        let dir = try Scratch.directory("pid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let go = dir.appendingPathComponent("go").path
        let first = dir.appendingPathComponent("first").path
        let child = dir.appendingPathComponent("child").path
        try Scratch.write(first, Data())
        try Scratch.write(child, Data())
        let subject = Process()
        subject.executableURL = URL(fileURLWithPath: "/bin/sh")
        subject.arguments = ["-c", "while [ ! -e \(go) ]; do sleep 0.02; done; cat \(first); sh -c 'cat \(child)'"]
        subject.standardOutput = FileHandle.nullDevice
        subject.standardError = FileHandle.nullDevice
        try subject.run()
        // Whatever happens, the subject must not outlive the test (it would hold it open).
        defer { if subject.isRunning { subject.terminate() } }

        let agent = try RunningAgent(["trace", "--pid", "\(subject.processIdentifier)"])
        try agent.waitUntilAttached()
        try Scratch.write(go, Data())
        try subject.waitForExit()
        usleep(100_000)
        agent.signal(SIGINT)
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let names = result.events().compactMap { field($0, "fd.name") }
        let sawFirst = names.contains(first)
        let sawChild = names.contains(child)
        #expect(sawFirst && sawChild)
        #expect(result.stderr.contains("detached"))
    }

    @Test func witnessCgroupScopesToTheSubjectAndItsDescendants() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        defer {
            rmdir(cgroup + "/sub")
            rmdir(cgroup)
        }
        let dir = try Scratch.directory("cgroup")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try ["inside", "descendant", "subcgroup", "outside"].map { name -> String in
            let path = dir.appendingPathComponent("\(name)-marker").path
            try Scratch.write(path, Data())
            return path
        }
        let agent = try RunningAgent([
            "witness", "--cgroup", cgroup, "--window", "3s", "--events", "--trial-id", "TRB-TEST-1", "--output", "json",
        ])
        try agent.waitUntilAttached()
        // A sub-cgroup created after the window opened is covered too.
        try FileManager.default.createDirectory(atPath: cgroup + "/sub", withIntermediateDirectories: false)
        try Scratch.shell(
            """
            echo $$ > \(cgroup)/cgroup.procs
            cat \(files[0])
            sh -c 'cat \(files[1])'
            sh -c 'echo $$ > \(cgroup)/sub/cgroup.procs; cat \(files[2])'
            """)
        try Scratch.shell("cat \(files[3])")
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.jsonLines()
        let names = lines.compactMap { $0["output_fields"] as? [String: Any] }.compactMap { field($0, "fd.name") }
        let seen = files.map { names.contains($0) }
        #expect(seen[0], "the subject itself")
        #expect(seen[1], "a descendant process")
        #expect(seen[2], "a process in a sub-cgroup created after the window opened")
        #expect(!seen[3], "a process outside the cgroup")

        let testimony = try #require(lines.last)
        #expect(testimony["trialId"] as? String == "TRB-TEST-1")
        #expect(testimony["complete"] as? Bool == true)
        let events = try #require(testimony["events"] as? [String: Any])
        #expect((events["total"] as? Int ?? 0) >= 3)
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["verdictHint"] as? String == "ADMIT")
        #expect((testimony["window"] as? [String: Any])?["cutShort"] as? Bool == false)
        #expect(Agent.witnessProgramsLeft() == 0)
    }

    @Test func sigtermEndsAWindowEarlyWithTestimony() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        defer { rmdir(cgroup) }
        let agent = try RunningAgent(["witness", "--cgroup", cgroup, "--window", "60s"])
        try agent.waitUntilAttached()
        agent.signal(SIGTERM)
        let result = try agent.finish(timeout: 10)
        #expect(result.status == 0)
        let testimony = try #require(result.jsonLines().last)
        #expect((testimony["window"] as? [String: Any])?["cutShort"] as? Bool == true)
        #expect((testimony["window"] as? [String: Any])?["endReason"] as? String == "shutdown")
        #expect(
            (testimony["gate"] as? [String: Any])?["passed"] as? Bool == false,
            "a window the agent cut short never passes")
        #expect((testimony["gate"] as? [String: Any])?["bonus"] as? Double == 0)
        #expect(result.stderr.contains("detached"))
    }

    @Test func hostileFileNamesGiveValidJSON() throws {
        let dir = try Scratch.directory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names: [[UInt8]] = [
            Array("new\nline".utf8), Array("quo\"te".utf8), Array("back\\slash".utf8), Array("tab\there".utf8),
            Array("esc\u{1B}[31m".utf8), Array("inv".utf8) + [0xFF, 0xFE], Array("ok-ünïcødé".utf8),
        ]
        for name in names { try Scratch.createFile(in: dir, named: name) }
        let long = "/tmp/" + String(repeating: "L", count: 5000)
        let nearLimit = "/tmp/" + String(repeating: "n/", count: 1990) + "end"  // 3988 bytes, ENOENT
        let result = try Agent.run([
            "trace", "--output", "json", "--", "sh", "-c",
            "cd \(dir.path) && cat -- * > /dev/null; cat \(long) 2>/dev/null; cat \(nearLimit) 2>/dev/null; true",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.jsonLines()
        let events = lines.compactMap { $0["output_fields"] as? [String: Any] }
        let opened = Set(events.compactMap { field($0, "fd.name") })
        let expected = [
            "new\nline", "quo\"te", "back\\slash", "tab\there", "esc\u{1B}[31m", "inv\u{FFFD}\u{FFFD}", "ok-ünïcødé",
        ]
        for name in expected {
            let seen = opened.contains(dir.path + "/" + name)
            #expect(seen, "open of \(name.debugDescription)")
        }
        let keptWhole = opened.contains(nearLimit)
        #expect(keptWhole, "a path under 4 KiB is kept whole")
        let cut = try #require(
            lines.first { ($0["output_fields"] as? [String: Any])?["evt.res"] as? String == "ENAMETOOLONG" })
        let cutName = try #require((cut["output_fields"] as? [String: Any])?["fd.name"] as? String)
        let cutRight = cutName.utf8.count == 4096 && long.hasPrefix(cutName)
        #expect(cutRight, "a path over 4 KiB is cut at 4096 bytes")
        #expect((cut["truncated"] as? [String])?.contains("path") == true)
        let longExec = lines.first {
            ($0["output_fields"] as? [String: Any])?["evt.type"] as? String == "execve"
                && (($0["output_fields"] as? [String: Any])?["proc.cmdline"] as? String)?.contains("LLLL") == true
        }
        #expect((longExec?["truncated"] as? [String])?.contains("args") == true, "argv over 4 KiB is flagged")
    }

    @Test(arguments: [
        (["trace", "--pid", "999999"], "no process with pid 999999"),
        (["trace", "--pid", "-3"], "--pid"),
        (["trace"], "trace needs --pid PID or -- COMMAND"),
        (["trace", "--", "/no/such/command"], "command not found"),
        (["witness", "--cgroup", "/no-such-cgroup-here/../x", "--window", "1s"], "cannot wait for cgroup"),
        (["witness", "--container-id", "abcdef0123456789", "--window", "1s"], "full 64-digit id"),
        (["witness", "--cgroup", "/", "--arm-deadline", "soon"], "bad duration 'soon'"),
        (["witness", "--cgroup", "/", "--window", "10parsecs"], "bad duration '10parsecs'"),
        (["witness", "--window", "1s"], "exactly one subject"),
        (["witness", "--cgroup", "/", "--sostle", "L9"], "bad SOSTLE level"),
        (["trace", "--btf", "/no/such/btf", "--", "true"], "BTF file /no/such/btf is missing"),
        (["trace", "--ring-buffer", "3M", "--", "true"], "power of two"),
        (["no-such-subcommand"], "Unexpected argument"),
    ])
    func badInputIsOneLineAndExitTwo(_ arguments: [String], _ message: String) throws {
        let result = try Agent.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("witness-agent: "))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func withoutPrivilegesTheAgentSaysSoAndExitsTwo() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Agent.binary, "trace", "--", "true"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try process.waitForExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 2)
        #expect(text.contains("needs root, or CAP_BPF and CAP_PERFMON"), "\(text)")
        #expect(text.split(separator: "\n").count == 1)
    }

    func cgroupMount() throws -> String {
        let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        for line in mountinfo.split(separator: "\n") where line.contains(" - cgroup2 ") {
            return String(line.split(separator: " ")[4])
        }
        throw CancellationError()
    }
}

extension RealKernelTests {
    /// proc.vpid is the pid a process has in its own PID namespace: the first
    /// program of a new namespace is 1 (Falco's container_started uses that), what
    /// it starts is 2; the traced shell outside it is neither.
    @Test func vpidIsThePidInTheProcesssOwnNamespace() throws {
        let dir = try Scratch.directory("vpid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules.yaml").path
        try Scratch.write(
            rules,
            Data(
                """
                - rule: Namespace init
                  desc: test rule on the first program of a PID namespace
                  condition: evt.type = execve and evt.res = SUCCESS and proc.vpid = 1
                  output: init %proc.name
                  priority: WARNING
                - rule: Namespace second
                  desc: test rule on what the first program starts
                  condition: evt.type = execve and evt.res = SUCCESS and proc.vpid = 2
                  output: second %proc.name
                  priority: NOTICE
                """.utf8))
        let result = try Agent.run([
            "trace", "--output", "json", "--rules", rules, "--", "sh", "-c",
            "unshare --pid --fork sh -c 'cat /etc/hostname > /dev/null; true'; true",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        func marked(_ rule: String) -> [String] {
            result.jsonLines().filter { $0["rule"] as? String == rule }
                .compactMap { ($0["output_fields"] as? [String: Any])?["proc.name"] as? String }
        }
        #expect(marked("Namespace init") == ["sh"])
        #expect(marked("Namespace second") == ["cat"])
    }
}

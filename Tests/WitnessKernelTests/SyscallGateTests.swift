import CBPF
import Foundation
import NIOHTTP1
import Testing

/// The kernel side sees every syscall through one raw tracepoint: whichever gate a
/// subject takes into the kernel, whether the kernel refuses it, and whether any rule
/// cares, it is counted and, when reported, decoded the same way.
extension RealKernelTests {
    /// Runs `command` under `trace` with the default rules and returns its result.
    func traceJSON(_ command: [String]) throws -> AgentResult {
        try Agent.run(["trace", "--output", "json", "--"] + command, timeout: 120)
    }

    /// Falco alert lines only: one per rule fired, with that rule's output fields.
    func traceAlerts(_ command: [String]) throws -> AgentResult {
        try Agent.run(["trace", "--alerts", "--output", "json", "--"] + command, timeout: 120)
    }

    @Test func openThroughInt80IsAnOpenEventWithItsPath() throws {
        let program = try CProgram.build("int80-open", CProgram.int80Open)
        let dir = try Scratch.directory("int80")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("int80-target-\(UUID().uuidString.prefix(8))").path
        try Scratch.write(target, Data("x".utf8))
        let result = try traceJSON([program, target])
        #expect(result.status == 0, "the open through int $0x80 succeeded: \(result.stderr)")
        let events = result.events()
        let open = try #require(events.first { field($0, "fd.name") == target }, "the ia32 open is an event")
        #expect(field(open, "evt.type") == "open", "normalised to the syscall's name, not the ia32 number")
        #expect(field(open, "evt.gate") == "ia32")
        #expect(field(open, "evt.res") == "SUCCESS")
        #expect(field(open, "proc.name") == "int80-open")
        let marks = result.jsonLines().compactMap { $0["rule"] as? String }
        #expect(marks.contains("32-bit syscall gate used by a workload"))

        // The same file opened through the 32-bit gate is still the sensitive file.
        let shadow = try traceJSON([program, "/etc/shadow"])
        let read = try #require(
            shadow.jsonLines().first {
                ($0["output_fields"] as? [String: Any]).map { field($0, "fd.name") } == "/etc/shadow"
            })
        let fired = "\(read)"
        #expect(fired.contains("Read sensitive file by untrusted program"), "\(read)")
    }

    @Test func cloneWithNamespaceFlagsIsAnEventAndTheNamespaceRuleFires() throws {
        let program = try CProgram.build("clone-ns", CProgram.cloneNamespaces)
        let result = try traceJSON([program])
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.events()
        let clone = try #require(
            events.first {
                field($0, "evt.type") == "clone" && (field($0, "evt.arg.flags") ?? "").contains("CLONE_NEWNS")
            })
        #expect(field(clone, "evt.res") == "SUCCESS")
        #expect(Int(field(clone, "evt.arg.child_pid") ?? "") ?? 0 > 0)
        let clone3 = try #require(events.first { field($0, "evt.type") == "clone3" })
        #expect((field(clone3, "evt.arg.flags") ?? "").contains("CLONE_NEWUSER"), "\(clone3)")
        let refused = try #require(
            events.first { field($0, "evt.type") == "clone" && field($0, "evt.res") == "EINVAL" },
            "a refused clone is an attempt")
        #expect((field(refused, "evt.arg.flags") ?? "").contains("CLONE_NEWPID"))
        let namespaceLines = result.jsonLines().filter { "\($0["rule"] ?? "")" == "Namespace escape attempt" }
        let syscalls = Set(
            namespaceLines.compactMap { ($0["output_fields"] as? [String: Any]).flatMap { field($0, "evt.type") } })
        #expect(syscalls.isSuperset(of: ["clone", "clone3"]), "\(syscalls)")

        // unshare(1) makes the same request with unshare(2).
        let unshared = try traceJSON(["unshare", "-m", "true"])
        let unshare = try #require(unshared.events().first { field($0, "evt.type") == "unshare" })
        #expect((field(unshare, "evt.arg.flags") ?? "").contains("CLONE_NEWNS"))
        #expect(unshared.jsonLines().contains { "\($0["rule"] ?? "")" == "Namespace escape attempt" })
    }

    @Test func moduleLoadOnAKernelWithoutModulesIsAnAttemptAndAHardDeny() throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let agent = try RunningAgent([
            "witness", "--cgroup", cgroup, "--window", "3s", "--events", "--sostle", "L2", "--output", "json",
        ])
        try agent.waitUntilAttached()
        // finit_module(fd of a file that is no module, "", 0): ENOSYS without module
        // support, ENOEXEC or EPERM with it; an attempt either way.
        try Scratch.shell(
            """
            echo $$ > \(cgroup)/cgroup.procs
            python3 -c 'import ctypes, os; libc = ctypes.CDLL(None); libc.syscall(313, os.open("/bin/true", os.O_RDONLY), b"", 0)'
            """)
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.jsonLines()
        let attempt = try #require(
            lines.compactMap { $0["output_fields"] as? [String: Any] }.first { field($0, "evt.type") == "finit_module" }
        )
        #expect(Int(field(attempt, "evt.rawres") ?? "0") ?? 0 < 0, "refused: \(attempt)")
        #expect(
            field(attempt, "fd.name") == "/usr/bin/true" || field(attempt, "fd.name") == "/bin/true",
            "the module file, from the descriptor")
        let testimony = try #require(lines.last)
        #expect((testimony["rules"] as? [String: Any])?["Kernel module load attempt"] as? Int == 1)
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["hardDeny"] as? Bool == true)
        #expect(gate["verdictHint"] as? String == "DENY")
    }

    @Test func theProfileCountsEverySyscallOfTheSubject() throws {
        let program = try CProgram.build("repeat-getppid", CProgram.repeatGetppid)
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let agent = try RunningAgent(["witness", "--cgroup", cgroup, "--window", "2s", "--output", "json"])
        try agent.waitUntilAttached()
        try Scratch.shell("echo $$ > \(cgroup)/cgroup.procs; exec \(program) 4321")
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let testimony = try #require(result.jsonLines().last)
        let profile = try #require(testimony["profile"] as? [String: Any])
        let syscalls = try #require(profile["syscalls"] as? [String: Any])
        #expect(syscalls["getppid"] as? Int == 4321, "\(syscalls)")
        #expect((syscalls["execve"] as? Int ?? 0) >= 1)
        #expect(syscalls["exit_group"] as? Int == 1, "counted as the process exits: \(syscalls)")
        #expect(profile["compatSyscalls"] == nil)
        let coverage = try #require(testimony["coverage"] as? [String: [String]])
        #expect(coverage["unobserved"]?.contains { $0.hasPrefix("io_uring operation results") } == true, "\(coverage)")
        #expect(coverage["usedUnobserved"] == [], "this kernel has the io_uring tracepoint")
        #expect(testimony["complete"] as? Bool == true)
    }

    @Test func tcpFastOpenIsAConnect() throws {
        let dir = try Scratch.directory("fastopen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("fastopen.py").path
        try Scratch.write(
            script,
            Data(
                """
                import socket
                listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", 4444))
                listener.listen(1)
                client = socket.socket()
                client.sendto(b"x", socket.MSG_FASTOPEN, ("127.0.0.1", 4444))
                """.utf8))
        let result = try traceJSON(["python3", script])
        #expect(result.status == 0, "\(result.stderr)")
        let connect = try #require(
            result.events().first { field($0, "evt.type") == "connect" && field($0, "fd.sport") == "4444" })
        #expect(field(connect, "fd.sip") == "127.0.0.1")
        #expect(result.jsonLines().contains { "\($0["rule"] ?? "")" == "Connection to a mining or reverse-shell port" })
    }

    /// A fast open by sendmsg, sendmmsg or the 32-bit socketcall's SENDMSG and
    /// SENDMMSG is a connect too.
    @Test func everyFastOpenGateIsAConnect() throws {
        let program = try CProgram.build("fastopen-ways", CProgram.fastOpenWays)
        let script = """
            python3 -c 'import socket, time; l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
            l.bind(("127.0.0.1", 4444)); l.listen(8); open("/dev/stdout", "w").write("ready\\n"); time.sleep(3)' | (read line; \(program) 4444)
            """
        let result = try traceJSON(["sh", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let connects = result.events().filter {
            field($0, "evt.type") == "connect" && field($0, "fd.sport") == "4444"
                && field($0, "proc.name") == "fastopen-ways"
        }
        #expect(connects.count == 4, "\(connects.map { field($0, "evt.gate") ?? "" })")
        #expect(connects.filter { field($0, "evt.gate") == "ia32" }.count == 2)
    }

    @Test func ioUringOperationsAreTheirSyscallTwins() throws {
        let program = try CProgram.build("io-uring-ops", CProgram.ioUringOperations, flags: ["-luring"])
        let dir = try Scratch.directory("uring")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        try Scratch.write("\(d)/a", Data("x".utf8))
        let target = "\(d)/ring-target-\(UUID().uuidString.prefix(8))"
        try Scratch.write(target, Data("x".utf8))
        let script = """
            python3 -c 'import socket, time; l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1); \
            open("\(d)/port", "w").write(str(l.getsockname()[1])); time.sleep(5)' &
            while [ ! -s \(d)/port ]; do sleep 0.05; done
            \(program) \(target) \(d) $(cat \(d)/port)
            status=$?
            \(program) /etc/shadow \(d) $(cat \(d)/port)
            kill %1
            exit $status
            """
        let result = try traceJSON(["sh", "-c", script])
        #expect(result.status == 0, "the ring opened the file: \(result.stderr)")
        let ring = result.events().filter { field($0, "evt.gate") == "io_uring" }
        let open = try #require(ring.first { field($0, "fd.name") == target }, "the ring's open is an open event")
        #expect(field(open, "evt.type") == "openat")
        #expect(field(open, "evt.res") == "EINPROGRESS", "submitted; the completion is not observed")
        #expect(field(open, "proc.name") == "io-uring-ops")
        let connect = try #require(ring.first { field($0, "evt.type") == "connect" })
        #expect(field(connect, "fd.sip") == "127.0.0.1")
        let types = Set(ring.compactMap { field($0, "evt.type") })
        #expect(
            types.isSuperset(of: ["openat", "connect", "renameat2", "linkat", "symlinkat", "unlinkat"]), "\(types)")
        let rename = try #require(ring.first { field($0, "evt.type") == "renameat2" })
        #expect(field(rename, "evt.arg.oldpath") == "\(d)/a")
        #expect(field(rename, "evt.arg.newpath") == "\(d)/b")
        #expect(ring.contains { field($0, "evt.type") == "unlinkat" && field($0, "fd.name") == "\(d)/c" })
        // The shadow file read through the ring is the sensitive file read.
        let alerts = result.jsonLines().filter { "\($0["rule"] ?? "")" == "Read sensitive file by untrusted program" }
        #expect(alerts.contains { ($0["output_fields"] as? [String: Any]).map { field($0, "evt.gate") } == "io_uring" })
        #expect(result.jsonLines().contains { "\($0["rule"] ?? "")" == "io_uring set up by a workload" })
    }

    /// In node mode the programs are loaded at start but linked only while a window is open.
    @Test func nodeModeLinksOnlyWhileAWindowIsOpen() async throws {
        let cgroup = try makeCgroup()
        defer { rmdir(cgroup) }
        let node = try NodeUnderTest()
        defer { try? FileManager.default.removeItem(at: node.directory) }
        #expect(try await node.call(.GET, "/readyz", token: nil).status == 200)
        #expect(KernelObjects.witnessLinkCount() == 0, "no window: nothing linked")
        let id = try await node.open("{\"cgroup\":\"\(cgroup)\"}", window: "30s")
        #expect(KernelObjects.witnessLinkCount() == 8, "a window: the eight programs linked")
        try runInCgroup(cgroup, "cat /etc/hostname > /dev/null")
        let closed = try await node.json(.DELETE, "/v1/windows/\(id)")
        let testimony = try #require(closed["testimony"] as? [String: Any])
        let profile = try #require(testimony["profile"] as? [String: Any])
        #expect(((profile["syscalls"] as? [String: Any])?["openat"] as? Int ?? 0) >= 1)
        #expect(KernelObjects.witnessLinkCount() == 0, "the last window closed: unlinked")
        let result = try node.stop()
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// An operator who would rather nobody on the node could time when witnessing
    /// starts keeps the programs linked.
    @Test func nodeModeCanStayLinked() async throws {
        let node = try NodeUnderTest(extraConfig: "always_linked: true")
        defer { try? FileManager.default.removeItem(at: node.directory) }
        #expect(KernelObjects.witnessLinkCount() == 8, "linked with no window open")
        let result = try node.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Agent.witnessProgramsLeft() == 0)
    }
}

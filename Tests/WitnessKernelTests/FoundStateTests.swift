import Foundation
import Testing

/// A subject that acted before its window opened is judged as found: each of these
/// was started before the window and is still running through it, and each is
/// caught at activation by an alert naming it, marked found.
extension RealKernelTests {
    @Test func whatASubjectStartedBeforeTheWindowIsJudgedAsFound() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-found-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        let dir = try Scratch.directory("found")
        let tag = UUID().uuidString.prefix(8)
        // Peers outside the subject: a reverse shell's listener and a "mining pool".
        let listeners = try LoopbackListeners(count: 2)
        let shellPort = listeners.ports[0]
        // A mining port (any the default rules list that is free here).
        let pool = try LoopbackListeners(anyOf: [3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700])
        let poolPort = pool.ports[0]
        let d = dir.path
        let python = { (name: String, code: String) -> String in
            "cat > \(d)/\(name).py <<'PY'\n\(code)\nPY\n(python3 \(d)/\(name).py &)\n"
        }
        let script = """
            echo $$ > \(cgroup)/cgroup.procs
            cp /bin/sleep /dev/shm/dropped-\(tag); (/dev/shm/dropped-\(tag) 30 &)
            cp /bin/sleep \(d)/deleted; (\(d)/deleted 31 &); sleep 0.2; rm -f \(d)/deleted
            \(python("memfd", "import os\nfd = os.memfd_create('payload')\nos.write(fd, open('/bin/sleep', 'rb').read())\nos.execv('/proc/self/fd/%d' % fd, ['payload', '32'])"))
            \(python("reverse", "import os, socket\ns = socket.create_connection(('127.0.0.1', \(shellPort)))\nos.dup2(s.fileno(), 0)\nos.dup2(s.fileno(), 1)\nos.execv('/bin/sh', ['sh', '-c', 'sleep 33'])"))
            \(python("miner", "import socket, time\ns = socket.create_connection(('127.0.0.1', \(poolPort)))\nfor _ in range(40):\n    s.send(b'{\"method\":\"submit\"}')\n    time.sleep(1)"))
            \(python("shadow", "import time\nf = open('/etc/shadow')\ntime.sleep(34)"))
            (python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); time.sleep(35)' &)
            \(python("tracer", "import ctypes, os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(36)\n    os._exit(0)\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.ptrace(0x4206, pid, 0, 0)  # PTRACE_SEIZE\ntime.sleep(36)"))
            sleep 1.5
            """
        #expect(Self.runDetaching(script) == 0)
        defer {
            Self.emptyAndRemove(cgroup)
            unlink("/dev/shm/dropped-\(tag)")
            try? FileManager.default.removeItem(at: dir)
        }
        let result = try Agent.run(["witness", "--cgroup", cgroup, "--window", "2s", "--output", "json"], timeout: 60)
        let lines = result.jsonLines()
        let alerts = lines.filter { $0["rule"] != nil }
        let found = alerts.filter { $0["found"] as? Bool == true }
        let rules = Set(found.map { $0["rule"] as? String ?? "" })
        for expected in [
            "Execution from shared memory", "Program run after its file was deleted", "Fileless execution",
            "Program run with its standard streams on the network", "Connection to a mining or reverse-shell port",
            "Read sensitive file by untrusted program",
            "Listener opened by a shell, relay tool or interpreter one-liner",
            "Ptrace attach to another process",
        ] {
            #expect(rules.contains(expected), "found and judged: \(expected); fired: \(rules.sorted())")
        }
        for alert in found {
            #expect((alert["output_fields"] as? [String: Any])?["witness.found"] as? Bool == true)
        }
        // The found name of a file is the live name of the same file.
        let shadow = found.first { $0["rule"] as? String == "Read sensitive file by untrusted program" }
        #expect((shadow?["output_fields"] as? [String: Any])?["fd.name"] as? String == "/etc/shadow")
        let testimony = try #require(lines.last)
        let summary = try #require(testimony["found"] as? [String: Any])
        #expect((summary["processes"] as? Int ?? 0) >= 8)
        #expect((summary["matched"] as? [String: Int])?["Fileless execution"] == 1)
        #expect((testimony["subject"] as? [String: Any])?["witnessedFromStart"] as? Bool == false)
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["verdictHint"] as? String == "DENY")
        #expect(gate["bonus"] as? Double == 0)
        withExtendedLifetime((listeners, pool)) {}
    }
}

extension RealKernelTests {
    /// Kills every process in `cgroup` and removes it, waiting (up to 3 s) for the
    /// killed to be gone: a cgroup with a dying task cannot be removed yet.
    static func emptyAndRemove(_ cgroup: String) {
        for _ in 0..<30 {
            _ = try? Scratch.shell("for p in $(cat \(cgroup)/cgroup.procs 2>/dev/null); do kill -9 $p; done")
            if rmdir(cgroup) == 0 || errno == ENOENT { return }
            usleep(100_000)
        }
    }

    /// Runs `sh -c script` to completion with posix_spawn and waitpid: Foundation's
    /// Process reports a child running while anything it started still holds an
    /// inherited descriptor, and these scripts leave processes running on purpose.
    static func runDetaching(_ script: String) -> Int32 {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", script]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        guard posix_spawn(&pid, "/bin/sh", &actions, nil, arguments, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}

/// TCP listeners on loopback, in this process (outside any subject), that accept
/// connections and hold them open.
final class LoopbackListeners: @unchecked Sendable {
    private(set) var ports: [Int] = []
    private var sockets: [Int32] = []

    convenience init(count: Int) throws {
        try self.init(ports: Array(repeating: 0, count: count))
    }

    /// One listener on the first of `candidates` that is free.
    convenience init(anyOf candidates: [Int]) throws {
        for port in candidates {
            if let bound = try? LoopbackListeners(ports: [port]) {
                try self.init(ports: [])
                ports = bound.ports
                sockets = bound.sockets
                bound.sockets = []
                return
            }
        }
        throw CancellationError()
    }

    private init(ports wanted: [Int]) throws {
        for port in wanted {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw CancellationError() }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &address) {
                _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
            sockets.append(fd)
            // Accepted connections are held (never closed) until the process ends.
            Thread.detachNewThread {
                while true {
                    let client = accept(fd, nil, nil)
                    if client < 0 { return }
                }
            }
        }
    }

    deinit {
        for fd in sockets {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }
}

extension RealKernelTests {
    /// Honest services started before the window and found running: judged as found,
    /// they raise nothing at any priority, and the window passes (without the bonus:
    /// what they did before it was not seen).
    @Test func honestServicesFoundRunningRaiseNothing() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-services-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        let dir = try Scratch.directory("services")
        let d = dir.path
        chmod(d, 0o755)
        let ports = (0..<5).map { _ in LoopbackPort.next() }
        let pg = "/usr/lib/postgresql/15/bin"
        let script = """
            echo $$ > \(cgroup)/cgroup.procs
            mkdir -p \(d)/nginx/logs \(d)/www \(d)/redis \(d)/pg
            echo hello > \(d)/www/index.html
            cat > \(d)/nginx/nginx.conf <<'CONF'
            worker_processes 2;
            pid \(d)/nginx/nginx.pid;
            error_log \(d)/nginx/logs/error.log;
            events { worker_connections 64; }
            http { access_log \(d)/nginx/logs/access.log; server { listen 127.0.0.1:\(ports[0]); root \(d)/www; } }
            CONF
            /usr/sbin/nginx -p \(d)/nginx -c \(d)/nginx/nginx.conf > /dev/null 2>&1
            (redis-server --port \(ports[1]) --bind 127.0.0.1 --save '' --appendonly no --dir \(d)/redis > /dev/null 2>&1 &)
            (memcached -u nobody -p \(ports[2]) -l 127.0.0.1 -t 4 -U 0 > /dev/null 2>&1 &)
            (cd \(d)/www && python3 -m http.server \(ports[3]) --bind 127.0.0.1 > /dev/null 2>&1 &)
            chown postgres \(d)/pg
            su postgres -s /bin/sh -c '\(pg)/initdb -D \(d)/pg/data -A trust > /dev/null 2>&1 && \(pg)/pg_ctl -D \(d)/pg/data -o "-p \(ports[4]) -k \(d)/pg -c listen_addresses=127.0.0.1" -l \(d)/pg/log start > /dev/null 2>&1'
            sleep 1
            curl -s http://127.0.0.1:\(ports[0])/ > /dev/null; curl -s http://127.0.0.1:\(ports[3])/ > /dev/null
            """
        #expect(Self.runDetaching(script) == 0)
        defer {
            _ = try? Scratch.shell(
                "su postgres -s /bin/sh -c '\(pg)/pg_ctl -D \(d)/pg/data stop -m immediate' > /dev/null 2>&1")
            Self.emptyAndRemove(cgroup)
            try? FileManager.default.removeItem(at: dir)
        }
        let result = try Agent.run(["witness", "--cgroup", cgroup, "--window", "2s", "--output", "json"], timeout: 60)
        let lines = result.jsonLines()
        let alerts = lines.filter { $0["rule"] != nil }
        #expect(alerts.isEmpty, "honest services, found: \(alerts.map { "\($0["rule"] ?? "") \($0["output"] ?? "")" })")
        let testimony = try #require(lines.last)
        let found = try #require(testimony["found"] as? [String: Any])
        #expect((found["processes"] as? Int ?? 0) >= 6, "nginx, redis, memcached, python, postgres: \(found)")
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["passed"] as? Bool == true)
        #expect(gate["deduction"] as? Double == 0)
        #expect(gate["bonus"] as? Double == 0)
    }
}

extension RealKernelTests {
    /// `into-cgroup CGROUP PATH SECONDS`: opens PATH and holds it, then makes a child
    /// straight into CGROUP with clone3(CLONE_INTO_CGROUP); the child inherits the
    /// descriptor and sleeps. The parent stays outside.
    static let intoCgroup = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <linux/sched.h>
        #include <signal.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            int held = open(argv[2], O_RDONLY);
            int cgroup = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (held < 0 || cgroup < 0) return 1;
            struct clone_args args;
            memset(&args, 0, sizeof(args));
            args.flags = CLONE_INTO_CGROUP;
            args.exit_signal = SIGCHLD;
            args.cgroup = cgroup;
            long pid = syscall(SYS_clone3, &args, sizeof(args));
            if (pid == 0) { sleep(atoi(argv[3])); _exit(0); }
            return pid > 0 ? 0 : 1;
        }
        """

    /// A process that enters the subject after the window opened — moved in through
    /// cgroup.procs, or made into it by an outsider with clone3(CLONE_INTO_CGROUP) —
    /// is judged as found when it enters, whether the window found its cgroup or was
    /// armed for it.
    @Test func aProcessThatEntersTheSubjectLaterIsJudgedAsFound() throws {
        let mount = try cgroupMount()
        let into = try CProgram.build("into-cgroup", Self.intoCgroup)
        for armed in [false, true] {
            for viaClone in [false, true] {
                let cgroup = "\(mount)/witness-enter-\(UUID().uuidString.prefix(8))"
                if !armed {
                    try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
                }
                defer {
                    Self.emptyAndRemove(cgroup)
                }
                let agent = try RunningAgent(
                    ["witness", "--cgroup", cgroup, "--window", "3s", "--arm-deadline", "20s", "--output", "json"])
                try agent.waitUntilAttached()
                if armed { try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false) }
                usleep(300_000)
                if viaClone {
                    #expect(Self.runDetaching("\(into) \(cgroup) /etc/shadow 20") == 0)
                } else {
                    // Outside the subject: hold /etc/shadow, then move into it.
                    #expect(
                        Self.runDetaching(
                            "(exec 3</etc/shadow; exec sh -c 'sleep 0.3; echo $$ > \(cgroup)/cgroup.procs; exec sleep 20') &"
                        ) == 0)
                }
                let result = try agent.finish(timeout: 30)
                let label = "armed: \(armed), clone3: \(viaClone)"
                let found = result.jsonLines().filter { $0["found"] as? Bool == true && $0["rule"] != nil }
                #expect(
                    found.contains { $0["rule"] as? String == "Read sensitive file by untrusted program" },
                    "\(label): \(result.stdout)")
                let testimony = try #require(result.jsonLines().last)
                #expect(((testimony["found"] as? [String: Any])?["processes"] as? Int ?? 0) >= 1, "\(label)")
                #expect((testimony["gate"] as? [String: Any])?["passed"] as? Bool == false, "\(label)")
            }
        }
    }
}

extension RealKernelTests {
    /// A subject process that writes itself into a cgroup outside the subject is
    /// followed, not lost: what it (and a child of it) does from there is still the
    /// window's. A move into a cgroup of the subject's own tree changes nothing.
    @Test func aProcessThatLeavesTheSubjectCgroupIsStillWitnessed() throws {
        let mount = try cgroupMount()
        let subject = "\(mount)/witness-leave-\(UUID().uuidString.prefix(8))"
        let outside = "\(mount)/witness-outside-\(UUID().uuidString.prefix(8))"
        for path in [subject, outside, subject + "/inner"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        defer {
            Self.emptyAndRemove(subject + "/inner")
            Self.emptyAndRemove(subject)
            Self.emptyAndRemove(outside)
        }
        let agent = try RunningAgent(["witness", "--cgroup", subject, "--window", "3s", "--output", "json"])
        try agent.waitUntilAttached()
        let script = """
            echo $$ > \(subject)/cgroup.procs
            cat /etc/hostname > /dev/null
            echo $$ > \(subject)/inner/cgroup.procs
            echo $$ > \(outside)/cgroup.procs
            cat /etc/shadow > /dev/null
            sh -c 'head -c1 /etc/shadow > /dev/null'
            """
        #expect(try Scratch.shell(script) == 0)
        let result = try agent.finish(timeout: 30)
        let reads = result.jsonLines().filter { $0["rule"] as? String == "Read sensitive file by untrusted program" }
        #expect(reads.count == 2, "the read after leaving, and its child's: \(result.stdout)")
        // Leaving is said: one Error alert (not for the move inside), in the testimony too.
        let left = result.jsonLines().filter { $0["rule"] as? String == "Process left the subject" }
        #expect(left.count == 1, "\(result.stdout)")
        #expect(left.first?["priority"] as? String == "Error")
        let to = "/" + outside.split(separator: "/").last!
        #expect((left.first?["output_fields"] as? [String: Any])?["cgroup.to"] as? String == to)
        let testimony = try #require(result.jsonLines().last)
        let escaped = try #require((testimony["subject"] as? [String: Any])?["escaped"] as? [[String: Any]])
        #expect(escaped.count == 1 && escaped.first?["to"] as? String == to, "\(escaped)")
        #expect((testimony["rules"] as? [String: Any])?["Process left the subject"] as? Int == 1)
        #expect((testimony["alerts"] as? [String: Any])?["high"] as? Int ?? 0 >= 1)
        #expect(Agent.witnessProgramsLeft() == 0)
    }

    /// `clone3(CLONE_INTO_CGROUP)` into a cgroup outside the subject leaves it at
    /// birth: the child is followed (what it execs is judged) and the escape said.
    @Test func aChildClonedOutsideTheSubjectIsFollowedAndSaid() throws {
        let mount = try cgroupMount()
        let subject = "\(mount)/witness-cloneout-\(UUID().uuidString.prefix(8))"
        let outside = "\(mount)/witness-elsewhere-\(UUID().uuidString.prefix(8))"
        for path in [subject, outside] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        defer {
            Self.emptyAndRemove(subject)
            Self.emptyAndRemove(outside)
        }
        let cloner = try CProgram.build("clone-out", Self.cloneOut)
        let agent = try RunningAgent(["witness", "--cgroup", subject, "--window", "3s", "--output", "json"])
        try agent.waitUntilAttached()
        #expect(try Scratch.shell("echo $$ > \(subject)/cgroup.procs; \(cloner) \(outside) /bin/cat /etc/shadow") == 0)
        let result = try agent.finish(timeout: 30)
        let reads = result.jsonLines().filter { $0["rule"] as? String == "Read sensitive file by untrusted program" }
        #expect(reads.count == 1, "the child outside is still witnessed: \(result.stdout)")
        let left = result.jsonLines().filter { $0["rule"] as? String == "Process left the subject" }
        #expect(left.count == 1, "\(result.stdout)")
        #expect(Agent.witnessProgramsLeft() == 0)
    }

    /// `clone-out CGROUP PROGRAM ARGS...`: a child made straight into CGROUP, which execs PROGRAM.
    static let cloneOut = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <linux/sched.h>
        #include <signal.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            int cgroup = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (argc < 3 || cgroup < 0) return 1;
            struct clone_args args;
            memset(&args, 0, sizeof(args));
            args.flags = CLONE_INTO_CGROUP;
            args.exit_signal = SIGCHLD;
            args.cgroup = cgroup;
            long pid = syscall(SYS_clone3, &args, sizeof(args));
            if (pid == 0) { execv(argv[2], argv + 2); _exit(127); }
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) < 0) return 1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        """
}

extension RealKernelTests {
    /// busybox is one binary of services and tools: its httpd listening is a service,
    /// its nc listening (by applet name or as `busybox nc`) a relay.
    @Test func busyboxHttpdListensQuietlyAndItsNcDoesNot() throws {
        let dir = try Scratch.directory("busybox")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let (httpd, nc, applet) = (LoopbackPort.next(), LoopbackPort.next(), LoopbackPort.next())
        let script = """
            ln -s /usr/bin/busybox \(d)/nc
            busybox httpd -f -p 127.0.0.1:\(httpd) -h \(d) & a=$!
            busybox nc -l -p \(nc) < /dev/null > /dev/null & b=$!
            \(d)/nc -l -p \(applet) < /dev/null > /dev/null & c=$!
            sleep 0.5; kill $a $b $c
            """
        let result = try Agent.run(["trace", "--alerts", "--output", "json", "--", "sh", "-c", script], timeout: 60)
        let listeners = result.jsonLines().filter {
            $0["rule"] as? String == "Listener opened by a shell, relay tool or interpreter one-liner"
        }
        let ports = listeners.compactMap { ($0["output_fields"] as? [String: Any])?["fd.sport"] as? Int }
        #expect(!ports.contains(httpd), "busybox httpd is a service: \(result.stdout)")
        #expect(
            ports.contains(nc) && ports.contains(applet), "busybox nc, by name and by applet link: \(result.stdout)")
    }

    /// A cgroup path armed with another spelling (doubled and trailing slashes) is
    /// the kernel's path all the same.
    @Test func anArmedPathIsMatchedHoweverItIsSpelled() throws {
        let name = "witness-spelled-\(UUID().uuidString.prefix(8))"
        let cgroup = "\(try cgroupMount())/\(name)"
        defer { Self.emptyAndRemove(cgroup) }
        let agent = try RunningAgent(
            ["witness", "--cgroup", "//\(name)//", "--window", "1s", "--arm-deadline", "20s", "--output", "json"])
        try agent.waitUntilAttached()
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        let result = try agent.finish(timeout: 30)
        let testimony = try #require(result.jsonLines().last)
        #expect((testimony["window"] as? [String: Any])?["endReason"] as? String == "elapsed", "\(result.stdout)")
        #expect((testimony["subject"] as? [String: Any])?["witnessedFromStart"] as? Bool == true)
    }
}

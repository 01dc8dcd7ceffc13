import Foundation
import Testing

/// Witness from birth, and the subject judged as found: a window armed before its
/// cgroup exists is active from the cgroup's creation (the kernel sets the subject
/// bit at mkdir, before any process can enter); a window opened on a subject that
/// already runs judges what it runs as found events.
extension RealKernelTests {
    /// `born CGROUP N`: N times, mkdir CGROUP, clone3(CLONE_INTO_CGROUP) a child
    /// straight into it that execs `/bin/true born-I`, wait, rmdir. No process is ever
    /// in the cgroup before its first exec.
    static let bornInCgroup = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <linux/sched.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            int count = atoi(argv[2]);
            for (int i = 0; i < count; i++) {
                if (mkdir(argv[1], 0755) != 0) { perror("mkdir"); return 1; }
                int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) { perror("open"); return 1; }
                struct clone_args args;
                memset(&args, 0, sizeof(args));
                args.flags = CLONE_INTO_CGROUP;
                args.exit_signal = SIGCHLD;
                args.cgroup = fd;
                long pid = syscall(SYS_clone3, &args, sizeof(args));
                if (pid < 0) { perror("clone3"); return 1; }
                if (pid == 0) {
                    char tag[32];
                    snprintf(tag, sizeof(tag), "born-%d", i);
                    execl("/bin/true", "true", tag, (char *)0);
                    _exit(127);
                }
                int status;
                waitpid(pid, &status, 0);
                close(fd);
                if (rmdir(argv[1]) != 0) { perror("rmdir"); return 1; }
            }
            return 0;
        }
        """

    @Test func aWindowArmedBeforeItsCgroupSeesEveryFirstExec() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-born-\(UUID().uuidString.prefix(8))"
        defer { rmdir(cgroup) }
        let born = try CProgram.build("born", Self.bornInCgroup)
        var environment = ProcessInfo.processInfo.environment
        environment["WITNESS_TEST_HOLD_CONSUMER_MS"] = "1000"
        let agent = try RunningAgent(
            [
                "witness", "--cgroup", cgroup, "--window", "60s", "--arm-deadline", "60s", "--events", "--output",
                "json",
                "--ring-buffer", "32M", "--no-rules",
            ],
            environment: environment)
        try agent.waitUntilAttached()
        #expect(agent.stderrText.contains("armed for cgroup"))
        let count = 1000
        let helper = Process()
        helper.executableURL = URL(fileURLWithPath: born)
        helper.arguments = [cgroup, String(count)]
        try helper.run()
        try helper.waitForExit(timeout: 120)
        #expect(helper.terminationStatus == 0)
        // The consumer was held back a second: what it reads was decided in the kernel.
        usleep(2_500_000)
        agent.signal(SIGTERM)
        let result = try agent.finish(timeout: 60)
        let tags = Set(
            result.events().compactMap { fields -> String? in
                guard fields["evt.type"] as? String == "execve", let args = fields["proc.args"] as? String,
                    args.hasPrefix("born-")
                else { return nil }
                return args
            })
        #expect(
            tags.count == count, "every first exec in a cgroup born under an armed window: \(tags.count) of \(count)")
        let testimony = try #require(result.jsonLines().last)
        let subject = try #require(testimony["subject"] as? [String: Any])
        #expect(subject["witnessedFromStart"] as? Bool == true)
        #expect((testimony["window"] as? [String: Any])?["armedAt"] is String)
        #expect(testimony["drops"] as? Int == 0)
    }

    @Test func aWindowOnARunningSubjectHasNoBonusAndAnEmptyOneHasIt() throws {
        let mount = try cgroupMount()
        let busy = "\(mount)/witness-busy-\(UUID().uuidString.prefix(8))"
        let empty = "\(mount)/witness-empty-\(UUID().uuidString.prefix(8))"
        for cgroup in [busy, empty] {
            try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        }
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sh")
        sleeper.arguments = ["-c", "echo $$ > \(busy)/cgroup.procs; exec sleep 30"]
        sleeper.standardInput = FileHandle.nullDevice
        sleeper.standardOutput = FileHandle.nullDevice
        try sleeper.run()
        defer {
            kill(sleeper.processIdentifier, SIGKILL)
            sleeper.waitUntilExit()
            rmdir(busy)
            rmdir(empty)
        }
        usleep(200_000)
        for (cgroup, fromStart) in [(busy, false), (empty, true)] {
            let result = try Agent.run(["witness", "--cgroup", cgroup, "--window", "1s", "--output", "json"])
            let testimony = try #require(result.jsonLines().last)
            #expect((testimony["subject"] as? [String: Any])?["witnessedFromStart"] as? Bool == fromStart)
            let gate = try #require(testimony["gate"] as? [String: Any])
            #expect(gate["passed"] as? Bool == true, "\(cgroup): \(gate)")
            #expect(gate["bonus"] as? Double == (fromStart ? 0.1 : 0), "\(cgroup)")
            if !fromStart {
                let found = try #require(testimony["found"] as? [String: Any])
                #expect(found["processes"] as? Int == 1)
                #expect((found["matched"] as? [String: Int])?.isEmpty == true, "sleep is no evidence")
            }
        }
    }
}

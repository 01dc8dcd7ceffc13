import Foundation
import Testing

/// A container runtime's setup inside the subject's cgroup (what runc and crun do
/// before the image's first exec) is not the subject's; whatever a subject can do
/// itself — move itself in, be moved by another program, act after the exec — is.
extension RealKernelTests {
    /// `runtime CGROUP MODE PROGRAM ARGS...`: forks a child that, once in CGROUP,
    /// does what runc's init does — a mount namespace of its own, a mount, a new
    /// name — and then execs PROGRAM. MODE says who moves it in: `parent` (the
    /// runtime itself, as runc does; `reexec`: and the child first runs a copy of
    /// itself through /dev/fd, as runc's init does), `shell` (another program outside, as a
    /// runtime's helper might), `self` (the child writes its own pid), `subject`
    /// (the parent first moves itself in, then, a subject now, the child), `late`
    /// (as `parent`, but the child waits 11 s before its "setup").
    static let runtimeLike = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <sched.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mount.h>
        #include <sys/prctl.h>
        #include <sys/wait.h>
        #include <unistd.h>
        static void move(const char *cgroup, int pid) {
            char path[4096];
            snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
            FILE *f = fopen(path, "w");
            if (!f || fprintf(f, "%d\\n", pid) < 0 || fclose(f)) exit(3);
        }
        static void setup(char **argv) {
            if (unshare(CLONE_NEWNS)) _exit(5);
            mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
            mount("witness-setup", "/mnt", "tmpfs", 0, NULL);
            prctl(PR_SET_NAME, "runc:[2:INIT]");
            /* Not a runtime's business: judged whoever moved it in. */
            close(open("/etc/gshadow", O_RDONLY));
            execv(argv[3], argv + 3);
            _exit(6);
        }
        int main(int argc, char **argv) {
            if (argc < 4) return 2;
            if (strcmp(argv[2], "resumed") == 0) setup(argv);
            int go[2];
            if (pipe(go)) return 1;
            int child = fork();
            if (child == 0) {
                char byte;
                close(go[1]);
                if (strcmp(argv[2], "self") == 0) move(argv[1], getpid());
                else if (read(go[0], &byte, 1) != 1) _exit(4);
                if (strcmp(argv[2], "late") == 0) sleep(11);  /* longer than any runtime's setup */
                if (strcmp(argv[2], "reexec") == 0) {
                    /* As runc does: run a copy of itself through a descriptor first. */
                    char self[64];
                    snprintf(self, sizeof self, "/dev/fd/%d", open("/proc/self/exe", O_RDONLY));
                    argv[2] = "resumed";
                    execv(self, argv);
                    _exit(7);
                }
                setup(argv);
            }
            close(go[0]);
            if (strcmp(argv[2], "subject") == 0) move(argv[1], getpid());
            if (strcmp(argv[2], "parent") == 0 || strcmp(argv[2], "reexec") == 0 || strcmp(argv[2], "late") == 0
                || strcmp(argv[2], "subject") == 0)
                move(argv[1], child);
            if (strcmp(argv[2], "shell") == 0) {
                char command[4300];
                snprintf(command, sizeof command, "echo %d > %s/cgroup.procs", child, argv[1]);
                if (system(command)) return 3;
            }
            if (write(go[1], "g", 1) != 1) return 1;
            int status;
            waitpid(child, &status, 0);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        """

    @Test func aContainerRuntimesSetupIsNotTheSubjectsButWhatTheSubjectDoesIs() throws {
        let mount = try cgroupMount()
        let runtime = try CProgram.build("runtime-like", Self.runtimeLike)
        let setupRules: Set = ["Mount attempt", "Namespace escape attempt", "Process renamed itself"]
        for (mode, armed) in [
            ("parent", true), ("parent", false), ("reexec", true), ("shell", true), ("self", true), ("self", false),
            ("subject", true), ("subject", false), ("late", true),
        ] {
            let cgroup = "\(mount)/witness-runtime-\(UUID().uuidString.prefix(8))"
            if !armed { try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false) }
            defer { Self.emptyAndRemove(cgroup) }
            let window = mode == "late" ? "15s" : "3s"
            let agent = try RunningAgent(
                ["witness", "--cgroup", cgroup, "--window", window, "--arm-deadline", "20s", "--output", "json"])
            try agent.waitUntilAttached()
            if armed { try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false) }
            usleep(200_000)
            // The image's entrypoint reads /etc/shadow: judged, whoever started it.
            #expect(try Scratch.shell("\(runtime) \(cgroup) \(mode) /bin/cat /etc/shadow > /dev/null") == 0, "\(mode)")
            let result = try agent.finish(timeout: 30)
            let fired = Set(result.jsonLines().compactMap { $0["rule"] as? String })
            let label = "moved by \(mode), armed: \(armed)"
            // The read in setup and the entrypoint's read: both judged, whoever moved it in.
            let read = result.jsonLines().filter { $0["rule"] as? String == "Read sensitive file by untrusted program" }
                .compactMap { ($0["output_fields"] as? [String: Any])?["fd.name"] as? String }
            #expect(Set(read) == ["/etc/gshadow", "/etc/shadow"], "\(label): \(read)")
            if mode == "parent" || mode == "reexec" || mode == "shell" {
                #expect(fired.isDisjoint(with: setupRules), "\(label): the runtime's setup was judged: \(fired)")
            } else {
                // Moved by itself, or by a subject, or a setup that lasts longer than
                // any runtime's: what it does is judged.
                #expect(fired.isSuperset(of: setupRules), "\(label): \(fired)")
            }
        }
    }
}

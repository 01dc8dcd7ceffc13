import Foundation
import Testing
import WitnessTestSupport

/// The runtime profile of a real subject, drift against it, its seccomp export under
/// a real seccomp consumer (libseccomp), and record → replay, all against the kernel
/// (in the serialized "Real kernel" suite: no other agent runs meanwhile).
extension RealKernelTests {
    /// Makes a fixed number of calls the shells never make, writes one file, and with
    /// an argument tries mkdir on it (exit 3 and "EPERM" when refused).
    static let knownCalls = """
        #include <errno.h>
        #include <sched.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            for (int i = 0; i < 7; i++) sched_yield();
            if (argc > 1 && mkdir(argv[1], 0700) != 0) {
                printf("mkdir: %s\\n", errno == EPERM ? "EPERM" : strerror(errno));
                return 3;
            }
            printf("ok\\n");
            return 0;
        }
        """

    /// One window over a fresh cgroup in which `script` runs (the shell moves itself in
    /// first); returns the agent's result.
    func witnessInCgroup(_ script: String, extra: [String] = [], window: String = "3s") throws -> AgentResult {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-profile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        defer { rmdir(cgroup) }
        let agent = try RunningAgent(["witness", "--cgroup", cgroup, "--window", window, "--output", "json"] + extra)
        try agent.waitUntilAttached()
        try Scratch.shell("echo $$ > \(cgroup)/cgroup.procs\n" + script)
        let result = try agent.finish()
        #expect(result.status == 0, "\(result.stderr)")
        return result
    }

    func profileOf(_ result: AgentResult) throws -> [String: Any] {
        let testimony = try #require(result.jsonLines().last)
        return try #require(testimony["profile"] as? [String: Any])
    }

    func sha256(_ path: String) throws -> String {
        String(try Scratch.output("sha256sum '\(path)'").prefix(64))
    }

    /// A datagram goes where its sendto says, whatever the socket is connected to,
    /// and an unconnected IPv6 socket's destination is its own, not [::]:0.
    @Test func aDatagramIsNamedByItsDestination() throws {
        let port = LoopbackPort.next()
        let result = try witnessInCgroup(
            """
            python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.connect(("127.0.0.3", \(port))); s.sendto(b"x", ("127.0.0.4", \(port)))'
            python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b"x", ("::1", \(port)))'
            python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.sendto(b"\\x08\\x00\\xf7\\xff\\x00\\x00\\x00\\x00", ("127.0.0.5", 0))'
            """)
        let network = try #require(try profileOf(result)["network"] as? [String: Any])
        let connections = try #require(network["connections"] as? [[String: Any]])
        let addresses = Set(connections.compactMap { $0["address"] as? String })
        #expect(addresses.contains("127.0.0.3"), "the connect: \(connections)")
        #expect(addresses.contains("127.0.0.4"), "the datagram sent elsewhere: \(connections)")
        #expect(
            connections.contains { $0["address"] as? String == "::1" && $0["port"] as? Int == Int(port) },
            "\(connections)")
        #expect(!connections.contains { $0["address"] as? String == "::" && $0["port"] as? Int == 0 }, "\(connections)")
        #expect(addresses.contains("127.0.0.5"), "a raw socket's packet: \(connections)")
    }

    @Test func theProfileNamesProgramsByContentFilesEndpointsAndExactSyscallCounts() throws {
        let program = try CProgram.build("known-calls", Self.knownCalls)
        let dir = try Scratch.directory("profile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input").path
        try Scratch.write(input, Data("x".utf8))
        let port = LoopbackPort.next()
        let result = try witnessInCgroup(
            """
            \(program) >/dev/null
            cat \(input) > \(dir.path)/output
            python3 -c 'import socket; s=socket.socket(); s.connect_ex(("127.0.0.1", \(port)))'
            python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", \(port))); s.listen()'
            python3 -c 'import os; os.open("\(input)", os.O_RDONLY | os.O_TRUNC)'
            python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); [s.sendto(b"x", ("127.0.0.2", \(port))) for _ in range(20)]'
            mkdir \(dir.path)/made
            """)
        let profile = try profileOf(result)
        let syscalls = try #require(profile["syscalls"] as? [String: Int])
        #expect(syscalls["sched_yield"] == 7, "\(syscalls)")
        #expect((syscalls["execve"] ?? 0) >= 3)

        let executables = try #require(profile["executables"] as? [[String: Any]])
        let byPath = Dictionary(executables.map { ($0["path"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let built = try #require(byPath[program], "\(executables.map { $0["path"] ?? "" })")
        #expect(built["sha256"] as? String == (try sha256(program)))
        #expect(built["count"] as? Int == 1)
        let cat = try #require(byPath["/usr/bin/cat"])
        #expect(cat["sha256"] as? String == (try sha256("/usr/bin/cat")))
        #expect((cat["parent"] as? String)?.hasSuffix("sh") == true, "\(cat)")

        let files = try #require(profile["files"] as? [String: [String]])
        #expect(files["read"]?.contains(input) == true)
        #expect(files["written"]?.contains("\(dir.path)/output") == true, "\(files["written"] ?? [])")
        #expect(files["written"]?.contains(input) == true, "O_RDONLY|O_TRUNC empties it: a write")
        #expect(files["written"]?.contains("\(dir.path)/made") == true, "mkdir")

        let network = try #require(profile["network"] as? [String: Any])
        let connections = try #require(network["connections"] as? [[String: Any]])
        let attempt = connections.first { $0["port"] as? Int == Int(port) }
        #expect(attempt?["address"] as? String == "127.0.0.1")
        #expect(attempt?["protocol"] as? String == "tcp")
        #expect(attempt?["result"] as? String == "ECONNREFUSED", "\(connections)")
        // A datagram sent to an address is an attempt too: once per socket and destination.
        let datagrams = connections.filter { $0["address"] as? String == "127.0.0.2" }
        #expect(datagrams.count == 1 && datagrams.first?["protocol"] as? String == "udp", "\(connections)")
        #expect(datagrams.first?["count"] as? Int == 1, "20 datagrams, one attempt")
        let listening = try #require(network["listening"] as? [[String: Any]])
        #expect(
            listening.contains {
                $0["family"] as? String == "ipv6" && $0["address"] as? String == "::1"
                    && $0["port"] as? Int == Int(port)
                    && $0["protocol"] as? String == "tcp"
            }, "\(listening)")

        let identities = try #require(profile["identities"] as? [String: Any])
        #expect((identities["users"] as? [Int])?.contains(0) == true)
        #expect(profile["truncated"] as? Bool == false)
    }

    @Test func driftAlertsNameANewProgramAndANewEndpointAndAnIdenticalRerunHasNone() throws {
        let program = try CProgram.build("drift-base", Self.knownCalls)
        let dir = try Scratch.directory("drift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let baseline = dir.appendingPathComponent("baseline.json").path
        let script = "\(program) >/dev/null; cat /etc/hostname > /dev/null"
        _ = try witnessInCgroup(script, extra: ["--testimony", baseline])

        let rerun = try witnessInCgroup(script, extra: ["--baseline", baseline])
        let rerunDrift = rerun.jsonLines().filter { $0["rule"] as? String == "Drift from baseline profile" }
        #expect(
            rerunDrift.isEmpty, "\(rerunDrift.map { ($0["output_fields"] as? [String: Any])?["drift.item"] ?? "" })")
        #expect((rerun.jsonLines().last?["gate"] as? [String: Any])?["verdictHint"] as? String == "ADMIT")

        // The same program copied under a new name, a new program, a new endpoint.
        let copy = dir.appendingPathComponent("renamed").path
        try FileManager.default.copyItem(atPath: program, toPath: copy)
        let other = try CProgram.build("drift-new", Self.knownCalls + "\n/* another build */ int unused_symbol = 1;")
        let port = LoopbackPort.next()
        let recording = dir.appendingPathComponent("drifted.wrec").path
        let drifted = try witnessInCgroup(
            script + "\n\(copy) >/dev/null; \(other) >/dev/null\n"
                + "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libz.so.1 \(program) >/dev/null\n"
                + "python3 -c 'import socket; s=socket.socket(); s.connect_ex((\"127.0.0.1\", \(port)))'",
            extra: ["--baseline", baseline, "--drift-priority", "error", "--record", recording])
        let alerts = drifted.jsonLines().filter { $0["rule"] as? String == "Drift from baseline profile" }
        let items = alerts.compactMap { $0["output_fields"] as? [String: Any] }.map {
            "\($0["drift.kind"] as? String ?? "") \($0["drift.item"] as? String ?? "")"
        }
        #expect(items.contains("executable \(copy)"), "\(items)")
        #expect(items.contains("executable \(other)"), "\(items)")
        #expect(items.contains { $0.hasPrefix("executable content \(other) sha256:") }, "\(items)")
        #expect(
            !items.contains { $0.hasPrefix("executable content \(copy)") }, "same content as the baseline's: \(items)")
        #expect(items.contains("endpoint tcp 127.0.0.1:\(port)"), "\(items)")
        #expect(items.contains { $0.hasPrefix("library /usr/lib/x86_64-linux-gnu/libz.so") }, "LD_PRELOAD: \(items)")
        #expect(alerts.allSatisfy { $0["priority"] as? String == "Error" })
        let testimony = try #require(drifted.jsonLines().last)
        #expect((testimony["rules"] as? [String: Int])?["Drift from baseline profile"] == alerts.count)
        #expect((testimony["gate"] as? [String: Any])?["verdictHint"] as? String == "DENY")

        // The recording holds the baseline: its replay alerts on the same drift, in the same order.
        let replayed = try Agent.run(["replay", recording, "--output", "json"])
        let replayedItems = replayed.jsonLines().filter { $0["rule"] as? String == "Drift from baseline profile" }
            .compactMap { $0["output_fields"] as? [String: Any] }
            .map { "\($0["drift.kind"] as? String ?? "") \($0["drift.item"] as? String ?? "")" }
        #expect(replayedItems == items, "\(replayed.stderr)")
        #expect((replayed.jsonLines().last?["gate"] as? [String: Any])?["verdictHint"] as? String == "DENY")

        // profile diff says the same from the two testimonies.
        let second = dir.appendingPathComponent("drifted.json").path
        try Scratch.write(second, Data(drifted.stdout.utf8))
        let diff = try Agent.run(["profile", "diff", baseline, second])
        #expect(diff.status == 1)
        #expect(diff.stdout.contains("+ executable \(copy)"), "\(diff.stdout)")
        #expect(diff.stdout.contains("+ endpoint tcp 127.0.0.1:\(port)"))
        let same = try Agent.run(["profile", "diff", baseline, baseline])
        #expect(same.status == 0 && same.stdout.hasPrefix("0 new"), "\(same.stdout)")
    }

    @Test func theSeccompExportRunsItsWorkloadUnchangedAndRefusesAnythingElse() throws {
        let program = try CProgram.build("seccomp-workload", Self.knownCalls)
        let dir = try Scratch.directory("seccomp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let testimony = dir.appendingPathComponent("testimony.json").path
        _ = try witnessInCgroup("exec \(program) </dev/null >/dev/null", extra: ["--testimony", testimony])
        let profile = dir.appendingPathComponent("seccomp.json").path
        let export = try Agent.run(["profile", "seccomp", testimony, "--output", profile])
        #expect(export.status == 0, "\(export.stderr)")
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profile))) as? [String: Any]
        #expect(json?["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        #expect(json?["architectures"] as? [String] == ["SCMP_ARCH_X86_64"])

        let consumer = FileManager.default.currentDirectoryPath + "/scripts/seccomp-exec"
        #expect(try Scratch.output("\(consumer) \(profile) \(program) </dev/null") == "ok\n", "runs unchanged")
        let refused = try Scratch.output(
            "\(consumer) \(profile) \(program) \(dir.path)/made </dev/null; echo \"exit $?\"")
        #expect(refused == "mkdir: EPERM\nexit 3\n", "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/made"))
        // Without the profile the same call succeeds: the refusal is the profile's.
        #expect(try Scratch.output("\(program) \(dir.path)/made </dev/null") == "ok\n")
    }

    @Test func aReplayedRecordingGivesTheLiveAlertsAndTestimony() throws {
        let dir = try Scratch.directory("replay")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recording = dir.appendingPathComponent("window.wrec").path
        let live = try witnessInCgroup(
            """
            cat /etc/shadow > /dev/null
            sh -c 'cat /etc/shadow' > /dev/null
            cp /bin/true \(dir.path)/dropped && \(dir.path)/dropped
            ls /etc > /dev/null
            """, extra: ["--record", recording, "--sostle", "L3", "--trial-id", "TRB-REPLAY"])
        #expect(live.stderr.contains("recorded "), "\(live.stderr)")
        let replay = try Agent.run(["replay", recording, "--output", "json"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stderr.contains("records/s"))
        // Each line is a new statement (its own uuid); the live testimony alone names its recording.
        func withoutIdentity(_ lines: [[String: Any]]) -> [NSDictionary] {
            lines.map { line in
                var copy = line
                copy["uuid"] = nil
                copy["recording"] = nil
                return copy as NSDictionary
            }
        }
        let recorded = try #require(live.jsonLines().last?["recording"] as? [String: Any])
        #expect(recorded["path"] as? String == recording && recorded["truncated"] as? Bool == false)
        let liveLines = withoutIdentity(live.jsonLines())
        let replayed = withoutIdentity(replay.jsonLines())
        #expect(liveLines.count >= 3, "rules fired live: \(live.stdout)")
        #expect(liveLines == replayed, "\(live.stdout)\n---\n\(replay.stdout)")

        // Other rules re-score the window: none loaded, no alerts, same events.
        let rescored = try Agent.run(["replay", recording, "--no-rules", "--output", "json"])
        let testimony = try #require(rescored.jsonLines().last)
        #expect((testimony["rules"] as? [String: Int])?.isEmpty == true)
        #expect(testimony["events"] as? NSDictionary == liveLines.last?["events"] as? NSDictionary)
    }

    @Test func corruptTruncatedAndForeignRecordingsAreOneLineErrors() throws {
        let dir = try Scratch.directory("replay-fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recording = dir.appendingPathComponent("window.wrec").path
        _ = try witnessInCgroup("ls /etc > /dev/null; cat /etc/hostname > /dev/null", extra: ["--record", recording])
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: recording)))
        #expect(original.count > 100)
        func replay(_ bytes: [UInt8], _ name: String) throws -> AgentResult {
            let path = dir.appendingPathComponent(name).path
            try Scratch.write(path, Data(bytes))
            return try Agent.run(["replay", path, "--no-rules", "--output", "json"], timeout: 30)
        }
        // Another event layout: refused with one clear line.
        var foreign = original
        foreign[10] = 99
        foreign[11] = 0
        let refused = try replay(foreign, "foreign.wrec")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("recorded with event layout 99; this agent reads layout"), "\(refused.stderr)")
        #expect(try replay(Array("not a recording".utf8), "text.wrec").stderr.contains("not a Witness recording"))

        // Cut anywhere: an error naming the byte, never a crash or a testimony.
        var generator = SeededGenerator(seed: 0x5EED_1234)
        for _ in 0..<12 {
            let cut = Int.random(in: 12..<(original.count - 1), using: &generator)
            let result = try replay(Array(original[..<cut]), "cut.wrec")
            #expect(result.status == 2, "cut at \(cut): \(result.stderr)")
            #expect(
                result.stderr.contains("truncated") && result.stderr.contains("byte"), "cut at \(cut): \(result.stderr)"
            )
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        // Bytes flipped in the stream: an error, or (where zlib cannot tell) a replay
        // that decodes what it can — never a crash, always valid JSON.
        for round in 0..<40 {
            var mutated = original
            for _ in 0..<(1 + round % 4) {
                let index = Int.random(in: 12..<original.count, using: &generator)
                mutated[index] ^= UInt8.random(in: 1...255, using: &generator)
            }
            let result = try replay(mutated, "flipped.wrec")
            #expect(
                result.status == 0 || result.status == 2, "round \(round): status \(result.status) \(result.stderr)")
            if result.status == 2 { #expect(result.stderr.contains("byte"), "round \(round): \(result.stderr)") }
            for line in result.stdout.split(separator: "\n") {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "round \(round)")
            }
        }
    }
}

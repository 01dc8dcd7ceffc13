import CBPF
import Foundation
import Synchronization
import Testing
import WitnessCore
import WitnessTestSupport

/// The profile's bounds, its JSON read back, drift between two profiles, the seccomp
/// export, and the recording format, without the kernel.
struct RuntimeProfileTests {
    static var header: EventHeader {
        EventHeader(
            kind: .open, syscall: .openat, timestamp: 1, subjects: 1, cgroupID: 0, result: 3, pid: 42, tid: 42, ppid: 1,
            uid: 1000, gid: 1000, flags: [], comm: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func note(_ builder: ProfileBuilder, _ path: String, written: Bool) {
        Array(path.utf8).withUnsafeBufferPointer { builder.noteFile($0, written: written, header: Self.header) }
    }

    @Test func pastItsLimitsTheProfileCollapsesFilesToDirectoriesAndCountsWhatItDrops() {
        let builder = ProfileBuilder(limits: ProfileBuilder.Limits(all: 3))
        for index in 0..<3 { note(builder, "/data/a/file\(index)", written: false) }
        note(builder, "/data/b/one", written: false)  // past 3 files: kept as /data/b/
        note(builder, "/data/b/two", written: false)  // the same directory: nothing new
        for name in ["c", "d", "e"] { note(builder, "/data/\(name)/x", written: false) }  // directories past 3: dropped
        note(builder, "/data/a/file0", written: false)  // seen: nothing
        for index in 0..<5 {
            let address = SocketAddress.ipv4(address: 0x7F00_0001, port: UInt16(1000 + index))
            builder.noteConnection(address, transport: Transport(number: 6), result: "ok", header: Self.header)
        }
        for index in 0..<5 {
            _ = builder.noteExec(
                path: Array("/bin/p\(index)".utf8), file: FileID(device: 1, inode: UInt64(index + 1)), parent: nil,
                capabilities: 0, previousCapabilities: 0, header: Self.header)
        }
        let profile = builder.profile(syscalls: nil)
        #expect(
            profile.filesRead == [
                "/data/a/file0", "/data/a/file1", "/data/a/file2", "/data/b/", "/data/c/", "/data/d/",
            ])
        #expect(profile.dropped.files == 1)
        #expect(profile.connections.count == 3)
        #expect(profile.dropped.network == 2)
        #expect(profile.executables.count == 3)
        #expect(profile.dropped.executables == 2)
        #expect(profile.truncated)
        #expect(profile.json().contains("\"truncated\":true"))
    }

    @Test func aLibraryMappedAgainIsCountedAndAnotherFileUnderItsNameIsAnEntryOfItsOwn() {
        let builder = ProfileBuilder()
        func map(_ path: String, inode: UInt64) -> Int? {
            Array(path.utf8).withUnsafeBufferPointer {
                builder.noteLibrary(path: $0, file: FileID(device: 1, inode: inode), header: Self.header)
            }
        }
        #expect(map("/usr/lib/libc.so.6", inode: 7) == 0, "new: to hash")
        #expect(map("/usr/lib/libc.so.6", inode: 7) == nil, "seen")
        #expect(map("/usr/lib/libc.so.6", inode: 7) == nil)
        #expect(map("/usr/lib/libc.so.6", inode: 8) == 1, "another file under the name: hashed too")
        let libraries = builder.profile(syscalls: nil).libraries
        #expect(libraries.map(\.count) == [3, 1])
        #expect(builder.profile(syscalls: nil).executables.isEmpty)
    }

    @Test func aProfileReadsBackAsWrittenFromATestimonyOrAlone() throws {
        var profile = RuntimeProfile()
        profile.syscalls = ["openat": 12, "read": 3]
        profile.compatSyscalls = ["open": 1]
        profile.executables = [
            .init(path: "/bin/sh", sha256: String(repeating: "a", count: 64), count: 2, parent: nil),
            .init(path: "/tmp/x\n\"y", sha256: nil, hashError: "unreadable", count: 1, parent: "/bin/sh"),
        ]
        profile.filesRead = ["/etc/passwd"]
        profile.filesWritten = ["/tmp/out", "/var/log/"]
        profile.connections = [
            .init(family: "ipv6", address: "::1", port: 443, transport: "tcp", result: "ECONNREFUSED")
        ]
        profile.users = [0, 1000]
        profile.groups = [0]
        let alone = try ProfileReader.parse(Array(profile.json().utf8))
        #expect(alone.syscalls == profile.syscalls)
        #expect(alone.compatSyscalls == profile.compatSyscalls)
        #expect(alone.executables == profile.executables)
        #expect(alone.filesWritten == profile.filesWritten)
        #expect(alone.connections == profile.connections)
        #expect(alone.users == profile.users)

        let testimony = Testimony(
            trialID: "T", subjectKind: "pid", subjectValue: "1", startEpochNanoseconds: 0, endEpochNanoseconds: 1,
            sostle: nil, events: EventCounts(), kernelDrops: 0, agentDrops: 0, profile: profile)
        let lines = "{\"rule\":\"x\"}\n" + testimony.json() + "\n"
        #expect(try ProfileReader.parse(Array(lines.utf8)).executables == profile.executables)
        // Held to itself, only what could not be verified is new: a program without a hash.
        #expect(ProfileBaseline(alone).drift(of: profile).map(\.kind) == [.executableContent])
    }

    @Test(arguments: [
        ("[1,2]", "must be a JSON object"), ("{\"syscalls\":{\"read\":-1}}", "whole number"),
        ("{\"syscalls\":{},\"executables\":[{\"path\":7}]}", "path must be a string"), ("{nope", "not valid JSON"),
        ("{\"rule\":\"x\"}", "no profile here"), ("{\"profile\":null,\"uuid\":\"u\"}", "has no profile"),
    ])
    func aBadProfileIsOneLineNamingWhatIsWrong(_ text: String, _ message: String) {
        #expect(throws: AgentError.self) { try ProfileReader.parse(Array(text.utf8)) }
        do {
            _ = try ProfileReader.parse(Array(text.utf8))
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func driftNamesNewProgramsContentSyscallsDirectoriesAndEndpoints() {
        var old = RuntimeProfile()
        old.syscalls = ["read": 1, "openat": 1]
        old.executables = [.init(path: "/bin/sh", sha256: "aa"), .init(path: "/bin/cat", sha256: "bb")]
        old.filesWritten = ["/tmp/a", "/var/cache/"]
        old.connections = [.init(family: "ipv4", address: "10.0.0.1", port: 443, transport: "tcp", result: "ok")]
        var new = old
        new.syscalls["ptrace"] = 1
        new.compatSyscalls = ["open": 1]
        new.executables.append(.init(path: "/tmp/sh", sha256: "aa"))  // a copy: new name, known content
        new.executables.append(.init(path: "/bin/cat", sha256: "cc"))  // a known name, new content
        new.filesWritten.append("/tmp/b")  // a known directory
        new.filesWritten.append("/var/cache/x")  // within a collapsed directory
        new.filesWritten.append("/etc/cron.d/job")
        new.connections.append(
            .init(family: "ipv4", address: "10.0.0.1", port: 443, transport: "tcp", result: "ETIMEDOUT"))
        new.connections.append(.init(family: "ipv4", address: "10.0.0.2", port: 443, transport: "tcp", result: "ok"))
        new.listening.append(.init(family: "ipv4", address: "0.0.0.0", port: 4444, transport: "tcp"))
        new.users = [0]
        new.identityChanges = [.init(call: "setuid", arguments: [0], result: "EPERM", executable: "/tmp/x")]
        new.capabilitiesGained = [.init(executable: "/tmp/x", capabilities: ["CAP_SYS_ADMIN"])]
        let findings = ProfileBaseline(old).drift(of: new).map { "\($0.kind.rawValue) \($0.item)" }
        #expect(
            findings == [
                "executable /tmp/sh", "executable content /bin/cat sha256:cc", "syscall ptrace", "syscall open (ia32)",
                "written directory /etc/cron.d", "endpoint tcp 10.0.0.2:443", "listening port tcp 0.0.0.0:4444",
                "user 0", "identity change setuid(0)", "capabilities gained /tmp/x: CAP_SYS_ADMIN",
            ])
        #expect(Syscall.listen.rawValue == UInt16(WITNESS_SYS_LISTEN.rawValue), "fixed on both sides")
    }

    @Test func theSeccompExportAllowsWhatWasSeenUnderTheArchitecturesUsed() throws {
        var profile = RuntimeProfile()
        profile.syscalls = ["read": 5, "write": 1, "other": 2, "syscall_460": 1]
        var (json, unnamed) = SeccompProfile.make(from: profile)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        #expect(object["defaultErrnoRet"] as? Int == 1)
        #expect(object["architectures"] as? [String] == ["SCMP_ARCH_X86_64"])
        let rules = try #require(object["syscalls"] as? [[String: Any]])
        #expect(rules.first?["names"] as? [String] == ["read", "rt_sigreturn", "write"])
        #expect(rules.first?["action"] as? String == "SCMP_ACT_ALLOW")
        #expect(unnamed == ["syscall_460"])

        profile.compatSyscalls = ["socketcall": 1]
        (json, unnamed) = SeccompProfile.make(from: profile)
        object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["architectures"] as? [String] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
    }

    @Test func aRecordingReadsBackFrameByFrame() throws {
        let path = "/tmp/witness-recording-\(UUID().uuidString.prefix(8)).wrec"
        defer { unlink(path) }
        let writer = try RecordingWriter(
            path: path, subjects: 1 << 3, maxBytes: 1 << 20, metadata: [("hostname", "node-1")])
        var process = ProcessRecord(pid: 7, ppid: 1, name: Array("sh".utf8), exePath: Array("/bin/sh".utf8), argv: [])
        process.capabilities = 0x3F
        process.environment = Array("A=1\0B=2\0".utf8)
        process.vpid = 1
        var frame = ByteWriter()
        process.encode(into: &frame)
        writer.frame(.snapshot, frame.bytes)
        var record = [UInt8](repeating: 0, count: 96)
        record[16] = 1 << 3  // the subjects field: slot 3
        for _ in 0..<3000 { record.withUnsafeBytes { writer.record($0, subjects: 1 << 3) } }
        record.withUnsafeBytes { writer.record($0, subjects: 1) }  // another slot's: left out
        let summary = writer.finish(
            .init(startBootTime: 1, endBootTime: 2, endReason: "elapsed", kernelDrops: 4, agentDrops: 5, syscalls: []))
        #expect(summary.records == 3000)
        #expect(!summary.truncated)
        #expect(summary.bytes < 3000 * 96 / 10, "compressed")

        let reader = try RecordingReader(path: path)
        var kinds: [RecordingFormat.Kind: Int] = [:]
        var decoded: ProcessRecord?
        var end: RecordingEnd?
        while let next = try reader.next() {
            kinds[next.kind, default: 0] += 1
            if next.kind == .snapshot {
                var bytes = ByteReader(next.payload)
                decoded = try ProcessRecord(decoding: &bytes)
            }
            if next.kind == .end { end = try RecordingEnd(next.payload) }
            if next.kind == .meta { #expect(try RecordingMetadata(next.payload)["hostname"] == "node-1") }
        }
        #expect(kinds == [.meta: 1, .snapshot: 1, .record: 3000, .end: 1])
        #expect(decoded == process)
        #expect(end?.kernelDrops == 4 && end?.agentDrops == 5 && end?.endReason == "elapsed")
    }

    @Test func aRecordingStopsTakingRecordsAtItsLimitAndSaysSo() throws {
        let path = "/tmp/witness-recording-\(UUID().uuidString.prefix(8)).wrec"
        defer { unlink(path) }
        let writer = try RecordingWriter(path: path, subjects: ~0, maxBytes: 4096, metadata: [])
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let record = (0..<128).map { _ in UInt8.random(in: 0...255, using: &generator) }
            record.withUnsafeBytes { writer.record($0, subjects: 1) }
        }
        let summary = writer.finish(
            .init(startBootTime: 0, endBootTime: 0, endReason: "elapsed", kernelDrops: 0, agentDrops: 0, syscalls: []))
        #expect(summary.truncated)
        #expect(summary.records < 20_000)
        #expect(summary.bytes < 4096 + (512 << 10), "bounded: the limit plus at most one buffer")
        let reader = try RecordingReader(path: path)
        var end: RecordingEnd?
        while let frame = try reader.next() {
            if frame.kind == .end { end = try RecordingEnd(frame.payload) }
        }
        #expect(end?.skipped == 20_000 - summary.records)
        #expect(throws: AgentError.self) {
            _ = try RecordingWriter(path: path, subjects: ~0, maxBytes: 1, metadata: [])
        }
    }
}

/// The hasher refuses what is not the file that ran, and is no oracle for files the
/// subject could not read; recordings keep one window's side frames out of another's.
struct HostileProfileTests {
    func scratchFile(_ contents: String, mode: mode_t = 0o755) throws -> (String, stat) {
        let path = "/tmp/witness-hash-\(UUID().uuidString.prefix(8))"
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
        var info = stat()
        stat(path, &info)
        return (path, info)
    }

    func outcome(
        _ hasher: ExecutableHasher, file: FileID, changeTime: UInt64, path: String, uid: UInt32 = 0
    ) -> ExecutableHasher.Outcome? {
        let box = Mutex<ExecutableHasher.Outcome?>(nil)
        _ = hasher.request(
            file: file, changeTime: changeTime, path: Array(path.utf8), pid: 999_999_999, uid: uid, gid: uid
        ) {
            outcome in box.withLock { $0 = outcome }
        }
        _ = hasher.waitForPending(milliseconds: 5000)
        return box.withLock { $0 }
    }

    @Test func aProgramWrittenAfterItRanIsRefusedNotHashed() throws {
        let (path, info) = try scratchFile("#!/bin/sh\necho fine\n")
        defer { unlink(path) }
        let file = FileID(device: 0, inode: UInt64(info.st_ino))
        let ranAt = UInt64(info.st_ctim.tv_sec) * 1_000_000_000 + UInt64(info.st_ctim.tv_nsec)
        let hasher = ExecutableHasher()
        #expect(
            outcome(hasher, file: file, changeTime: ranAt, path: path)
                == .digest(SHA256.hex(SHA256.hash(Array("#!/bin/sh\necho fine\n".utf8)))))
        // Written in place (same inode), its mtime put back: the change time still moved.
        usleep(10_000)
        let fd = open(path, O_WRONLY | O_TRUNC)
        _ = "#!/bin/sh\necho evil\n".withCString { write(fd, $0, 20) }
        close(fd)
        var times = [timespec](repeating: info.st_mtim, count: 2)
        utimensat(AT_FDCWD, path, &times, 0)
        #expect(outcome(hasher, file: file, changeTime: ranAt, path: path) == .failed("the file changed after it ran"))
        // Another inode under the name: refused too.
        #expect(
            outcome(hasher, file: FileID(device: 0, inode: file.inode + 1), changeTime: 0, path: path)
                == .failed("the file was gone or replaced before it could be read"))
    }

    @Test func aScriptIsHashedOnlyWhenItsUserCouldReadIt() throws {
        let (path, _) = try scratchFile("secret", mode: 0o600)
        defer { unlink(path) }
        let hasher = ExecutableHasher()
        #expect(
            outcome(hasher, file: .none, changeTime: 0, path: path, uid: 65534)
                == .failed("not readable by the process's user"))
        #expect(
            outcome(hasher, file: .none, changeTime: 0, path: path, uid: 0)
                == .digest(SHA256.hex(SHA256.hash(Array("secret".utf8)))))
    }

    @Test func sideFramesGoOnlyToTheRecordingOfTheWindowThatNeededThem() throws {
        let paths = (0..<2).map { "/tmp/witness-isolation-\($0)-\(UUID().uuidString.prefix(8)).wrec" }
        defer { paths.forEach { unlink($0) } }
        let writers = try paths.enumerated().map { index, path in
            try RecordingWriter(path: path, subjects: 1 << UInt64(index + 1), maxBytes: 1 << 20, metadata: [])
        }
        let recordings = RecordingTap()
        writers.forEach(recordings.add)
        var secret = ProcessRecord(pid: 77, ppid: 1, name: Array("tenant-a".utf8), exePath: [], argv: [])
        secret.environment = Array("TOKEN=hunter2\0".utf8)
        recordings.context = 1 << 1
        recordings.handedOut(secret)
        recordings.identity(5, CgroupIdentity(containerID: Array("abc".utf8)))
        recordings.context = 1 << 2
        recordings.removed(77)  // another window's event: the first recording forgets it
        var kinds: [[RecordingFormat.Kind]] = []
        for (writer, path) in zip(writers, paths) {
            _ = writer.finish(
                .init(
                    startBootTime: 0, endBootTime: 0, endReason: "elapsed", kernelDrops: 0, agentDrops: 0, syscalls: [])
            )
            let reader = try RecordingReader(path: path)
            var seen: [RecordingFormat.Kind] = []
            while let frame = try reader.next() { seen.append(frame.kind) }
            kinds.append(seen)
        }
        #expect(kinds[0] == [.meta, .snapshot, .identity, .forget, .end])
        #expect(kinds[1] == [.meta, .end], "nothing of the other tenant's")
    }

    @Test func aReplayRefusesARecordingThatQueuesReadsWithoutEnd() throws {
        let path = "/tmp/witness-flood-\(UUID().uuidString.prefix(8)).wrec"
        defer { unlink(path) }
        let writer = try RecordingWriter(path: path, subjects: ~0, maxBytes: 1 << 30, metadata: [("hostname", "x")])
        var frame = ByteWriter()
        frame.u32(42)
        for _ in 0...RecordingPlayer.maxQueuedReads { writer.frame(.procMissing, frame.bytes) }
        _ = writer.finish(
            .init(startBootTime: 0, endBootTime: 0, endReason: "elapsed", kernelDrops: 0, agentDrops: 0, syscalls: []))
        let player = try RecordingPlayer(path: path)
        let identities = CgroupIdentities(mountPoint: nil)
        let pipeline = EventPipeline(
            sink: OutputSink(fd: open("/dev/null", O_WRONLY)), format: .json, printsEvents: false, hostname: [],
            processes: player.makeProcessTable(), identities: identities)
        do {
            try player.play(into: pipeline, identities: identities)
            Issue.record("a flood of queued reads was accepted")
        } catch {
            #expect(error.message.contains("/proc reads never asked for"), "\(error.message)")
        }
    }
}

/// A recording is untrusted: records and side frames mutated at seeded random bytes
/// are played through the whole pipeline (events as JSON, profiles, a baseline), and
/// nothing traps; every line written stays valid JSON.
struct ReplayFuzzTests {
    @Test func mutatedRecordsAndFramesNeverCrashTheReplay() throws {
        var generator = SeededGenerator(seed: 0xF00D_5EED_0013)
        let valid: [[UInt8]] = [
            RecordFixture.exec(filename: "/usr/bin/curl", argv: ["curl", "-s", "http://10.0.0.1/"]).bytes,
            RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0o1101, result: 3).bytes,
            RecordFixture.connect(
                sockaddr: RecordFixture.sockaddrIPv4(10, 0, 0, 1, port: 443), local: [10, 0, 0, 2], localPort: 4000
            ).bytes,
            RecordFixture.connect(sockaddr: RecordFixture.sockaddrIPv6(Array(repeating: 0, count: 15) + [1], port: 53))
                .bytes,
        ]
        var snapshot = ByteWriter()
        ProcessRecord(
            pid: 4242, ppid: 1, name: Array("cat".utf8), exePath: Array("/usr/bin/cat".utf8),
            argv: Array("cat\0x\0".utf8)
        )
        .encode(into: &snapshot)
        for round in 0..<20 {
            let path = "/tmp/witness-fuzz-\(UUID().uuidString.prefix(8)).wrec"
            defer { unlink(path) }
            let writer = try RecordingWriter(
                path: path, subjects: ~0, maxBytes: 1 << 30,
                metadata: [
                    ("hostname", "fuzz"), ("clockOffset", String(Int64.random(in: .min ... .max, using: &generator))),
                ])
            var baseline = RuntimeProfile()
            baseline.syscalls = ["read": 1]
            writer.baseline(baseline, priority: .warning)
            for _ in 0..<200 {
                var bytes = valid[Int.random(in: 0..<valid.count, using: &generator)]
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
                bytes.withUnsafeBytes { writer.record($0, subjects: 1) }
                if Int.random(in: 0..<10, using: &generator) == 0 {
                    var side = snapshot.bytes
                    side[Int.random(in: 0..<side.count, using: &generator)] ^= UInt8.random(
                        in: 1...255, using: &generator)
                    let kinds: [RecordingFormat.Kind] = [.snapshot, .procRead, .identity, .written, .hash, .forget]
                    writer.frame(kinds[Int.random(in: 0..<kinds.count, using: &generator)], side)
                }
            }
            _ = writer.finish(
                .init(
                    startBootTime: 0, endBootTime: .max, endReason: "elapsed", kernelDrops: 0, agentDrops: 0,
                    syscalls: []))

            let output = "/tmp/witness-fuzz-out-\(UUID().uuidString.prefix(8))"
            defer { unlink(output) }
            let sink = try OutputSink.appending(to: output)
            let player = try RecordingPlayer(path: path)
            let identities = CgroupIdentities(mountPoint: nil)
            let pipeline = EventPipeline(
                sink: sink, format: .json, printsEvents: true, hostname: Array("fuzz".utf8), clock: player.clock,
                processes: player.makeProcessTable(), identities: identities)
            pipeline.profiles.replaying()
            player.beginProfile(pipeline)
            do {
                try player.play(into: pipeline, identities: identities)
            } catch {
                #expect(!error.message.contains("\n"), "round \(round): \(error.message)")
            }
            _ = pipeline.finishProfile(slot: player.slot, syscalls: nil, at: .max)
            pipeline.flush()
            sink.sync()
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                #expect(
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil,
                    "round \(round): \(line.prefix(200))")
            }
        }
    }
}

/// What a subject writes through is held to the baseline by the directory the kernel
/// wrote in, not by a spelling that collapses differently.
struct WrittenNameTests {
    func written(_ fixture: RecordFixture) -> [String] {
        let pipeline = EventPipeline(
            sink: OutputSink(fd: open("/dev/null", O_WRONLY)), format: .json, printsEvents: false, hostname: [],
            processes: ProcessTable(procRoot: "/nonexistent"))
        pipeline.beginProfile(slot: 0, WindowProfiles.Settings())
        fixture.bytes.withUnsafeBytes { pipeline.handle($0) }
        return pipeline.finishProfile(slot: 0, syscalls: nil, waitMilliseconds: 0)?.filesWritten ?? []
    }

    /// `/tmp/l/../x` with /tmp/l a symlink to /etc/ssl writes in /etc: kept as spelled,
    /// never as /tmp/x.
    @Test(arguments: ["/tmp/l/../x", "l/../x", "/tmp/./l/../../etc/x"])
    func aNameThatClimbsIsKeptAsSpelled(name: String) {
        let files = written(.syscall(.chmod, args: [0, 0o755], path: Array(name.utf8), directory: Array("/tmp".utf8)))
        #expect(files.count == 1)
        #expect(files.allSatisfy { $0.contains("..") }, "\(files)")
        #expect(!files.contains("/tmp/x") && !files.contains("/etc/x"))
    }

    /// `mv /etc/passwd /tmp/p` writes in /etc too: a rename notes both ends.
    @Test(arguments: [Syscall.rename, .renameat, .renameat2])
    func aRenameWritesItsSourceDirectoryToo(syscall: Syscall) {
        let files = written(
            .syscall(syscall, args: [0, 0], path: Array("/etc/passwd".utf8), path2: Array("/tmp/p".utf8)))
        #expect(Set(files) == ["/etc/passwd", "/tmp/p"])
    }
}

/// A baseline vouches only for content it verified where it ran.
struct BaselineContentTests {
    @Test func aPathTheBaselineCouldNotHashAcceptsNoContent() {
        var profile = RuntimeProfile()
        profile.executables = [
            .init(path: "/app/run", sha256: nil, hashError: "larger than 256 MiB"),
            .init(path: "/bin/busybox", sha256: String(repeating: "b", count: 64)),
        ]
        let baseline = ProfileBaseline(profile)
        let busybox = String(repeating: "b", count: 64)
        #expect(!baseline.allows(busybox, at: Array("/app/run".utf8)), "busybox copied over an unverified name")
        #expect(baseline.allows(busybox, at: Array("/bin/busybox".utf8)))
        #expect(
            baseline.allows(busybox, at: Array("/opt/new".utf8)), "a new path is drift of its own; its content is known"
        )
        #expect(!baseline.allows(String(repeating: "c", count: 64), at: Array("/opt/new".utf8)))
    }
}

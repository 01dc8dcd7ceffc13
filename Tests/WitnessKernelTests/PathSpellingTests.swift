import Foundation
import Testing

/// A subject that knows the rules name /etc/shadow spells it otherwise. fd.name of a
/// successful open is the kernel's own path of the file it opened, so every spelling
/// is the same file to the rules; fd.nameraw keeps what the process wrote.
extension RealKernelTests {
    @Test func everySpellingOfTheShadowFileIsTheShadowFile() throws {
        let dir = try Scratch.directory("spellings")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = dir.path
        let uring = try CProgram.build("io-uring-ops", CProgram.ioUringOperations, flags: ["-luring"])
        try Scratch.write("\(d)/a", Data("x".utf8))
        // Each line opens the shadow file for reading, spelt another way.
        let script = """
            cat //etc//shadow > /dev/null
            cat /etc/./shadow > /dev/null
            (cd /tmp && cat ../etc/shadow > /dev/null)
            cat /proc/self/root/etc/shadow > /dev/null
            ln -s /etc \(d)/e && cat \(d)/e/shadow > /dev/null
            ln -s /etc/shadow \(d)/s && cat \(d)/s > /dev/null
            python3 -c 'import os; fd = os.open("/etc", os.O_PATH); open("/proc/self/fd/%d/shadow" % fd).read()'
            python3 -c 'import os; root = os.open("/", os.O_PATH); os.close(os.open("etc/shadow", os.O_RDONLY, dir_fd=root))'
            python3 -c 'import os; os.chroot("/etc"); open("/shadow").read()'
            \(uring) //etc/../etc//shadow \(d) 9
            \(uring) \(d)/s \(d) 9
            cat //etc//no-such-file-\(dir.lastPathComponent) 2> /dev/null
            exit 0
            """
        try Scratch.write("\(d)/script.sh", Data(script.utf8))
        let result = try traceJSON(["sh", "\(d)/script.sh"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.jsonLines()
        let reads = lines.filter {
            "\($0["rule"] ?? "")" == "Read sensitive file by untrusted program"
                || "\($0)".contains("Read sensitive file by untrusted program")
        }
        .compactMap { $0["output_fields"] as? [String: Any] }
        #expect(
            reads.allSatisfy { field($0, "fd.name") == "/etc/shadow" }, "\(reads.map { field($0, "fd.name") ?? "" })")
        let spellings = Set(reads.map { field($0, "fd.nameraw") ?? field($0, "fd.name") ?? "" })
        let expected: Set<String> = [
            "//etc//shadow", "/etc/./shadow", "../etc/shadow", "/proc/self/root/etc/shadow", "\(d)/e/shadow", "\(d)/s",
            "etc/shadow", "/shadow", "//etc/../etc//shadow",
        ]
        let missed = expected.subtracting(spellings)
        #expect(missed.isEmpty, "spellings the rule missed: \(missed.sorted())")
        #expect(
            spellings.contains { $0.hasPrefix("/proc/self/fd/") },
            "the reopen through /proc/self/fd: \(spellings.sorted())")
        // Through the ring, a symlink is named at completion by the file it opened.
        #expect(
            lines.contains {
                "\($0)".contains("Read sensitive file by untrusted program")
                    && ($0["output_fields"] as? [String: Any]).map {
                        field($0, "evt.gate") == "io_uring" && field($0, "evt.res") == "SUCCESS"
                    }
                        == true
            }, "the ring's open of a symlink to the shadow file")
        // A failed open has no file to ask: its name is normalised as written.
        let events = lines.compactMap { $0["output_fields"] as? [String: Any] }
        #expect(
            events.contains {
                field($0, "fd.name") == "/etc/no-such-file-\(dir.lastPathComponent)" && field($0, "evt.res") == "ENOENT"
            })
    }
}

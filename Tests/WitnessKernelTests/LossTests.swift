import Foundation
import Testing

extension RealKernelTests {
    /// A window whose ring buffer overflows is incomplete and never passes.
    @Test func overflowingTheRingBufferMakesTheWindowIncomplete() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        defer { rmdir(cgroup) }
        let agent = try RunningAgent([
            "witness", "--cgroup", cgroup, "--window", "3s", "--ring-buffer", "4K", "--events", "--output", "json",
        ])
        try agent.waitUntilAttached()
        // A burst of opens no 4 KiB ring can hold between two drains.
        try Scratch.shell(
            "echo $$ > \(cgroup)/cgroup.procs; i=0; while [ $i -lt 3000 ]; do : < /etc/hostname; i=$((i+1)); done")
        let result = try agent.finish()
        let testimony = try #require(result.jsonLines().last)
        #expect(testimony["complete"] as? Bool == false)
        #expect((testimony["drops"] as? Int ?? 0) > 0)
        let gate = try #require(testimony["gate"] as? [String: Any])
        #expect(gate["passed"] as? Bool == false)
        #expect((gate["detail"] as? String)?.contains("lost") == true)
        #expect(result.stderr.contains("WARNING"))
    }

    /// Lines the agent could not write (its reader went away) are losses too.
    @Test func unwrittenOutputMakesTheWindowIncomplete() throws {
        let mount = try cgroupMount()
        let cgroup = "\(mount)/witness-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
        defer { rmdir(cgroup) }
        let dir = try Scratch.directory("unwritten")
        defer { try? FileManager.default.removeItem(at: dir) }
        let testimonyFile = dir.appendingPathComponent("testimony.json").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Agent.binary)
        process.arguments = ["witness", "--cgroup", cgroup, "--window", "2s", "--events", "--testimony", testimonyFile]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try output.fileHandleForReading.close()  // the reader is gone before anything is written
        var attached = Data()
        while !String(decoding: attached, as: UTF8.self).contains("attached") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            attached.append(chunk)
        }
        try Scratch.shell("echo $$ > \(cgroup)/cgroup.procs; cat /etc/hostname > /dev/null")
        try process.waitForExit()
        let text = try String(contentsOfFile: testimonyFile, encoding: .utf8)
        let testimony = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(testimony["complete"] as? Bool == false)
        #expect(((testimony["dropsDetail"] as? [String: Any])?["agent"] as? Int ?? 0) > 0)
    }
}

import CBPF
import Foundation
import Testing

/// Runs the real `witness-agent` binary (built next to this test bundle) against the
/// real kernel, with stdout and stderr in files, and reads back its JSON lines.
enum Agent {
    static var binary: String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("witness-agent").path
    }

    /// Runs the agent to completion.
    static func run(
        _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 60
    ) throws
        -> AgentResult
    {
        let running = try RunningAgent(arguments, environment: environment)
        return try running.finish(timeout: timeout)
    }

    /// Witness programs still loaded, once the kernel has freed what exited agents
    /// released (a closed link frees its program after an RCU grace period, a moment
    /// after the agent exits): waits up to two seconds for none. Tests run one at a
    /// time, so any left is a leak.
    static func witnessProgramsLeft() -> Int {
        let deadline = Date().addingTimeInterval(2)
        var count = witnessProgramCount()
        while count != 0 && Date() < deadline {
            usleep(20_000)
            count = witnessProgramCount()
        }
        return count
    }

    private static func witnessProgramCount() -> Int {
        KernelObjects.witnessProgramIDs().count
    }
}

/// Witness's programs and links in the kernel, found by the programs' names.
enum KernelObjects {
    /// IDs of loaded programs named witness_*.
    static func witnessProgramIDs() -> Set<UInt32> {
        var ids = Set<UInt32>()
        var id: UInt32 = 0
        while bpf_prog_get_next_id(id, &id) == 0 {
            let fd = bpf_prog_get_fd_by_id(id)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = bpf_prog_info()
            var length = UInt32(MemoryLayout<bpf_prog_info>.size)
            guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { continue }
            let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("witness_") { ids.insert(id) }
        }
        return ids
    }

    /// Links whose program is one of Witness's.
    static func witnessLinkCount() -> Int {
        let programs = witnessProgramIDs()
        var id: UInt32 = 0
        var count = 0
        while bpf_link_get_next_id(id, &id) == 0 {
            let fd = bpf_link_get_fd_by_id(id)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = bpf_link_info()
            var length = UInt32(MemoryLayout<bpf_link_info>.size)
            if bpf_obj_get_info_by_fd(fd, &info, &length) == 0, programs.contains(info.prog_id) { count += 1 }
        }
        return count
    }
}

/// What a finished agent run left behind.
struct AgentResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Every stdout line, parsed; a line that is not a JSON object fails the test.
    func jsonLines(sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        stdout.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if object == nil { Issue.record("not a JSON object: \(line.prefix(200))", sourceLocation: sourceLocation) }
            return object
        }
    }

    /// The output_fields of every event line.
    func events() -> [[String: Any]] {
        jsonLines().compactMap { $0["output_fields"] as? [String: Any] }
    }
}

/// An agent started in the background; waits for it to say it is attached.
final class RunningAgent {
    let process = Process()
    let directory: URL
    let stdoutURL: URL
    let stderrURL: URL

    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        directory = try Scratch.directory("agent")
        stdoutURL = directory.appendingPathComponent("stdout")
        stderrURL = directory.appendingPathComponent("stderr")
        try Scratch.write(stdoutURL.path, nil)
        try Scratch.write(stderrURL.path, nil)
        process.executableURL = URL(fileURLWithPath: Agent.binary)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// An agent a failed test never stopped must not outlive it: its programs would
    /// count in the next test's baseline.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits until the agent printed its "attached" line, or in node mode its
    /// "listening on" line (or died).
    func waitUntilAttached(timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let said = stderrText
            if said.contains("attached") || said.contains("; listening on") { return }
            if !process.isRunning { throw HarnessError.exitedEarly(stderrText) }
            usleep(10_000)
        }
        throw HarnessError.timeout("agent did not attach: \(stderrText)")
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    func finish(timeout: TimeInterval = 60, keepDirectory: Bool = false) throws -> AgentResult {
        do {
            try process.waitForExit(timeout: timeout)
        } catch {
            throw HarnessError.timeout("agent did not finish: \(stderrText)")
        }
        let result = AgentResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
            stderr: stderrText)
        if !keepDirectory { try? FileManager.default.removeItem(at: directory) }
        return result
    }

    enum HarnessError: Error {
        case exitedEarly(String)
        case timeout(String)
    }
}

extension Process {
    /// Waits at most `timeout` for the child to end, then kills it and throws: a
    /// stuck child fails its test instead of holding up the whole run.
    func waitForExit(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline {
                kill(processIdentifier, SIGKILL)
                throw RunningAgent.HarnessError.timeout("\(executableURL?.lastPathComponent ?? "child") did not exit")
            }
            usleep(5_000)
        }
        waitUntilExit()
    }
}

/// Unique scratch directories and helpers for the scripts the tests trace.
enum Scratch {
    static func directory(_ tag: String) throws -> URL {
        let url = URL(fileURLWithPath: "/tmp/witness-test-\(tag)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Creates (or empties) the file at `path` with `contents`.
    static func write(_ path: String, _ contents: Data?) throws {
        try (contents ?? Data()).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `sh -c script` to completion (outside any subject unless the script moves itself).
    @discardableResult
    static func shell(_ script: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try process.waitForExit()
        return process.terminationStatus
    }

    /// Runs `sh -c script` to completion and returns what it printed on stdout.
    static func output(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        try process.waitForExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Creates a file whose name is exactly `name` (any bytes but '/' and NUL).
    static func createFile(in directory: URL, named name: [UInt8]) throws {
        let path = Array(directory.path.utf8) + [UInt8(ascii: "/")] + name + [0]
        let fd = path.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                open($0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            }
        }
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        close(fd)
    }
}

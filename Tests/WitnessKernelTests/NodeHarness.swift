import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// A `witness-agent run` under test: its own token, config and spool in a scratch
/// directory, a loopback port the kernel picks (read back from the agent's
/// "listening on" line), and helpers to call its API.
final class NodeUnderTest {
    let directory: URL
    let port: Int
    let token: String
    let agent: RunningAgent
    var base: String { "http://127.0.0.1:\(port)" }

    /// - Parameter extraConfig: more YAML appended to the config (outputs, spool).
    /// - Parameter apiConfig: more lines for the `api:` block (indented by two spaces).
    init(
        extraConfig: String = "", apiConfig: String = "", spoolMaxBytes: String = "64M", directory reuse: URL? = nil
    ) throws {
        directory = try reuse ?? Scratch.directory("node")
        token = "test-token-" + UUID().uuidString
        try Scratch.write(directory.appendingPathComponent("token").path, Data((token + "\n").utf8))
        chmod(directory.appendingPathComponent("token").path, 0o600)  // the agent refuses a token others can read
        let config = """
            api:
              listen: 127.0.0.1:0
              token_file: \(directory.path)/token
            \(apiConfig)
            spool:
              directory: \(directory.path)/spool
              max_bytes: \(spoolMaxBytes)
            \(extraConfig)
            """
        try Scratch.write(directory.appendingPathComponent("config.yaml").path, Data(config.utf8))
        agent = try RunningAgent(["run", "--config", directory.appendingPathComponent("config.yaml").path])
        try agent.waitUntilAttached()
        let said = agent.stderrText
        guard let range = said.range(of: "listening on 127.0.0.1:"),
            let port = Int(said[range.upperBound...].prefix { $0.isNumber })
        else { throw RunningAgent.HarnessError.exitedEarly("no port in: \(said)") }
        self.port = port
    }

    /// One request; `token: nil` sends none.
    func call(
        _ method: HTTPMethod, _ path: String, body: String? = nil, token: String?? = .none
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        let presented: String? = token ?? self.token
        if let presented { request.headers.add(name: "Authorization", value: "Bearer \(presented)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    func json(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> [String: Any] {
        let (status, text) = try await call(method, path, body: body)
        guard (200..<300).contains(status) else { throw NodeTestError.status(status, text) }
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Opens a window; returns its id.
    func open(_ subject: String, window: String, trialID: String = "T", sostle: String? = nil) async throws -> String {
        let sostleField = sostle.map { ",\"sostle\":\"\($0)\"" } ?? ""
        let opened = try await json(
            .POST, "/v1/windows",
            body: "{\"trialId\":\"\(trialID)\",\"subject\":\(subject),\"window\":\"\(window)\"\(sostleField)}")
        return try #require(opened["id"] as? String)
    }

    /// Waits for window `id` to close; returns its testimony.
    func testimony(of id: String, timeout: TimeInterval = 30) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let window = try await json(.GET, "/v1/windows/\(id)")
            if let testimony = window["testimony"] as? [String: Any] { return testimony }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NodeTestError.timeout("window \(id) did not close")
    }

    func stop() throws -> AgentResult {
        agent.signal(SIGTERM)
        return try agent.finish()
    }
}

enum NodeTestError: Error {
    case status(Int, String)
    case timeout(String)
}

/// A real HTTP receiver on loopback standing in for Falcosidekick or the scoring
/// controller: records every POST body in arrival order, answering after `delay`.
final class Receiver: @unchecked Sendable {
    private let lock = NSLock()
    private var bodies: [(path: String, body: String)] = []
    private var task: Task<Void, any Error>?
    let port: Int
    /// Requests slower than this are answered late (a slow receiver).
    var delay: Duration {
        get { lock.withLock { storedDelay } }
        set { lock.withLock { storedDelay = newValue } }
    }
    private var storedDelay: Duration = .zero
    /// The first requests are answered with these, in order (and not counted as received).
    var answers: [HTTPResponse.Status] = []
    /// After those: the answer for a body (nil: 200).
    var answer: (@Sendable (String) -> HTTPResponse.Status)?
    /// Every request's status and Authorization header, in order.
    private var attempts: [(status: Int, authorization: String)] = []
    func attemptLog() -> [(status: Int, authorization: String)] { lock.withLock { attempts } }

    init(port: Int = LoopbackPort.next()) {
        self.port = port
    }

    func start() async throws {
        let router = Router()
        router.post("**") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            try await Task.sleep(for: self.delay)
            return self.lock.withLock {
                let text = String(buffer: body)
                let status = self.answers.isEmpty ? (self.answer?(text) ?? .ok) : self.answers.removeFirst()
                self.attempts.append((status.code, request.headers[.authorization] ?? ""))
                if status == .ok { self.bodies.append((request.uri.path, text)) }
                return status
            }
        }
        task = try await LoopbackServer.start(router, port: port)
    }

    func stop() async {
        await LoopbackServer.stop(task)
    }

    func received(path: String? = nil) -> [String] {
        lock.withLock { bodies.filter { path == nil || $0.path == path }.map(\.body) }
    }

    /// Waits until `count` bodies arrived at `path`.
    func wait(for count: Int, path: String, timeout: TimeInterval = 60) async throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let bodies = received(path: path)
            if bodies.count >= count { return bodies }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NodeTestError.timeout("receiver got \(received(path: path).count) of \(count) at \(path)")
    }
}

/// Runs a test server's router on loopback until its task is cancelled.
enum LoopbackServer {
    /// Returns once the server listens; throws what stopped it from listening.
    static func start(_ router: Router<BasicRequestContext>, port: Int) async throws -> Task<Void, any Error> {
        // Stopped by cancellation, which Hummingbird would report as errors.
        var logger = Logger(label: "test-server")
        logger.logLevel = .critical
        let started = AsyncStream<Void>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in started.continuation.yield() }, logger: logger)
        let task = Task {
            // A server that fails to bind ends the stream too, instead of leaving
            // the caller waiting forever.
            defer { started.continuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var listening = false
        for await _ in started.stream {
            listening = true
            break
        }
        guard listening else {
            // Cancelled (the test's time limit), or the server ended: say why.
            task.cancel()
            try Task.checkCancellation()
            try await task.value
            throw NodeTestError.timeout("server on port \(port) stopped before it listened")
        }
        return task
    }

    static func stop(_ task: Task<Void, any Error>?) async {
        task?.cancel()
        _ = try? await task?.value
    }
}

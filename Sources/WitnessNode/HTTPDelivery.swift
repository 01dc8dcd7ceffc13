import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WitnessCore

/// Delivers a spool's lines to an HTTP receiver, one POST per line, in order — what
/// Falco's http_output does for alerts (JSON body, Content-Type application/json),
/// so Falcosidekick or the scoring controller take them unchanged. A line leaves the
/// spool only when the receiver answered 2xx; connection errors, timeouts, 408, 429
/// and 5xx are retried with exponential backoff (250 ms doubling to 30 s); any other
/// status is a permanent rejection, counted and logged, and the next line goes on.
/// On graceful shutdown it keeps delivering for `drainSeconds`, then leaves the rest
/// on disk for the next start.
public final class HTTPDelivery: Service, Sendable {
    public struct Counters: Sendable {
        public var delivered: UInt64 = 0
        public var rejected: UInt64 = 0
        public var errors: UInt64 = 0
    }

    public let name: String
    public let spool: AlertSpool
    private let url: String
    private let headers: [(String, String)]
    private let timeout: TimeAmount
    private let client: HTTPClient
    private let logger: Logger
    private let counters = Mutex(Counters())
    private let drainSeconds: Int64

    public init(name: String, spool: AlertSpool, target: NodeConfig.HTTPTarget, drainSeconds: Int64 = 5, logger: Logger) throws(AgentError) {
        self.name = name
        self.spool = spool
        self.logger = logger
        self.drainSeconds = drainSeconds
        url = target.url
        var headers = target.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        if let file = target.tokenFile {
            headers.append(("Authorization", "Bearer " + (try BearerToken.read(file))))
        }
        self.headers = headers
        timeout = .milliseconds(Int64((try? DurationParser.milliseconds(target.timeout)) ?? 10_000))
        client = try HTTPClientFactory.make(caFile: target.caFile, setting: "\(name).ca_file", connect: .seconds(5), read: timeout)
    }

    public var counts: Counters { counters.withLock { $0 } }

    public func run() async throws {
        let shuttingDown = Mutex<ContinuousClock.Instant?>(nil)
        await withGracefulShutdownHandler {
            await deliver(until: { shuttingDown.withLock { $0 } })
        } onGracefulShutdown: {
            shuttingDown.withLock { $0 = .now + .seconds(self.drainSeconds) }
            self.spool.doorbell.ring()
        }
        spool.sync()
        try? await client.shutdown()
    }

    private enum Outcome {
        case delivered, rejected(UInt), failed(String)
    }

    private func deliver(until deadline: @Sendable () -> ContinuousClock.Instant?) async {
        let initialBackoff = Duration.milliseconds(250)
        var backoff = initialBackoff
        var failures = 0
        while true {
            if let stop = deadline(), ContinuousClock.now >= stop {
                let left = spool.depth
                if left > 0 { logger.warning("\(name): \(left) bytes left in the spool for the next start") }
                return
            }
            guard let line = spool.peek() else {
                if deadline() != nil { return }  // shutting down and nothing left
                await spool.doorbell.wait()
                continue
            }
            switch await post(line) {
            case .delivered:
                spool.acknowledge(line)
                counters.withLock { $0.delivered &+= 1 }
                if failures > 0 { logger.info("\(name): receiver is back after \(failures) failed attempts") }
                failures = 0
                backoff = initialBackoff
            case let .rejected(status):
                spool.acknowledge(line)
                counters.withLock { $0.rejected &+= 1 }
                logger.error("\(name): receiver rejected a line with HTTP \(status); dropped")
            case let .failed(reason):
                counters.withLock { $0.errors &+= 1 }
                failures += 1
                if failures == 1 || failures.isMultiple(of: 20) {
                    logger.warning("\(name): delivery failed (\(reason)); retrying in \(backoff), \(spool.depth) bytes spooled")
                }
                var wait = backoff
                if let stop = deadline() { wait = min(wait, stop - ContinuousClock.now) }
                if wait > .zero { try? await Task.sleep(for: wait) }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func post(_ line: [UInt8]) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: line))
        do {
            let response = try await client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 1 << 20)
            let code = response.status.code
            switch code {
            case 200..<300: return .delivered
            case 408, 429, 500...: return .failed("HTTP \(code)")
            default: return .rejected(code)
            }
        } catch {
            return .failed("\(error)")
        }
    }
}

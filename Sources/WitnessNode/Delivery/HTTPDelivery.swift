import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WitnessCore

/// Delivers a spool's lines to an HTTP receiver, one POST per line, in order — what
/// Falco's http_output does for alerts (JSON body, Content-Type application/json),
/// so Falcosidekick or the scoring controller take them unchanged.
///
/// At least once: a line leaves the spool only when the receiver answered 2xx, and
/// one answered just before a crash may be sent again (its `uuid` tells). 400, 413
/// and 422 say the line itself is wrong: it goes to the spool's dead-letter file,
/// logged and counted, and the next line goes on. Anything else — connection errors,
/// timeouts, 401/403 (a token being rotated: the token file is read again), 404 (a
/// receiver being deployed), 408, 429, 5xx — is retried with exponential backoff
/// (250 ms doubling to 30 s). A gated spool (testimonies) sends a line only once the
/// alert spool has delivered every alert queued before it. On graceful shutdown it
/// keeps delivering for `drainSeconds`, then leaves the rest on disk for the next start.
package final class HTTPDelivery: Service, Sendable {
    package struct Counters: Sendable {
        package var delivered: UInt64 = 0
        /// Lines the receiver refused as malformed (400, 413, 422), kept in the dead-letter file.
        var rejected: UInt64 = 0
        /// Failed attempts by HTTP status (0: no answer: connection error or timeout), each retried.
        var errorsByStatus: [UInt: UInt64] = [:]
        /// Failed attempts, all statuses.
        package var errors: UInt64 { errorsByStatus.values.reduce(0, &+) }
        /// Rejected lines the dead-letter file had no room for (lost, and logged).
        var deadLetterLost: UInt64 = 0
    }

    package let name: String
    package let spool: AlertSpool
    private let url: String
    private let headers: [(String, String)]
    private let token: BearerToken?
    /// For testimonies: the alert spool whose earlier lines must be delivered first.
    private let gate: AlertSpool?
    private let timeout: TimeAmount
    private let client: HTTPClient
    private let logger: Logger
    private let counters = Mutex(Counters())
    /// When the request in flight started (monotonic ns), 0 when none is.
    private let inFlightSince = Atomic<UInt64>(0)
    private let drainSeconds: Int64

    package init(
        name: String, spool: AlertSpool, target: NodeConfig.HTTPTarget, after gate: AlertSpool? = nil,
        drainSeconds: Int64 = 5, logger: Logger
    ) throws(AgentError) {
        self.name = name
        self.spool = spool
        self.gate = gate
        self.logger = logger
        self.drainSeconds = drainSeconds
        url = target.url
        var headers = target.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        token = try target.tokenFile.map { file throws(AgentError) in try BearerToken(file: file) }
        self.headers = headers
        timeout = .milliseconds(Int64((try? DurationParser.milliseconds(target.timeout)) ?? 10_000))
        client = try HTTPClientFactory.make(
            caFile: target.caFile, setting: "\(name).ca_file", connect: .seconds(5), read: timeout)
    }

    package var counts: Counters { counters.withLock { $0 } }

    package func run() async throws {
        let shuttingDown = Mutex<ContinuousClock.Instant?>(nil)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.keepDurable() }
                await deliver(until: { shuttingDown.withLock { $0 } })
                group.cancelAll()
            }
        } onGracefulShutdown: {
            shuttingDown.withLock { $0 = .now + .seconds(self.drainSeconds) }
            self.spool.doorbell.ring()
            self.gate?.acknowledged.ring()
        }
        spool.sync()
        try? await client.shutdown()
    }

    /// Returns at the next ring of `bell`, or after `limit`, whichever comes first.
    private static func wait(for bell: Doorbell, atMost limit: Duration) async {
        guard limit > .zero else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await bell.wait() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Syncs the spool within its interval of each change, and sleeps otherwise.
    private func keepDurable() async {
        while !Task.isCancelled {
            await spool.unsynced.wait()
            while let wait = spool.syncIfDue(), !Task.isCancelled {
                try? await Task.sleep(for: wait)
            }
        }
    }

    private enum Outcome {
        case delivered, rejected(UInt), failed(UInt, String)
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
            guard let (line, after) = spool.peekGated() else {
                if deadline() != nil { return }  // shutting down and nothing left
                await spool.doorbell.wait()
                continue
            }
            if let after, let gate, !gate.hasDelivered(through: after) {
                // A testimony waits for its window's alerts; when shutting down, only
                // until the deadline (then it waits on disk for the next start).
                if let stop = deadline() {
                    await Self.wait(for: gate.acknowledged, atMost: stop - ContinuousClock.now)
                } else {
                    await gate.acknowledged.wait()
                }
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
                let kept = spool.deadLetter(line)
                spool.acknowledge(line)
                counters.withLock {
                    $0.rejected &+= 1
                    if !kept { $0.deadLetterLost &+= 1 }
                }
                logger.error(
                    "\(name): receiver rejected a line with HTTP \(status); \(kept ? "kept in \(spool.deadLetterPath)" : "lost: the dead-letter file is full")"
                )
            case let .failed(status, reason):
                counters.withLock { $0.errorsByStatus[status, default: 0] &+= 1 }
                failures += 1
                if failures == 1 || failures.isMultiple(of: 20) {
                    logger.warning(
                        "\(name): delivery failed (\(reason)); retrying in \(backoff), \(spool.depth) bytes spooled")
                }
                var wait = backoff
                if let stop = deadline() { wait = min(wait, stop - ContinuousClock.now) }
                if wait > .zero { try? await Task.sleep(for: wait) }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// Why this output counts as wedged, or nil: a request has been in flight for
    /// `limit` past its own timeout (the client should have given up by then).
    func wedged(after limit: Duration) -> String? {
        let started = inFlightSince.load(ordering: .relaxed)
        guard started != 0 else { return nil }
        let elapsed = Duration.nanoseconds(Int64(WallClock.bootNow() &- started))
        let budget = Duration.nanoseconds(timeout.nanoseconds) + limit
        return elapsed > budget ? "\(name): a delivery has been in flight for \(elapsed.components.seconds) s" : nil
    }

    private func post(_ line: [UInt8]) async -> Outcome {
        inFlightSince.store(WallClock.bootNow(), ordering: .relaxed)
        defer { inFlightSince.store(0, ordering: .relaxed) }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token { request.headers.add(name: "Authorization", value: token.authorization) }
        request.body = .bytes(ByteBuffer(bytes: line))
        do {
            let response = try await client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 1 << 20)
            let code = response.status.code
            switch code {
            case 200..<300: return .delivered
            case 400, 413, 422: return .rejected(code)
            default: return .failed(code, "HTTP \(code)")
            }
        } catch {
            return .failed(0, "\(error)")
        }
    }
}

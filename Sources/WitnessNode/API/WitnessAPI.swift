import Hummingbird
import NIOCore
import Synchronization
import WitnessCore

/// The controller's HTTP API (Hummingbird): witness windows under /v1 and /metrics,
/// each behind the bearer token (metrics open only with `api.public_metrics`: how
/// many windows are open tells a subject when it is watched); /healthz and /readyz
/// open, as kubelet expects. Bodies are size-limited and validated; every answer is JSON
/// (`{"error": "..."}` for failures) except the NDJSON alert stream and metrics.
package struct WitnessAPI: Sendable {
    let registry: WindowRegistry
    let streams: AlertStreams
    let token: BearerToken
    /// Signs testimonies (nil: this node does not sign).
    let notary: TestimonyNotary?
    let publicMetrics: Bool
    let maxBodyBytes: Int
    let defaultMilliseconds: Int
    /// Set once the programs are attached (`/readyz`).
    let ready: Readiness
    let metrics: @Sendable () async -> [UInt8]
    /// Why the agent is not alive (a stuck consumer, a wedged output), or nil.
    let liveness: @Sendable () -> String?

    package init(
        registry: WindowRegistry, streams: AlertStreams, token: BearerToken, notary: TestimonyNotary? = nil,
        publicMetrics: Bool = false,
        maxBodyBytes: Int, defaultMilliseconds: Int, ready: Readiness,
        liveness: @escaping @Sendable () -> String? = { nil },
        metrics: @escaping @Sendable () async -> [UInt8]
    ) {
        self.liveness = liveness
        self.registry = registry
        self.streams = streams
        self.token = token
        self.notary = notary
        self.publicMetrics = publicMetrics
        self.maxBodyBytes = maxBodyBytes
        self.defaultMilliseconds = defaultMilliseconds
        self.ready = ready
        self.metrics = metrics
    }

    package func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in
            // Not a constant: a consumer stuck on a read keeps no window closing.
            guard let reason = liveness() else { return Self.json(.ok, "{\"status\":\"ok\"}") }
            return Self.error(.serviceUnavailable, reason)
        }
        router.get("readyz") { _, _ in
            ready.isReady
                ? Self.json(.ok, "{\"status\":\"ready\"}") : Self.json(.serviceUnavailable, "{\"status\":\"starting\"}")
        }
        let metricsRoutes =
            publicMetrics ? router.group() : router.group().add(middleware: BearerAuthMiddleware(token: token))
        metricsRoutes.get("metrics") { _, _ in
            let text = await metrics()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        let v1 = router.group("v1").add(middleware: BearerAuthMiddleware(token: token))
        v1.post("windows") { request, _ in try await openWindow(request) }
        v1.get("windows") { _, _ in
            let windows = await registry.list()
            return Self.json(.ok, "{\"windows\":[" + windows.map { $0.json() }.joined(separator: ",") + "]}")
        }
        v1.get("windows/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let window = await registry.window(id) else { return Self.notFound(id) }
            return Self.json(.ok, window.json())
        }
        v1.delete("windows/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let window = await registry.close(id, end: .deleted) else { return Self.notFound(id) }
            return Self.json(.ok, window.json())
        }
        v1.get("windows/:id/attestation") { _, context in
            let id = try context.parameters.require("id")
            guard let window = await registry.window(id) else { return Self.notFound(id) }
            guard window.state == .closed else {
                return Self.error(
                    .conflict, "window \(id) is \(window.state.rawValue): its attestation is made when it closes")
            }
            guard let attestation = window.attestation else {
                return Self.error(.notFound, "window \(id) has no attestation: this node signs none (signing.key_file)")
            }
            return Self.json(.ok, attestation)
        }
        v1.get("identity") { _, _ in Self.json(.ok, NodeIdentity.json(notary)) }
        v1.get("windows/:id/alerts") { _, context in
            let id = try context.parameters.require("id")
            let stream: AlertStream
            switch streams.subscribe(window: id) {
            case .unknown: return Self.notFound(id)
            case .full:
                return Self.error(
                    .tooManyRequests, "window \(id) has \(streams.maxSubscribers) alert streams open already")
            case .stream(let opened): stream = opened
            }
            return Response(
                status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-cache"],
                body: .init(asyncSequence: stream.map { ByteBuffer(bytes: $0) }))
        }
        return router
    }

    private func openWindow(_ request: Request) async throws -> Response {
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            // 400, not 413: the controller treats every malformed request alike.
            return Self.error(.badRequest, "the body is larger than \(maxBodyBytes) bytes")
        }
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        do throws(WindowError) {
            let parsed = try WindowRequestParser.parse(bytes, defaultMilliseconds: defaultMilliseconds)
            let window = try await registry.open(parsed)
            return Self.json(.created, window.json(), location: "/v1/windows/\(window.id)")
        } catch {
            switch error.kind {
            case .badRequest: return Self.error(.badRequest, error.message)
            case .notFound: return Self.error(.notFound, error.message)
            case .unavailable: return Self.error(.serviceUnavailable, error.message)
            }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String, location: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{\"error\":")
        writer.string(message)
        writer.raw("}")
        return json(status, String(decoding: writer.bytes, as: UTF8.self))
    }

    static func notFound(_ id: String) -> Response {
        error(.notFound, "no window \(WindowRequestParser.printable(id)) on this node")
    }
}

/// Lets a request through only with `Authorization: Bearer <token>`; anything else
/// gets 401 before a handler runs, so nothing is opened or read.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: BearerToken

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard token.accepts(authorization: request.headers[.authorization]) else {
            var response = WitnessAPI.error(.unauthorized, "a valid bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer realm=\"witness\""
            return response
        }
        return try await next(request, context)
    }
}

/// Whether the programs are attached and windows can open (`/readyz`).
package final class Readiness: Sendable {
    private let flag = Atomic<Bool>(false)

    package init() {}

    var isReady: Bool { flag.load(ordering: .acquiring) }

    package func set(_ ready: Bool) {
        flag.store(ready, ordering: .releasing)
    }
}

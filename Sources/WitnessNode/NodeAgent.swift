import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals
import WitnessAttestation
import WitnessCore
import WitnessKernel
import WitnessRules

/// `witness-agent run`: the DaemonSet agent. Loads and attaches the programs once,
/// then serves the controller's API; windows open and close as map entries. Alerts
/// go to stdout, the file output and the HTTP output (through the spool);
/// testimonies to stdout and the testimony URL (through a spool of their own).
///
/// Shutdown (SIGTERM, SIGINT) runs in this order: the kernel service stops taking
/// windows, closes each open one as cut short (testimony produced, alert streams
/// ended) and detaches; then the API finishes in-flight requests; then the HTTP
/// outputs deliver what they can for a few seconds and leave the rest spooled.
package enum NodeAgent {
    package static func run(
        config: NodeConfig, rules: LoadedRules?, verbose: Int, announce: @escaping @Sendable (String) -> Void
    ) async throws {
        let logger = {
            var logger = Logger(label: "witness-agent")
            logger.logLevel = verbose > 0 ? .debug : .info
            return logger
        }()
        let token = try BearerToken(file: config.api.tokenFile ?? "", privateOnly: true)
        for capability in NodeCapabilities.missing() {
            logger.warning("without CAP_\(capability.name) the agent cannot \(capability.reason)")
        }
        let address = try ListenAddress(config.api.listen)
        let cgroups = try CgroupFS.detect()
        let resolver = SubjectResolver(cgroups: cgroups, procRoot: config.procRoot)

        let memoryBudget = try DurationParser.bytes(config.memoryBudget)
        let streams = AlertStreams(totalHistoryLimit: memoryBudget / 4)
        let outputs = try Outputs(config: config, streams: streams, logger: logger)
        let (alertSpool, deliveries, router) = (outputs.alertSpool, outputs.deliveries, outputs.router)
        let stdout = config.stdoutOutput ? OutputSink(fd: 1) : OutputSink.discarding()

        let podCache = PodMetadataCache()
        let hostname = HostName.current()
        let watcher = try KubernetesPodWatcher.make(
            config.kubernetes, environment: ProcessInfo.processInfo.environment,
            hostname: String(decoding: hostname, as: UTF8.self), cache: podCache, logger: logger)
        // The key before the programs: a node that cannot sign never starts.
        let notary = try config.signing.keyFile.map { (file) throws(AgentError) in
            let key: RotatingSigningKey
            do throws(AttestationError) { key = try RotatingSigningKey(file: file) } catch {
                throw AgentError.usage("config: signing.key_file: \(error.description)")
            }
            return TestimonyNotary(
                key: key,
                nodeName: config.kubernetes.node(
                    environment: ProcessInfo.processInfo.environment,
                    hostname: String(decoding: hostname, as: UTF8.self)),
                rules: RulesDigest((rules?.sources ?? []).map { ($0.name, $0.text) }), pods: watcher?.cache,
                logger: logger)
        }
        let kernel = try NodeKernel(
            probeOptions: .init(
                ringBufferBytes: try DurationParser.bytes(config.ringBuffer), logLevel: verbose, btfPath: config.btf),
            rules: rules, sink: stdout, printsEvents: config.events, alwaysLinked: config.alwaysLinked,
            alertTap: router, cgroups: cgroups,
            processes: ProcessTable(procRoot: config.procRoot, byteBudget: memoryBudget / 2), hostname: hostname,
            pods: watcher?.cache)
        kernel.start()

        let registry = try outputs.registry(
            kernel: kernel, resolver: resolver, config: config, notary: notary, logger: logger)
        // An armed window's cgroup was created: its window becomes active.
        kernel.onWindowActivated { [registry] slot, bootTime in
            Task { await registry.activated(slot: slot, bootTime: bootTime) }
        }
        // Windows an earlier agent left open testify now, before anything new opens.
        await registry.recover()
        await registry.startCheckpoints()
        let ready = Readiness()
        ready.set(true)
        let metrics = NodeMetrics()
        let livenessLimit = Duration.milliseconds(try DurationParser.milliseconds(config.livenessTimeout))
        let api = WitnessAPI(
            registry: registry, streams: streams, token: token, notary: notary,
            publicMetrics: config.api.publicMetrics,
            maxBodyBytes: config.api.maxBodyBytes,
            defaultMilliseconds: try DurationParser.milliseconds(config.defaultWindow), ready: ready,
            liveness: { [kernel, deliveries] in
                kernel.stall(after: livenessLimit)
                    ?? deliveries.lazy.compactMap { $0.wedged(after: livenessLimit) }.first
            },
            metrics: { [deliveries] in
                let snapshot = await kernel.snapshot()
                var state = NodeMetrics.NodeState()
                state.openWindows = await registry.openCount
                state.armedWindows = await registry.armedCount
                state.spoolBytes = alertSpool?.depth ?? 0
                state.spoolDropped = alertSpool?.dropped ?? 0
                state.outputs = deliveries.map { ($0.name, $0.counts) }
                state.fileErrors = config.fileOutput.enabled ? router.fileErrors : nil
                state.ringBufferFill = kernel.probe.ringBufferFill()
                if let watcher { state.kubernetes = (watcher.cache.count, watcher.counts) }
                return metrics.render(snapshot, state)
            })
        let server = try serverBuilder(config.api.tls)
        let application = Application(
            router: api.router(),
            server: server,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "witness-agent"),
            onServerRunning: { channel in
                let bound = channel.localAddress.flatMap { address in
                    address.ipAddress.map { ($0.contains(":") ? "[\($0)]" : $0) + ":\(address.port ?? 0)" }
                }
                announce("listening on \(bound ?? config.api.listen)")
                ResidentMemory.releaseStartupPages()
            },
            logger: logger)
        let kernelService = KernelService(kernel: kernel, registry: registry, ready: ready, logger: logger)

        var services: [any Service] = deliveries
        if let watcher { services.append(watcher) }
        services.append(application)
        services.append(kernelService)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError {
            // The only socket the agent binds is the API's.
            throw AgentError.runtime(
                "cannot listen on \(config.api.listen): \(String(cString: strerror(error.errnoCode)))")
        }
    }
}

/// Where node mode's lines go: the spools and HTTP deliveries of alerts and
/// testimonies, the file output, testimony lines, and the router that hands each
/// alert to them and to the windows' live streams.
struct Outputs {
    let alertSpool: AlertSpool?
    let testimonySpool: AlertSpool?
    var deliveries: [HTTPDelivery] = []
    let testimonyLines: TestimonyLines
    let router: AlertRouter

    init(config: NodeConfig, streams: AlertStreams, logger: Logger) throws {
        let spoolBytes = try DurationParser.bytes(config.spool.maxBytes)
        let syncInterval = Duration.milliseconds(try DurationParser.milliseconds(config.spool.syncInterval))
        alertSpool =
            config.httpOutput.enabled
            ? try AlertSpool(
                directory: config.spool.directory + "/alerts", maxBytes: spoolBytes, syncInterval: syncInterval)
            : nil
        testimonySpool =
            config.testimonyOutput.enabled
            ? try AlertSpool(
                directory: config.spool.directory + "/testimonies", maxBytes: spoolBytes, syncInterval: syncInterval)
            : nil
        if let alertSpool {
            deliveries.append(
                try HTTPDelivery(name: "http_output", spool: alertSpool, target: config.httpOutput, logger: logger))
        }
        if let testimonySpool {
            deliveries.append(
                try HTTPDelivery(
                    name: "testimony_output", spool: testimonySpool, target: config.testimonyOutput, after: alertSpool,
                    logger: logger))
        }
        let file = config.fileOutput.enabled ? try OutputSink.appending(to: config.fileOutput.filename) : nil
        // Testimony lines have descriptors of their own (O_APPEND), written on
        // the consumer thread like the alerts.
        testimonyLines = TestimonyLines(
            stdout: config.stdoutOutput,
            file: config.fileOutput.enabled ? try OutputSink.appending(to: config.fileOutput.filename) : nil)
        router = AlertRouter(file: file, spool: alertSpool, streams: streams)
    }

    /// The window registry, its testimonies written and spooled by these outputs.
    func registry(
        kernel: NodeKernel, resolver: SubjectResolver, config: NodeConfig, notary: TestimonyNotary?, logger: Logger
    ) throws -> WindowRegistry {
        let (testimonyLines, testimonySpool, alertSpool, router) = (
            self.testimonyLines, self.testimonySpool, self.alertSpool, self.router
        )
        let streams = router.streams
        return WindowRegistry(
            kernel: kernel, resolver: resolver, streams: streams, router: router,
            maxMilliseconds: try DurationParser.milliseconds(config.maxWindow),
            journal: try WindowJournal(
                spoolDirectory: config.spool.directory, onError: { logger.error("window journal: \($0)") }),
            recordings: try WindowRecordings(
                spoolDirectory: config.spool.directory,
                maxBytes: UInt64(try DurationParser.bytes(config.spool.recordingMaxBytes)),
                kept: config.spool.recordingsKept, rules: config.rulesFiles),
            notary: notary,
            onTestimony: { [kernel, testimonyLines, testimonySpool, alertSpool] line in
                let bytes = Array((line + "\n").utf8)
                // Written by the consumer thread, after the alerts it buffered.
                kernel.perform { testimonyLines.write(bytes) }
                guard let testimonySpool else { return true }  // no receiver: the output lines are all there is
                // Sent once every alert queued before it (its window's among them) was delivered.
                let stored = testimonySpool.append(line, after: alertSpool) && testimonySpool.commit() == 0
                testimonySpool.sync()
                if !stored {
                    logger.error(
                        "testimony_output: the spool could not take a testimony (full or disk error); its window stays journaled"
                    )
                }
                return stored
            })
    }
}

/// The API server: TLS when configured.
private func serverBuilder(_ tls: NodeConfig.TLS?) throws -> HTTPServerBuilder {
    try tls.map { tls throws(AgentError) in
        do { return try .tls(.http1(), tlsConfiguration: try ServerTLS.configuration(tls)) } catch let error
            as AgentError
        {
            throw error
        } catch {
            throw AgentError.usage("api.tls: \(error)")
        }
    } ?? .http1()
}

/// Writes testimony lines to stdout and the file output, whole and synced; used
/// on the consumer thread (`NodeKernel.perform`).
final class TestimonyLines: @unchecked Sendable {
    private let lock = Mutex(())
    private let stdout: OutputSink?
    private let file: OutputSink?

    init(stdout: Bool, file: OutputSink?) {
        self.stdout = stdout ? OutputSink(fd: 1) : nil
        self.file = file
    }

    func write(_ bytes: [UInt8]) {
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                stdout?.write(buffer)
                if let file {
                    file.write(buffer)
                    file.sync()
                }
            }
        }
    }
}

/// Keeps the kernel side running until shutdown, then closes every open window as
/// cut short and detaches the programs.
final class KernelService: Service {
    let kernel: NodeKernel
    let registry: WindowRegistry
    let ready: Readiness
    let logger: Logger

    init(kernel: NodeKernel, registry: WindowRegistry, ready: Readiness, logger: Logger) {
        self.kernel = kernel
        self.registry = registry
        self.ready = ready
        self.logger = logger
    }

    func run() async throws {
        try? await gracefulShutdown()
        ready.set(false)
        let open = await registry.openCount
        if open > 0 { logger.info("shutting down: closing \(open) open window\(open == 1 ? "" : "s") as cut short") }
        await registry.shutdown()
        let start = WallClock.bootNow()
        await kernel.stop()
        logger.info("programs detached in \(Double((WallClock.bootNow() - start) / 100_000) / 10) ms")
    }
}

// Loaded once, read-only afterwards, handed from the command to the node once.
extension LoadedRules: @unchecked Sendable {}

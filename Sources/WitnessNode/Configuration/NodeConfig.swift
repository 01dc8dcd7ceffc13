import WitnessCore
import WitnessRules
import Yams

/// The node agent's configuration (`witness-agent run --config FILE`), YAML in the
/// spirit of falco.yaml: snake_case keys, one block per output. Every key has a
/// default, so an empty file is a working local agent; unknown keys are errors,
/// because a misspelt `token_file` must not silently mean "no auth".
package struct NodeConfig: Sendable, Equatable {
    package struct API: Sendable, Equatable {
        /// HOST:PORT to listen on.
        package var listen = "127.0.0.1:8765"
        /// File holding the bearer token every /v1 route requires (a Secret mount).
        package var tokenFile: String?
        /// Largest request body accepted.
        package var maxBodyBytes = 4 << 20  // a window request may carry a baseline profile
        /// Serve /metrics without the token. Off: the number of open windows tells a
        /// subject on the network when it is being watched.
        package var publicMetrics = false
        /// Serve the API over TLS; nil: plain HTTP (loopback, or behind a mesh).
        package var tls: TLS?
    }

    /// The API's TLS: its certificate and key, and with `clientCAFile` a client
    /// certificate signed by one of those CAs is required (mutual TLS).
    package struct TLS: Sendable, Equatable {
        package var certFile = ""
        package var keyFile = ""
        var clientCAFile: String?
    }

    /// An HTTP receiver: alerts (Falco's http_output) or testimonies.
    package struct HTTPTarget: Sendable, Equatable {
        package var enabled = false
        package var url = ""
        package var headers: [String: String] = [:]
        /// File holding a bearer token sent as `Authorization: Bearer ...`.
        package var tokenFile: String?
        /// PEM file of the CAs that sign the receiver's certificate (https URLs).
        package var caFile: String?
        /// How long one POST may take before it is retried.
        package var timeout = "10s"
    }

    package struct FileOutput: Sendable, Equatable {
        package var enabled = false
        package var filename = ""
    }

    package struct Spool: Sendable, Equatable {
        /// Where undelivered alerts and testimonies wait, across restarts.
        package var directory = "/var/lib/witness/spool"
        /// The most they may take on disk; beyond it alerts are dropped and counted.
        package var maxBytes = "64M"
        /// How soon a written line or a delivery is made durable (fsync): what a node
        /// crash can cost is at most this much (lines re-sent, never lost).
        package var syncInterval = "1s"
        /// Windows asked to record: the largest recording, and how many are kept.
        var recordingMaxBytes = "64M"
        var recordingsKept = 16
    }

    /// Pod metadata from the Kubernetes API (a watch on this node's pods).
    package struct Kubernetes: Sendable, Equatable {
        /// nil: on when the in-cluster environment (KUBERNETES_SERVICE_HOST) is there.
        package var enabled: Bool?
        /// The API server; default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
        var apiURL: String?
        package var tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
        package var caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        /// This node's name; default: $NODE_NAME, else the host name.
        package var nodeName: String?

        /// This node's name as the pod watch and the node's signed statements use it.
        func node(environment: [String: String], hostname: String) -> String {
            nodeName ?? environment["NODE_NAME"] ?? hostname
        }
    }

    /// Signed testimonies: the node's Ed25519 key (a Secret mount, re-read when it
    /// rotates); nil: testimonies go unsigned.
    package struct Signing: Sendable, Equatable {
        package var keyFile: String?
    }

    package var api = API()
    package var kubernetes = Kubernetes()
    package var signing = Signing()
    /// Rules files in load order; empty means the built-in rules.
    package var rulesFiles: [String] = []
    package var minimumPriority = "debug"
    package var ringBuffer = "4M"
    package var btf: String?
    /// Window length when a request gives none.
    package var defaultWindow = "60s"
    /// The longest window a request may ask for.
    var maxWindow = "24h"
    /// What the agent's own bookkeeping may hold, in bytes: half for the process
    /// table, a quarter for the windows' alert histories. What does not fit is
    /// forgotten and counted as loss in the windows it belonged to. The default fits
    /// the DaemonSet's 256 Mi limit with the ring buffer and the runtime beside it.
    var memoryBudget = "128M"
    /// /healthz fails when the consumer has left records or window commands waiting
    /// this long, or an output's request has hung this long past its timeout.
    var livenessTimeout = "10s"
    package var stdoutOutput = true
    /// Print every witnessed event, not only alerts (a debugging aid).
    package var events = false
    /// Keep the programs linked with no window open. Off (the default), a node nobody
    /// witnesses pays nothing per syscall, but a process that times its syscalls can
    /// tell when linking starts; on, every process pays the subject check always and
    /// nobody can tell.
    package var alwaysLinked = false
    package var fileOutput = FileOutput()
    package var httpOutput = HTTPTarget()
    package var testimonyOutput = HTTPTarget()
    package var spool = Spool()
    /// Where the host's /proc is mounted (a container sees it at /host/proc).
    package var procRoot = "/proc"

    package init() {}

    /// Parses a config file's text; `name` is used in error messages.
    package init(yaml text: String, name: String) throws(AgentError) {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw AgentError.usage("config \(name): not YAML: \(Self.firstLine(error))")
        }
        guard let node else { return }
        guard let root = node.mapping else { throw AgentError.usage("config \(name): the top level must be a mapping") }
        let reader = ConfigReader(name: name)
        for (key, value) in root {
            let path = key.string ?? "?"
            switch path {
            case "api":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    switch key {
                    case "listen": api.listen = try reader.string(value, path)
                    case "token_file": api.tokenFile = try reader.string(value, path)
                    case "max_body_bytes": api.maxBodyBytes = try reader.integer(value, path, in: 64...(16 << 20))
                    case "public_metrics": api.publicMetrics = try reader.boolean(value, path)
                    case "tls":
                        var tls = TLS()
                        try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                            switch key {
                            case "cert_file": tls.certFile = try reader.string(value, path)
                            case "key_file": tls.keyFile = try reader.string(value, path)
                            case "client_ca_file": tls.clientCAFile = try reader.string(value, path)
                            default: throw reader.unknown(path)
                            }
                        }
                        api.tls = tls
                    default: throw reader.unknown(path)
                    }
                }
            case "kubernetes":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    switch key {
                    case "enabled": kubernetes.enabled = try reader.boolean(value, path)
                    case "api_url": kubernetes.apiURL = try reader.string(value, path)
                    case "token_file": kubernetes.tokenFile = try reader.string(value, path)
                    case "ca_file": kubernetes.caFile = try reader.string(value, path)
                    case "node_name": kubernetes.nodeName = try reader.string(value, path)
                    default: throw reader.unknown(path)
                    }
                }
            case "signing":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    guard key == "key_file" else { throw reader.unknown(path) }
                    signing.keyFile = try reader.string(value, path)
                }
            case "rules_files": rulesFiles = try reader.strings(value, path)
            case "priority": minimumPriority = try reader.string(value, path)
            case "ring_buffer": ringBuffer = try reader.string(value, path)
            case "btf": btf = try reader.string(value, path)
            case "default_window": defaultWindow = try reader.string(value, path)
            case "max_window": maxWindow = try reader.string(value, path)
            case "liveness_timeout": livenessTimeout = try reader.string(value, path)
            case "memory_budget": memoryBudget = try reader.string(value, path)
            case "events": events = try reader.boolean(value, path)
            case "always_linked": alwaysLinked = try reader.boolean(value, path)
            case "proc_root": procRoot = try reader.string(value, path)
            case "stdout_output":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    guard key == "enabled" else { throw reader.unknown(path) }
                    stdoutOutput = try reader.boolean(value, path)
                }
            case "file_output":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    switch key {
                    case "enabled": fileOutput.enabled = try reader.boolean(value, path)
                    case "filename": fileOutput.filename = try reader.string(value, path)
                    default: throw reader.unknown(path)
                    }
                }
            case "http_output": httpOutput = try reader.target(value, path)
            case "testimony_output": testimonyOutput = try reader.target(value, path)
            case "spool":
                try reader.mapping(value, path) { (key, value, path) throws(AgentError) in
                    switch key {
                    case "directory": spool.directory = try reader.string(value, path)
                    case "max_bytes": spool.maxBytes = try reader.string(value, path)
                    case "sync_interval": spool.syncInterval = try reader.string(value, path)
                    case "recording_max_bytes": spool.recordingMaxBytes = try reader.string(value, path)
                    case "recordings_kept": spool.recordingsKept = try reader.integer(value, path, in: 1...10_000)
                    default: throw reader.unknown(path)
                    }
                }
            default: throw reader.unknown(path)
            }
        }
    }

    /// Checks values that parse but cannot work; the first problem, as one line.
    package func validate() throws(AgentError) {
        _ = try ListenAddress(api.listen)
        guard Priority(falcoName: minimumPriority) != nil else {
            throw AgentError.usage(
                "config: bad priority '\(minimumPriority)': use emergency, alert, critical, error, warning, notice, informational or debug"
            )
        }
        guard api.tokenFile != nil else {
            throw AgentError.usage("config: api.token_file is required: every /v1 route needs a bearer token")
        }
        for (name, window) in [
            ("default_window", defaultWindow), ("max_window", maxWindow), ("liveness_timeout", livenessTimeout),
        ] {
            do { _ = try DurationParser.milliseconds(window) } catch {
                throw AgentError.usage("config: \(name): \(error.message)")
            }
        }
        let ring = try DurationParser.bytes(ringBuffer)
        guard ring >= 4096, ring & (ring - 1) == 0 else {
            throw AgentError.usage("config: ring_buffer must be a power of two of at least 4K, got \(ringBuffer)")
        }
        _ = try DurationParser.bytes(spool.maxBytes)
        _ = try DurationParser.bytes(spool.recordingMaxBytes)
        guard (1...10_000).contains(spool.recordingsKept) else {
            throw AgentError.usage("config: spool.recordings_kept must be from 1 to 10000, got \(spool.recordingsKept)")
        }
        guard let budget = try? DurationParser.bytes(memoryBudget), budget >= 1 << 20 else {
            throw AgentError.usage("config: memory_budget must be a size of at least 1M, got '\(memoryBudget)'")
        }
        if let tls = api.tls, tls.certFile.isEmpty || tls.keyFile.isEmpty {
            throw AgentError.usage("config: api.tls needs cert_file and key_file")
        }
        let sync = (try? DurationParser.milliseconds(spool.syncInterval)) ?? -1
        guard sync >= 1 && sync <= 1000 else {
            throw AgentError.usage(
                "config: spool.sync_interval must be a duration from 1ms to 1s, got '\(spool.syncInterval)'")
        }
        if fileOutput.enabled && fileOutput.filename.isEmpty {
            throw AgentError.usage("config: file_output.filename is required when file_output is enabled")
        }
        for (name, target) in [("http_output", httpOutput), ("testimony_output", testimonyOutput)] where target.enabled
        {
            guard target.url.hasPrefix("http://") || target.url.hasPrefix("https://") else {
                throw AgentError.usage("config: \(name).url must be an http:// or https:// URL, got '\(target.url)'")
            }
            do { _ = try DurationParser.milliseconds(target.timeout) } catch {
                throw AgentError.usage("config: \(name).timeout: \(error.message)")
            }
        }
    }

    static func firstLine(_ error: any Error) -> String {
        "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }
}

/// Reads typed values out of the YAML tree, each error naming the key and line.
private struct ConfigReader {
    let name: String

    func fail(_ node: Yams.Node, _ path: String, _ what: String) -> AgentError {
        AgentError.usage("config \(name):\(node.mark.map { "\($0.line):" } ?? "") \(path): \(what)")
    }

    func unknown(_ path: String) -> AgentError {
        AgentError.usage("config \(name): unknown key \(path)")
    }

    func string(_ node: Yams.Node, _ path: String) throws(AgentError) -> String {
        guard let scalar = node.scalar else { throw fail(node, path, "expected a string") }
        return scalar.string
    }

    func boolean(_ node: Yams.Node, _ path: String) throws(AgentError) -> Bool {
        guard let value = node.bool else { throw fail(node, path, "expected true or false") }
        return value
    }

    func integer(_ node: Yams.Node, _ path: String, in range: ClosedRange<Int>) throws(AgentError) -> Int {
        guard let value = node.int, range.contains(value) else {
            throw fail(node, path, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func strings(_ node: Yams.Node, _ path: String) throws(AgentError) -> [String] {
        guard let sequence = node.sequence else { throw fail(node, path, "expected a list of strings") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, path)) }
        return result
    }

    func mapping(
        _ node: Yams.Node, _ path: String, _ each: (String, Yams.Node, String) throws(AgentError) -> Void
    ) throws(AgentError) {
        guard let mapping = node.mapping else { throw fail(node, path, "expected a mapping") }
        for (key, value) in mapping {
            let name = key.string ?? "?"
            try each(name, value, path + "." + name)
        }
    }

    func target(_ node: Yams.Node, _ path: String) throws(AgentError) -> NodeConfig.HTTPTarget {
        var target = NodeConfig.HTTPTarget()
        try mapping(node, path) { (key, value, path) throws(AgentError) in
            switch key {
            case "enabled": target.enabled = try boolean(value, path)
            case "url": target.url = try string(value, path)
            case "token_file": target.tokenFile = try string(value, path)
            case "ca_file": target.caFile = try string(value, path)
            case "timeout": target.timeout = try string(value, path)
            case "headers":
                try mapping(value, path) { (key, value, path) throws(AgentError) in
                    target.headers[key] = try string(value, path)
                }
            default: throw unknown(path)
            }
        }
        return target
    }
}

/// HOST:PORT, with IPv6 hosts in brackets.
package struct ListenAddress: Sendable, Equatable {
    package var host: String
    package var port: Int

    package init(_ text: String) throws(AgentError) {
        let bad = AgentError.usage("bad listen address '\(text)': use HOST:PORT, e.g. 127.0.0.1:8765 or [::]:8765")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw bad }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw bad }
        self.host = host
        self.port = port
    }
}

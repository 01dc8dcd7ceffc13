import Prometheus
import Synchronization
import WitnessCore
import WitnessKernel

/// `GET /metrics`: the agent's counters in Prometheus text format, refreshed from a
/// snapshot taken on the consumer thread at each scrape (the hot path keeps plain
/// counters and never touches the registry). Kernel totals become Prometheus
/// counters by adding what grew since the previous scrape.
package final class NodeMetrics: Sendable {
    /// What the rest of the node reports alongside the kernel's snapshot.
    package struct NodeState: Sendable {
        var openWindows = 0
        var armedWindows = 0
        var spoolBytes = 0
        var spoolDropped: UInt64 = 0
        package var outputs: [(name: String, counts: HTTPDelivery.Counters)] = []
        /// Failed writes of the file output, when it is on.
        var fileErrors: UInt64?
        package var ringBufferFill = 0.0
        /// Pods known from the Kubernetes API, and the watch's counters.
        package var kubernetes: (pods: Int, counts: KubernetesPodWatcher.Counters)?
        package init() {}
    }

    private let registry = PrometheusCollectorRegistry()
    private let reported = Mutex<[String: UInt64]>([:])

    package init() {}

    package func render(_ snapshot: NodeKernel.Snapshot, _ node: NodeState) -> [UInt8] {
        for (type, count) in snapshot.events.byType {
            counter("witness_events", [("type", type)], count, "Events witnessed, by Falco event type")
        }
        for alert in snapshot.alertsByRule {
            counter(
                "witness_alerts", [("rule", alert.rule), ("priority", alert.priority)], UInt64(alert.count),
                "Alerts fired, by rule and priority")
        }
        let kernel = snapshot.kernelDrops
        for (reason, count) in [
            ("ring_buffer_full", kernel.ringBufferFull),
            ("subject_table_full", kernel.subjectTableFull),
        ] {
            counter("witness_kernel_drops", [("reason", reason)], count, "Events lost in the kernel, by reason")
        }
        counter("witness_agent_drops", [], snapshot.agentDrops, "Events lost in the agent (undecodable, output gone)")
        counter("witness_spool_dropped", [], node.spoolDropped, "Alerts refused by a full spool")
        counter("witness_records", [], snapshot.records, "Ring buffer records consumed")
        for output in node.outputs {
            counter("witness_output_delivered", [("output", output.name)], output.counts.delivered, "Lines delivered")
            counter(
                "witness_output_errors", [("output", output.name)], output.counts.errors, "Failed deliveries (retried)")
            for (status, count) in output.counts.errorsByStatus.sorted(by: { $0.key < $1.key }) {
                counter(
                    "witness_output_failures",
                    [("output", output.name), ("status", status == 0 ? "none" : String(status))],
                    count, "Failed deliveries by HTTP status (none: no answer), each retried")
            }
            counter(
                "witness_output_rejected", [("output", output.name)], output.counts.rejected,
                "Lines the receiver refused as malformed (400, 413, 422), kept in the dead-letter file")
            counter(
                "witness_output_dead_letter_lost", [("output", output.name)], output.counts.deadLetterLost,
                "Refused lines the dead-letter file had no room for")
        }
        if let fileErrors = node.fileErrors {
            counter("witness_output_errors", [("output", "file")], fileErrors, "Failed deliveries (retried)")
        }
        gauge("witness_spool", "bytes", "Undelivered bytes in the spool").set(Int64(node.spoolBytes))
        gauge("witness_open", "windows", "Witness windows open").set(Int64(node.openWindows))
        gauge("witness_armed", "windows", "Witness windows armed, waiting for their subject").set(
            Int64(node.armedWindows))
        gauge("witness_ring_buffer_fill", "ratio", "Ring buffer fill, 0 to 1").set(node.ringBufferFill)
        gauge("witness_ring_buffer", "bytes", "Ring buffer size").set(Int64(snapshot.ringBufferBytes))
        if let kubernetes = node.kubernetes {
            gauge("witness_kubernetes", "pods", "Pods of this node known from the API").set(Int64(kubernetes.pods))
            counter("witness_kubernetes_lists", [], kubernetes.counts.lists, "Pod lists (start, and after 410 Gone)")
            counter("witness_kubernetes_watches", [], kubernetes.counts.watches, "Pod watches started")
            counter("witness_kubernetes_gone", [], kubernetes.counts.gone, "Watches expired with 410 Gone")
            counter("witness_kubernetes_errors", [], kubernetes.counts.errors, "Failed list or watch requests")
        }
        return registry.emitToBuffer()
    }

    private func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help))
    }

    /// Counter `<name>_total`, advanced to `total`.
    private func counter(_ name: String, _ labels: [(String, String)], _ total: UInt64, _ help: String) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = reported.withLock { reported -> UInt64 in
            let previous = reported[key] ?? 0
            reported[key] = total
            return total >= previous ? total - previous : 0
        }
        let counter = registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: name, unitName: "total", helpText: help), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}

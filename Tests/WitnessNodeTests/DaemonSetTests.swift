import Foundation
import Testing
import WitnessKernel
import Yams

@testable import WitnessNode

/// daemonset.yaml at the repository root: valid for the Kubernetes API, current
/// with the default rules, and asking for no capability the agent does not use.
@Suite struct DaemonSetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func documents() throws -> [[String: Any]] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("daemonset.yaml"), encoding: .utf8)
        return try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
    }

    func object(kind: String) throws -> [String: Any] {
        try #require(try documents().first { $0["kind"] as? String == kind })
    }

    func container() throws -> [String: Any] {
        let daemonSet = try object(kind: "DaemonSet")
        let spec = try #require((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podSpec = try #require(spec["spec"] as? [String: Any])
        return try #require((podSpec["containers"] as? [[String: Any]])?.first)
    }

    @Test func passesKubernetesValidateStrict() throws {
        let process = Process()
        // scripts/setup installs it into .venv; else whatever is on PATH.
        let venv = Self.root.appendingPathComponent(".venv/bin/kubernetes-validate").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            FileManager.default.isExecutableFile(atPath: venv) ? venv : "kubernetes-validate", "--strict", "--quiet",
            "daemonset.yaml",
        ]
        process.currentDirectoryURL = Self.root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0, "kubernetes-validate (installed by scripts/setup): \(text.prefix(2000))")
    }

    @Test func asksForExactlyTheCapabilitiesTheAgentUses() throws {
        let security = try #require(try container()["securityContext"] as? [String: Any])
        let capabilities = try #require(security["capabilities"] as? [String: Any])
        #expect(capabilities["drop"] as? [String] == ["ALL"])
        #expect(Set(capabilities["add"] as? [String] ?? []) == Set(NodeCapabilities.required.map(\.name)))
        #expect(security["privileged"] as? Bool == false)
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
    }

    /// The seccomp profile it names is shipped, and opens bpf() to CAP_BPF (the
    /// runtime defaults open it to CAP_SYS_ADMIN only); SYS_RESOURCE is marked as
    /// needed before 5.11 only, as `NodeCapabilities.missing` treats it
    /// (scripts/run-as-daemonset and scripts/e2e read the marker).
    @Test func theSeccompProfileIsShippedAndKernelOnlyCapabilitiesMarked() throws {
        let security = try #require(try container()["securityContext"] as? [String: Any])
        let seccomp = try #require(security["seccompProfile"] as? [String: Any])
        #expect(seccomp["type"] as? String == "Localhost")
        let name = try #require(seccomp["localhostProfile"] as? String)
        let data = try Data(contentsOf: Self.root.appendingPathComponent("deploy/seccomp/\(name)"))
        let profile = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let rules = try #require(profile["syscalls"] as? [[String: Any]])
        let bpfForCapBPF = rules.contains { rule in
            (rule["names"] as? [String])?.contains("bpf") == true && rule["action"] as? String == "SCMP_ACT_ALLOW"
                && ((rule["includes"] as? [String: Any])?["caps"] as? [String]) == ["CAP_BPF"]
        }
        #expect(bpfForCapBPF, "deploy/seccomp/\(name) allows bpf() with CAP_BPF")
        let text = try String(contentsOf: Self.root.appendingPathComponent("daemonset.yaml"), encoding: .utf8)
        #expect(text.contains("- SYS_RESOURCE  # until-kernel: 5.11\n"))
    }

    /// The API is off the node's network, only the controller's namespace reaches
    /// it, and it speaks TLS.
    @Test func theAPIIsNotOnTheNodeNetworkAndSpeaksTLS() throws {
        let ports = try #require(try container()["ports"] as? [[String: Any]])
        #expect(ports.allSatisfy { $0["hostPort"] == nil }, "no hostPort")
        let policy = try object(kind: "NetworkPolicy")
        let ingress = try #require((policy["spec"] as? [String: Any])?["ingress"] as? [[String: Any]])
        #expect(ingress.count == 1 && (ingress[0]["from"] as? [[String: Any]])?.first?["namespaceSelector"] != nil)
        let data = try #require(try object(kind: "ConfigMap")["data"] as? [String: String])
        let config = try NodeConfig(yaml: try #require(data["config.yaml"]), name: "daemonset.yaml")
        #expect(config.api.tls?.certFile.isEmpty == false && config.api.tls?.keyFile.isEmpty == false)
    }

    @Test func theConfigMapHoldsAWorkingConfigAndTheDefaultRules() throws {
        let data = try #require(try object(kind: "ConfigMap")["data"] as? [String: String])
        let config = try NodeConfig(yaml: try #require(data["config.yaml"]), name: "daemonset.yaml")
        try config.validate()
        #expect(config.procRoot == "/host/proc")
        let rules = try String(
            contentsOf: Self.root.appendingPathComponent("rules/witness_rules.yaml"), encoding: .utf8)
        #expect(data["witness_rules.yaml"] == rules, "daemonset.yaml is out of date: run scripts/sync-daemonset")
        // The probes and the API use the port the config listens on.
        let ports = try #require(try container()["ports"] as? [[String: Any]])
        #expect(ports.first?["containerPort"] as? Int == (try ListenAddress(config.api.listen)).port)
    }
}

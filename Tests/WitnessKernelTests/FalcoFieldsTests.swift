import Foundation
import Testing

extension RealKernelTests {
    /// Runs `command` under `trace --alerts` with `rules` (YAML) as the only rules.
    func traceAlerts(rules: String, _ command: [String]) throws -> AgentResult {
        let dir = try Scratch.directory("rules")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Scratch.write("\(dir.path)/rules.yaml", Data(rules.utf8))
        return try Agent.run(
            ["trace", "--alerts", "--rules", "\(dir.path)/rules.yaml", "--output", "json", "--"] + command, timeout: 120
        )
    }

    /// Falco's network fields on real connections: a name resolved through the hosts
    /// file (fd.sip.name), the server's network against a CIDR (fd.snet).
    @Test func hostNamesAndNetworksOnRealConnections() throws {
        let rules = """
            - rule: To localhost by name
              desc: test
              condition: evt.type = connect and fd.sip.name = localhost
              output: named (to=%fd.sip)
              priority: NOTICE
            - rule: To loopback network
              desc: test
              condition: evt.type = connect and fd.snet in ("127.0.0.0/8") and not fd.sip = 127.0.0.1
              output: network (to=%fd.sip)
              priority: NOTICE
            """
        let result = try traceAlerts(
            rules: rules,
            [
                "python3", "-c",
                "import socket\nfor host in ('127.0.0.1', '127.0.0.2'):\n    try: socket.create_connection((host, 1), timeout=1)\n    except OSError: pass",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            outputFields(of: "To localhost by name", in: result).compactMap { $0["fd.sip"] as? String } == ["127.0.0.1"]
        )
        #expect(
            outputFields(of: "To loopback network", in: result).compactMap { $0["fd.sip"] as? String } == ["127.0.0.2"])
    }

    /// thread.cap_permitted and thread.cap_inheritable from the kernel at exec: root's
    /// program has CAP_SYS_ADMIN permitted; one started with it dropped from the
    /// bounding set does not.
    @Test func capabilitySetsAtExec() throws {
        let rules = """
            - rule: Exec of true
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.name = true
              output: caps (admin=%thread.cap_permitted inheritable=%thread.cap_inheritable)
              priority: NOTICE
            - rule: Admin permitted
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.name = true and thread.cap_permitted contains CAP_SYS_ADMIN
              output: admin
              priority: NOTICE
            """
        let result = try traceAlerts(
            rules: rules,
            [
                "sh", "-c",
                "/bin/true; setpriv --bounding-set=-sys_admin /bin/true",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(outputFields(of: "Exec of true", in: result).count == 2)
        #expect(outputFields(of: "Admin permitted", in: result).count == 1, "only the first: \(result.stdout)")
    }

    /// proc.env and proc.env[NAME] from the new image's environment, read by the
    /// kernel at exec (Falco's GLIBC_TUNABLES rule tests it).
    @Test func theEnvironmentAtExec() throws {
        let rules = """
            - rule: Tunables
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.name = true and proc.env icontains GLIBC_TUNABLES
              output: env (value=%proc.env[GLIBC_TUNABLES])
              priority: NOTICE
            """
        let result = try traceAlerts(
            rules: rules,
            [
                "sh", "-c",
                "/bin/true; GLIBC_TUNABLES=glibc.malloc.check=3 /bin/true",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let values = outputFields(of: "Tunables", in: result).compactMap { $0["proc.env[GLIBC_TUNABLES]"] as? String }
        #expect(values == ["glibc.malloc.check=3"], "\(result.stdout)")
    }

    /// proc.sid, proc.vpgid and proc.is_vpgid_leader from the kernel at exec: a
    /// program run by setsid leads its own session and group; one run by a shell
    /// without job control is in the shell's group.
    @Test func sessionsAndProcessGroups() throws {
        let rules = """
            - rule: Exec of true
              desc: test
              condition: evt.type = execve and evt.res = SUCCESS and proc.name = true
              output: group (pid=%proc.pid sid=%proc.sid vpgid=%proc.vpgid leader=%proc.is_vpgid_leader)
              priority: NOTICE
            """
        let result = try traceAlerts(
            rules: rules,
            [
                "sh", "-c",
                "/bin/true; setsid /bin/true",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let runs = outputFields(of: "Exec of true", in: result)
        #expect(runs.count == 2, "\(result.stdout)")
        guard runs.count == 2 else { return }
        #expect(runs[0]["proc.is_vpgid_leader"] as? Bool == false)
        #expect((runs[0]["proc.sid"] as? Int) != (runs[0]["proc.pid"] as? Int))
        #expect(runs[1]["proc.is_vpgid_leader"] as? Bool == true)
        #expect((runs[1]["proc.sid"] as? Int) == (runs[1]["proc.pid"] as? Int), "setsid: its own session")
        #expect((runs[1]["proc.vpgid"] as? Int) == (runs[1]["proc.pid"] as? Int))
    }
}

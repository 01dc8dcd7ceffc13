import Foundation
import Glibc
import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

@Suite("Condition language on synthetic events")
struct ConditionTests {
    let shadowOpen = RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0, result: 3)
    let tmpWrite = RecordFixture.open(path: Array("/tmp/x".utf8), flags: 0o1 | 0o100, result: 4)
    let failedOpen = RecordFixture.open(path: Array("/nope".utf8), result: -13)

    @Test(arguments: [
        ("evt.type = openat", true), ("evt.type == openat", true), ("evt.type != openat", false),
        ("evt.type in (open, openat)", true), ("evt.type in (execve)", false), ("fd.name = /etc/shadow", true),
        ("fd.name startswith /etc/", true), ("fd.name endswith shadow", true), ("fd.name contains tc/sha", true),
        ("fd.name icontains ETC/SHADOW", true), ("fd.name glob /etc/*", true), ("fd.name glob /etc/s?adow", true),
        ("fd.name glob '/etc/[a-s]hadow'", true), ("fd.name glob /var/*", false), ("fd.name pmatch (/etc)", true),
        ("fd.name pmatch (/et)", false), ("fd.directory = /etc", true), ("fd.filename = shadow", true),
        ("fd.num >= 0", true), ("fd.num > 3", false), ("fd.num < 4", true), ("fd.num <= 3", true), ("fd.num = 3", true),
        ("evt.rawres in (1, 2, 3)", true), ("evt.is_open_read = true", true), ("evt.is_open_write = true", false),
        ("proc.name = cat", true), ("proc.pname = bash", true), ("proc.aname[1] = bash", true),
        ("proc.aname = bash", true), ("proc.aname[2] = bash", false), ("proc.cmdline = 'cat /etc/shadow'", true),
        ("proc.args = /etc/shadow", true), ("proc.exepath = /usr/bin/cat", true), ("user.uid = 1000", true),
        ("user.loginuid = 1000", true), ("proc.tty != 0", true), ("proc.cwd = /home/u/", true),
        ("thread.cap_effective contains CAP_SYS_ADMIN", true), ("container.id = host", true),
        ("proc.name exists", true), ("fd.sip exists", false), ("fd.name intersects (/etc/shadow, x)", true),
        ("evt.arg.flags contains O_RDONLY", true), ("proc.duration > 0", true),
    ])
    func operatorsOnAnOpen(_ condition: String, _ expected: Bool) throws {
        let harness = RuleHarness(condition: condition)
        #expect(harness.loaded.diagnostics.isEmpty, "\(harness.loaded.diagnostics)")
        #expect(try harness.fires(shadowOpen) == expected, "\(condition)")
    }

    @Test func precedenceIsNotThenAndThenOr() throws {
        // a or b and c  ==  a or (b and c)
        #expect(try RuleHarness(condition: "proc.name = cat or proc.name = x and proc.name = y").fires(shadowOpen))
        // not a and b  ==  (not a) and b
        #expect(try !RuleHarness(condition: "not proc.name = cat and proc.name = cat").fires(shadowOpen))
        #expect(try RuleHarness(condition: "not (proc.name = x and proc.name = cat)").fires(shadowOpen))
        #expect(try RuleHarness(condition: "not not proc.name = cat").fires(shadowOpen))
        #expect(try !RuleHarness(condition: "(proc.name = x or proc.name = y) and proc.name = cat").fires(shadowOpen))
    }

    @Test func failedResultsAndMissingValues() throws {
        #expect(try RuleHarness(condition: "evt.res = EACCES and evt.failed = true").fires(failedOpen))
        #expect(try !RuleHarness(condition: "fd.num >= 0").fires(failedOpen))
        // A comparison with a value the event does not have is false, != included (as in Falco).
        #expect(try !RuleHarness(condition: "fd.sip != 1.2.3.4").fires(shadowOpen))
    }

    @Test func listsOfListsAndMacrosInMacros() throws {
        let macros = """
            - list: inner
              items: [shadow_reader, cat]
            - list: outer
              items: [inner, dog]
            - macro: reads_shadow
              condition: fd.name = /etc/shadow
            - macro: catty
              condition: reads_shadow and proc.name in (outer)
            """
        #expect(try RuleHarness(condition: "catty", macros: macros).fires(shadowOpen))
        #expect(try !RuleHarness(condition: "catty and proc.name = dog", macros: macros).fires(shadowOpen))
    }

    @Test func appendAndOverrideRefineEarlierItems() throws {
        let yaml = """
            - list: readers
              items: [dog]
            - list: readers
              items: [cat]
              override:
                items: append
            - macro: target
              condition: fd.name = /nothing
            - macro: target
              condition: fd.name = /etc/shadow
              override:
                condition: replace
            - rule: probe
              desc: x
              condition: target
              output: fired
              priority: WARNING
            - rule: probe
              condition: and proc.name in (readers)
              append: true
            - rule: probe
              priority: ERROR
              override:
                priority: replace
            """
        let harness = RuleHarness(yaml)
        #expect(harness.loaded.diagnostics.isEmpty, "\(harness.loaded.diagnostics)")
        let alerts = try harness.alerts(shadowOpen)
        #expect(alerts.count == 1)
        #expect(alerts.first?["priority"] as? String == "Error")
    }

    @Test func exceptionsSilenceMatchingTuples() throws {
        let yaml = """
            - rule: probe
              desc: x
              condition: fd.name startswith /etc/
              output: fired
              priority: WARNING
              exceptions:
                - name: trusted_reader
                  fields: [proc.name, fd.name]
                  comps: [=, =]
                  values:
                    - [cat, /etc/shadow]
                - name: by_name
                  fields: proc.pname
                  values: [sshd, login]
            """
        #expect(try !RuleHarness(yaml).fires(shadowOpen))
        #expect(try RuleHarness(yaml).fires(RecordFixture.open(path: Array("/etc/passwd".utf8))))
    }

    @Test func rulesAreIndexedByEventType() throws {
        let harness = RuleHarness(condition: "evt.type = connect and proc.name = cat")
        #expect(harness.loaded.rules.first?.eventTypes == ["connect"])
        #expect(try !harness.fires(shadowOpen))
        let any = RuleHarness(condition: "proc.name = cat")
        #expect(any.loaded.rules.first?.eventTypes == nil)
    }

    /// Falco's network fields against CIDR operands: the server end (fd.snet), the
    /// client end (fd.cnet), either end (fd.net, fd.ip); quoted list items as Falco
    /// splices them; a bad network is an error naming it.
    @Test func networksMatchCIDROperands() throws {
        let metadata = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(169, 254, 169, 254, port: 80), local: [10, 0, 0, 2], localPort: 5000)
        for (condition, expected) in [
            ("fd.snet = 169.254.0.0/16", true), ("fd.snet = 169.255.0.0/16", false), ("fd.snet in (10.0.0.0/8)", false),
            ("fd.cnet in (10.0.0.0/8, 192.168.0.0/16)", true), ("fd.net = 10.0.0.0/8", true),
            ("fd.net != 127.0.0.0/8", true),
            ("fd.ip = 169.254.169.254", true), ("fd.ip = 10.0.0.2", true), ("fd.ip = 10.0.0.3", false),
            ("fd.snet = 0.0.0.0/0", true), ("fd.snet = ::/0", false), ("fd.name_changed = false", true),
        ] {
            #expect(try RuleHarness(condition: condition).fires(metadata) == expected, "\(condition)")
        }
        let yaml = """
            - list: private
              items: ['"10.0.0.0/8"', '"172.16.0.0/12"', '"192.168.0.0/16"']
            - rule: r
              desc: d
              condition: evt.type = connect and not fd.snet in (private) and fd.cnet in (private)
              output: o
              priority: WARNING
            """
        #expect(try RuleHarness(yaml).fires(metadata))
        // A dual-stack socket reaches an IPv4 address as ::ffff:a.b.c.d: still in the IPv4 network.
        let mapped = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv6(
                Array(repeating: 0, count: 10) + [0xFF, 0xFF, 169, 254, 169, 254], port: 80))
        #expect(try RuleHarness(condition: "fd.snet in (169.254.0.0/16)").fires(mapped))
        #expect(try !RuleHarness(condition: "fd.snet in (10.0.0.0/8)").fires(mapped))
        let bad = RuleHarness(condition: "fd.snet in (10.0.0.0/33)")
        #expect(bad.loaded.hasErrors && bad.loaded.diagnostics.contains { $0.message.contains("10.0.0.0/33") })
    }

    /// `regex` matches the whole value (as Falco's RE2 ANCHOR_BOTH), in time linear in
    /// the value whatever the pattern; bcontains/bstartswith take hex bytes.
    @Test func regexAndByteOperators() throws {
        for (condition, expected) in [
            (#"fd.name regex "/etc/shadow""#, true), (#"fd.name regex "shadow""#, false),
            (#"fd.name regex ".*shadow""#, true),
            (#"fd.name regex "^/etc/[a-z]+$""#, true), (#"fd.name regex "/etc/(passwd|shadow|group)""#, true),
            (#"fd.name regex "/etc/s[^/]{3,5}w""#, true), (#"fd.name regex "/etc/s[^/]{5,6}w""#, false),
            (#"fd.name regex "/\\w+/\\w+""#, true), (#"fd.name regex "/\\d+/.*""#, false),
            (#"fd.name regex /\w+/\w+"#, true), (#"fd.name regex "(?:/[a-z]+)+""#, true),
            ("fd.name bcontains 2f657463", true), ("fd.name bstartswith 2f6574632f", true),
            ("fd.name bstartswith 65", false),
        ] {
            #expect(try RuleHarness(condition: condition).fires(shadowOpen) == expected, "\(condition)")
        }
        // A pattern that makes backtracking engines take exponential time: linear here.
        let long = RecordFixture.open(
            path: Array(("/" + String(repeating: "a", count: 5000)).utf8), flags: 0, result: 3)
        #expect(try !RuleHarness(condition: #"fd.name regex "/(a*)*b""#).fires(long))
        #expect(try RuleHarness(condition: #"fd.name regex "/(a|aa)*""#).fires(long))
        let deep = String(repeating: "(", count: 3000) + "a" + String(repeating: ")", count: 3000)
        let wide = String(repeating: "(a{1000}){1000}", count: 1)
        for bad in [
            #"fd.name regex "(a""#, #"fd.name regex "a{2000}""#, #"fd.name regex "*a""#, "fd.name bcontains zz",
            "fd.name bcontains abc", "fd.name regex \"\(deep)\"", "fd.name regex \"\(wide)\"",
        ] {
            #expect(RuleHarness(condition: bad).loaded.hasErrors, "\(bad)")
        }
    }

    /// Exception values may hold a nested list, or a list's name, for an `in`.
    @Test func exceptionValuesTakeNestedLists() throws {
        let yaml = """
            - list: allowed
              items: [/etc/hosts, /etc/passwd]
            - rule: r
              desc: d
              condition: evt.type = openat and fd.name startswith /etc
              output: o
              priority: WARNING
              exceptions:
                - name: by_program
                  fields: [proc.name, fd.name]
                  comps: [=, in]
                  values:
                    - [cat, [/etc/shadow, /etc/group]]
                    - [head, allowed]
            """
        let harness = RuleHarness(yaml)
        #expect(!harness.loaded.hasErrors, "\(harness.loaded.diagnostics)")
        func open(_ path: String, by program: String) -> RecordFixture {
            RecordFixture.open(path: Array(path.utf8), flags: 0, result: 3, comm: program)
        }
        #expect(try !harness.fires(open("/etc/shadow", by: "cat")), "the nested list excepts it")
        #expect(try harness.fires(open("/etc/hostname", by: "cat")))
        #expect(try !harness.fires(open("/etc/passwd", by: "head")), "the list by name excepts it")
        #expect(try harness.fires(open("/etc/shadow", by: "head")))
    }

    /// fd.port is either end's; fd.rnet and fd.lnet the remote and local network;
    /// fd.sockfamily ip or unix.
    @Test func portsFamiliesAndEndNetworks() throws {
        let metadata = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(169, 254, 169, 254, port: 80), local: [10, 0, 0, 2], localPort: 5000)
        for (condition, expected) in [
            ("fd.port = 80", true), ("fd.port = 5000", true), ("fd.port in (22, 443)", false),
            ("fd.rnet = 169.254.0.0/16", true), ("fd.lnet = 169.254.0.0/16", false), ("fd.lnet = 10.0.0.0/8", true),
            ("fd.sockfamily = ip", true), ("fd.sockfamily = unix", false),
        ] {
            #expect(try RuleHarness(condition: condition).fires(metadata) == expected, "\(condition)")
        }
    }

    /// fd.sip.name against a name the hosts file resolves: localhost is 127.0.0.1.
    @Test func hostNamesMatchTheirAddresses() throws {
        let local = RecordFixture.connect(sockaddr: RecordFixture.sockaddrIPv4(127, 0, 0, 1, port: 80))
        let elsewhere = RecordFixture.connect(sockaddr: RecordFixture.sockaddrIPv4(10, 1, 1, 1, port: 80))
        #expect(try RuleHarness(condition: "fd.sip.name = localhost").fires(local))
        #expect(try !RuleHarness(condition: "fd.sip.name = localhost").fires(elsewhere))
        #expect(try RuleHarness(condition: "fd.sip.name in (no-such-host.invalid, localhost)").fires(local))
        #expect(try RuleHarness(condition: "fd.sip.name != localhost").fires(elsewhere))
        #expect(try !RuleHarness(condition: "fd.sip.name = no-such-host.invalid").fires(local))
    }

    @Test func connectAndSyscallFields() throws {
        let metadata = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(169, 254, 169, 254, port: 80), local: [10, 0, 0, 2], localPort: 5000)
        #expect(
            try RuleHarness(condition: "fd.sip = 169.254.169.254 and fd.sport = 80 and fd.lport = 5000").fires(metadata)
        )
        #expect(try RuleHarness(condition: "fd.name = '10.0.0.2:5000->169.254.169.254:80'").fires(metadata))
        let ptrace = RecordFixture.syscall(.ptrace, args: [16, 77, 0, 0])
        #expect(
            try RuleHarness(condition: "evt.type = ptrace and evt.arg.request = PTRACE_ATTACH and evt.rawarg.pid = 77")
                .fires(ptrace))
        let chmod = RecordFixture.syscall(.fchmodat, args: [-100, 0, 0o4755], path: Array("/tmp/x".utf8))
        #expect(try RuleHarness(condition: "evt.arg.mode contains S_ISUID and fd.name = /tmp/x").fires(chmod))
        let link = RecordFixture.syscall(
            .symlinkat, args: [0, -100, 0], path: Array("/etc/shadow".utf8), path2: Array("/tmp/l".utf8))
        #expect(try RuleHarness(condition: "evt.arg.target = /etc/shadow and evt.arg.linkpath = /tmp/l").fires(link))
        let dup = RecordFixture.syscall(.dup2, args: [5, 1], socketFamily: 2)
        #expect(try RuleHarness(condition: "fd.num = 1 and fd.type = ipv4").fires(dup))
    }
}

/// The rules' fields point into the ring buffer record while it is classified, and
/// nowhere once the pipeline is done with it.
struct RecordLifetimeTests {
    @Test func noPointerIntoARecordOutlivesItsHandling() throws {
        let harness = RuleHarness(condition: "fd.name = /etc/shadow")
        let sink = OutputSink(fd: open("/dev/null", O_WRONLY))
        let pipeline = EventPipeline(
            sink: sink, format: .json, printsEvents: false, hostname: Array("node".utf8), processes: harness.processes,
            classifier: harness.engine)
        var record = RecordFixture.open(path: Array("/etc/shadow".utf8), flags: 0, result: 3).bytes
        record.withUnsafeBytes { pipeline.handle($0) }
        #expect(pipeline.alertedEvents == 1, "the rule saw the record")
        #expect(!pipeline.resolved.holdsRecord, "no pointer into the record after its handling")
        // The record's memory is reused (as the ring buffer's is): nothing reads it any more.
        for index in record.indices { record[index] = 0xFF }
        pipeline.flush()
        #expect(!pipeline.resolved.holdsRecord)
    }
}

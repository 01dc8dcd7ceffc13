import CBPF
import Foundation
import Testing
import WitnessCore
import WitnessTestSupport

@testable import WitnessRules

/// The default rules against the ways a subject that knows them gets around them,
/// on synthetic records: attempts that failed, other gates into the kernel.
@Suite("Default rules against evasion")
struct DefaultRulesOnAttemptsTests {
    let harness: RuleHarness = {
        let text = RulesLoader.defaultSources().map(\.text).joined(separator: "\n")
        return RuleHarness(text)
    }()

    func rules(_ fixture: RecordFixture) throws -> Set<String> {
        Set(try harness.alerts(fixture).compactMap { $0["rule"] as? String })
    }

    @Test(arguments: [
        0, -111 /* ECONNREFUSED */, -101 /* ENETUNREACH */, -110 /* ETIMEDOUT */, -115 /* EINPROGRESS */,
    ])
    func aConnectionAttemptIsEvidenceWhateverItsResult(result: Int) throws {
        let metadata = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(169, 254, 169, 254, port: 80), result: Int64(result))
        #expect(try rules(metadata).contains("Cloud metadata endpoint contacted"), "result \(result)")
        let pool = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(203, 0, 113, 9, port: 3333), result: Int64(result))
        #expect(try rules(pool).contains("Connection to a mining or reverse-shell port"), "result \(result)")
        let web = RecordFixture.connect(
            sockaddr: RecordFixture.sockaddrIPv4(203, 0, 113, 9, port: 443), result: Int64(result))
        #expect(try rules(web).isEmpty)
    }

    @Test func anOpenThroughIoUringCountsAsTheOpen() throws {
        let submitted = RecordFixture.open(
            path: Array("/etc/shadow".utf8), result: -115, eventFlags: UInt32(WITNESS_FLAG_IO_URING.rawValue))
        #expect(try rules(submitted).contains("Read sensitive file by untrusted program"))
        // The same failed result without the ring is an open that did not happen.
        let failed = RecordFixture.open(path: Array("/etc/shadow".utf8), result: -13)
        #expect(try !rules(failed).contains("Read sensitive file by untrusted program"))
    }

    @Test func creatAndTruncateAreWrites() throws {
        let created = RecordFixture.syscall(.truncate, args: [0, 0], path: Array("/etc/ld.so.preload".utf8))
        #expect(try rules(created).contains("Write below /etc"))
        let cleared = RecordFixture.syscall(.truncate, args: [0, 0], path: Array("/var/log/auth.log".utf8))
        #expect(try rules(cleared).contains("Log file cleared"))
    }

    @Test func renamingToATrustedNameIsFlagged() throws {
        // The fixture's thread is not its process's main thread: naming a thread is
        // ordinary; taking a trusted name is not, whichever thread does it.
        let renamed = RecordFixture.syscall(.prctl, args: [15, 0, 0, 0, 0], path: Array("sshd".utf8), comm: "sshd")
        let fired = try rules(renamed)
        #expect(fired.contains("Process took the name of a trusted program"))
        #expect(!fired.contains("Process renamed itself"))
        let named = RecordFixture.syscall(
            .prctl, args: [15, 0, 0, 0, 0], path: Array("worker-3".utf8), comm: "worker-3")
        #expect(try rules(named).isEmpty)
        let other = RecordFixture.syscall(.prctl, args: [38, 1, 0, 0, 0])  // PR_SET_NO_NEW_PRIVS
        #expect(try rules(other).isEmpty)
    }

    @Test func kernelTamperingAttemptsAreCriticalEvenWhenRefused() throws {
        for syscall in [Syscall.initModule, .finitModule, .deleteModule, .kexecLoad, .kexecFileLoad] {
            let refused = RecordFixture.syscall(syscall, args: [3, 0, 0, 0, 0], result: -38 /* ENOSYS */)
            #expect(try rules(refused).contains("Kernel module load attempt"), "\(syscall)")
        }
        let newMountAPI = RecordFixture.syscall(.fsopen, args: [0, 0], path: Array("proc".utf8), result: -1)
        #expect(try rules(newMountAPI).contains("Mount attempt"))
        let bpf = RecordFixture.syscall(.bpf, args: [5, 0, 0], result: -1)
        #expect(try rules(bpf).contains("BPF or perf events used by a workload"))
    }
}

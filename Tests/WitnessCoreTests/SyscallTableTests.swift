import CBPF
import Foundation
import Testing
import WitnessTestSupport

@testable import WitnessCore

/// The table the kernel's shapes map is filled from: every row lands at the right
/// number in each table, nothing collides, and the profile names what it counts.
@Suite("Syscall table, numbers and profile")
struct SyscallTableTests {
    @Test func numbersComeFromTheKernelHeaders() {
        #if arch(x86_64)
            #expect(SyscallNumbers.number(of: "open", in: .native) == 2)
            #expect(SyscallNumbers.number(of: "open", in: .compat) == 5)
            #expect(SyscallNumbers.number(of: "getppid", in: .native) == 110)
            #expect(SyscallNumbers.number(of: "socketcall", in: .native) == nil)
            #expect(SyscallNumbers.number(of: "socketcall", in: .compat) == 102)
            #expect(SyscallNumbers.number(of: "setuid32", in: .compat) == 213)
            #expect(SyscallNumbers.name(of: 59, in: .native) == "execve")
            #expect(SyscallNumbers.name(of: 11, in: .compat) == "execve")
        #endif
        #expect(SyscallNumbers.name(of: SyscallNumbers.slots - 1, in: .native) == "other")
        #expect(SyscallNumbers.name(of: 500, in: .native).hasPrefix("syscall_"))
    }

    @Test func everyRowHasANumberAndNoEntryIsWrittenTwice() {
        let entries = SyscallTable.kernelEntries()
        var seen = Set<UInt32>()
        for entry in entries {
            #expect(seen.insert(entry.index).inserted, "index \(entry.index) written twice")
            #expect(entry.index < UInt32(SyscallNumbers.Table.allCases.count * SyscallNumbers.slots))
        }
        for shape in SyscallTable.shapes {
            #expect(shape.existsHere, "\(shape.kernelNames) has no number in any table")
        }
        #if arch(x86_64)
            // The 16-bit ia32 setuid and its 32-bit twin are both setuid to the rules.
            let setuid = SyscallTable.shapes.first { $0.syscall == .setuid }!.shape
            #expect(entries.contains { $0.index == UInt32(SyscallNumbers.slots + 23) && $0.shape == setuid })
            #expect(entries.contains { $0.index == UInt32(SyscallNumbers.slots + 213) && $0.shape == setuid })
        #endif
    }

    @Test func everySyscallHasABitInTheRulesEventTypeMask() {
        #expect(Syscall.allCases.count <= 128)
        #expect(Syscall.allCases.map(\.rawValue) == Array(0..<UInt16(Syscall.allCases.count)))
    }

    @Test func shapesPackHandlerSyscallAndArguments() {
        let openat = SyscallTable.shapes.first { $0.syscall == .openat }!.shape
        #expect(openat & 0xFFFF == UInt64(Syscall.openat.rawValue))
        #expect(openat >> 56 == UInt64(SyscallShape.Handler.open.rawValue))
        #expect((openat >> 16) & 0xFF == 1, "path in argument 1")
        #expect((openat >> 24) & 0xFF == 0, "relative to the dirfd in argument 0")
        let ftruncate = SyscallTable.shapes.first { $0.syscall == .ftruncate }!
        #expect((ftruncate.shape >> 24) & 0xFF == UInt64(WITNESS_ARG_FD))
        #expect(!ftruncate.isPath(0), "the descriptor stays a number; its path is fd.name")
        let exits = SyscallTable.shapes.first { $0.handler == .exit }!
        #expect(exits.shape & 0xFFFF == 0, "exits are counted, not reported")
        // io_uring operations carry their twin's syscall.
        let ring = Dictionary(
            uniqueKeysWithValues: SyscallTable.ioUringOperations.map { ($0.opcode, $0.shape.syscall) })
        #expect(ring[UInt32(WITNESS_IORING_OP_OPENAT.rawValue)] == .openat)
        #expect(ring[UInt32(WITNESS_IORING_OP_CONNECT.rawValue)] == .connect)
        #expect(ring[UInt32(WITNESS_IORING_OP_RENAMEAT.rawValue)] == .renameat2)
    }

    @Test func theProfileIsNamedSortedAndSeparatesTheTables() throws {
        #if arch(x86_64)
            let profile = SyscallProfile(counts: [
                SyscallCount(table: .native, number: 110, count: 7),
                SyscallCount(table: .native, number: 2, count: 9),
                SyscallCount(table: .native, number: 500, count: 1),
                SyscallCount(table: .compat, number: 5, count: 3),
            ])
            var writer = JSONWriter(capacity: 256)
            profile.appendJSON(to: &writer)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
            let native = try #require(json["syscalls"] as? [String: Int])
            #expect(native == ["open": 9, "getppid": 7, "syscall_500": 1])
            #expect(json["compatSyscalls"] as? [String: Int] == ["open": 3])
            #expect(profile.byName(in: .native).map(\.name) == ["open", "getppid", "syscall_500"])
            var empty = JSONWriter(capacity: 64)
            SyscallProfile(counts: []).appendJSON(to: &empty)
            #expect(String(decoding: empty.bytes, as: UTF8.self) == "{\"syscalls\":{}}")
        #endif
    }

    @Test func forkRecordsCarryTheCloneFlagsAndTheGate() throws {
        var event = witness_fork_event()
        event.header = RecordFixture.header(
            kind: WITNESS_EVENT_FORK, syscall: WITNESS_SYS_CLONE, size: MemoryLayout<witness_fork_event>.size,
            result: -22, flags: UInt32(WITNESS_FLAG_COMPAT.rawValue))
        event.clone_flags = 0x2002_0000 | 17  // CLONE_NEWNS | CLONE_NEWPID | SIGCHLD
        let bytes = withUnsafeBytes(of: event) { Array($0) }
        try bytes.withUnsafeBytes { raw in
            let decoded = try #require(try EventDecoder.decode(raw))
            guard case let .fork(child, flags) = decoded.payload else {
                Issue.record("not a fork")
                return
            }
            #expect(child == 0)
            #expect(flags == 0x2002_0011)
            #expect("\(decoded.header.flags.gate)" == "ia32")
            var writer = JSONWriter(capacity: 128)
            SyscallFormatter.appendCloneFlags(flags, to: &writer)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == "CLONE_NEWNS|CLONE_NEWPID")
        }
    }
}

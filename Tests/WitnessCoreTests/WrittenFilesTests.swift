import Glibc
import Testing
import WitnessTestSupport

@testable import WitnessCore

/// What the subject wrote is remembered by name for its own windows only, within a
/// bound whose overflow is a loss; and the loader's target is read as the loader does.
@Suite("Dropped files and the dynamic loader's target")
struct WrittenFilesTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aWriteIsRememberedForTheWritersWindowsOnly() {
        let dropped = WrittenFiles()
        let cp = bytes("/usr/bin/cp")
        _ = bytes("/tmp/x").withUnsafeBufferPointer {
            dropped.record(file: .none, path: $0, writer: cp, subjects: 0b01)
        }
        let forSlot0 = bytes("/tmp/x").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b01) }
        let forSlot1 = bytes("/tmp/x").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b10) }
        let other = bytes("/tmp/y").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b01) }
        #expect(forSlot0 == cp)
        #expect(forSlot1 == nil, "another window's subject did not write it")
        #expect(other == nil)
        dropped.forget(slot: 0)
        #expect(bytes("/tmp/x").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b01) } == nil)
        #expect(dropped.count == 0)
    }

    /// A name given relative to a directory (`mv x y`, `ln -s`, `truncate`) is
    /// remembered whole, as the exec of that name later looks it up — not as the
    /// pieces the path join hands over (the directory, `/`, the name).
    @Test(arguments: [Syscall.rename, .renameat2, .link, .symlink, .truncate])
    func aRelativeNameIsRememberedWhole(syscall: Syscall) throws {
        let pipeline = EventPipeline(
            sink: OutputSink(fd: open("/dev/null", O_WRONLY)), format: .json, printsEvents: false, hostname: [],
            processes: ProcessTable(procRoot: "/nonexistent"))
        let name = bytes("run.sh")
        let fixture =
            syscall == .truncate
            ? RecordFixture.syscall(syscall, args: [0, 0], path: name, directory: bytes("/tmp/drop"))
            : RecordFixture.syscall(
                syscall, args: [0, 0], path: bytes("x"), path2: name, directory2: bytes("/tmp/drop"))
        fixture.bytes.withUnsafeBytes { pipeline.handle($0) }
        let dropped = pipeline.writtenFiles
        #expect(bytes("/tmp/drop/run.sh").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 1) } != nil)
        for piece in ["/tmp/drop", "/", "run.sh"] {
            #expect(
                bytes(piece).withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 1) } == nil, "\(piece) alone")
        }
    }

    @Test func forgettingOneSlotKeepsTheOthers() {
        let dropped = WrittenFiles()
        _ = bytes("/tmp/x").withUnsafeBufferPointer {
            dropped.record(file: .none, path: $0, writer: [], subjects: 0b01)
        }
        _ = bytes("/tmp/x").withUnsafeBufferPointer {
            dropped.record(file: .none, path: $0, writer: [], subjects: 0b10)
        }
        dropped.forget(slot: 0)
        #expect(
            bytes("/tmp/x").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b10) } == [],
            "an unnamed writer is empty, not absent")
    }

    @Test func overflowForgetsAnEntryAndSaysWhose() {
        let dropped = WrittenFiles(capacity: 4)
        var lost: UInt64 = 0
        for index in 0..<4 {
            lost |= bytes("/tmp/\(index)").withUnsafeBufferPointer {
                dropped.record(file: .none, path: $0, writer: [], subjects: 0b100)
            }
        }
        #expect(lost == 0 && dropped.count == 4)
        lost = bytes("/tmp/4").withUnsafeBufferPointer {
            dropped.record(file: .none, path: $0, writer: [], subjects: 0b1)
        }
        #expect(lost == 0b100, "the forgotten entry's window lost something")
        #expect(dropped.count == 4)
    }

    /// By identity, a file is the same whatever it is called later; the first writer stays.
    @Test func aFileIsKnownByIdentityAndKeepsItsFirstWriter() {
        let dropped = WrittenFiles()
        let file = FileID(device: 42, inode: 1234)
        _ = bytes("/tmp/a").withUnsafeBufferPointer {
            dropped.record(file: file, path: $0, writer: bytes("/usr/bin/cp"), subjects: 0b1)
        }
        _ = bytes("/tmp/a").withUnsafeBufferPointer {
            dropped.record(file: file, path: $0, writer: bytes("/usr/bin/ld.bfd"), subjects: 0b1)
        }
        #expect(dropped.writer(of: file, subjects: 0b1) == bytes("/usr/bin/cp"), "a later writer does not launder it")
        #expect(dropped.writer(of: FileID(device: 42, inode: 1235), subjects: 0b1) == nil)
        #expect(dropped.writer(of: FileID(device: 43, inode: 1234), subjects: 0b1) == nil, "another device")
        #expect(dropped.writer(of: .none, subjects: 0b1) == nil)
        #expect(
            bytes("/tmp/a").withUnsafeBufferPointer { dropped.writer(of: $0, subjects: 0b1) } == bytes("/usr/bin/cp"))
    }

    @Test func loadersAreKnownByName() {
        for path in [
            "/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1",
            "/lib/ld-linux-aarch64.so.1", "/lib64/ld64.so.2", "ld.so",
        ] {
            #expect(DynamicLoader.isLoader(bytes(path)), "\(path)")
        }
        for path in [
            "/usr/bin/ld", "/usr/bin/ld.bfd", "/usr/bin/ldd", "/usr/bin/x86_64-linux-gnu-ld.gold", "/tmp/ld-linux",
        ] {
            #expect(!DynamicLoader.isLoader(bytes(path)), "\(path)")
        }
    }

    @Test func theLoadersTargetIsReadAsTheLoaderReadsIt() {
        func target(_ argv: [String], cwd: String = "/work") -> String {
            String(
                decoding: DynamicLoader.target(argv: bytes(argv.joined(separator: "\0")), cwd: bytes(cwd)),
                as: UTF8.self)
        }
        let ld = "/lib64/ld-linux-x86-64.so.2"
        #expect(target([ld, "/dev/shm/x", "-e", "sh"]) == "/dev/shm/x")
        #expect(target([ld, "./x"], cwd: "/dev/shm") == "/dev/shm/x")
        #expect(target([ld, "../dev/shm/x"], cwd: "/tmp") == "/dev/shm/x")
        #expect(target([ld, "--argv0", "sshd", "--inhibit-cache", "/dev/shm/x"]) == "/dev/shm/x")
        #expect(target([ld, "--library-path", "/dev/shm", "x"]) == "/dev/shm/x", "a bare name found in --library-path")
        #expect(target([ld, "--library-path=/dev/shm:/lib", "x"]) == "/dev/shm/x", "musl's spelling")
        #expect(target([ld, "--preload", "/tmp/evil.so", "--", "/bin/true"]) == "/bin/true")
        #expect(target([ld, "x"]) == "x", "found through LD_LIBRARY_PATH or the cache: named as given")
        #expect(target([ld, "--help"]) == "")
        #expect(target([ld]) == "")
    }
}

import Foundation

/// Small C programs the kernel tests run as subjects, for what no shell tool does:
/// a syscall through the 32-bit gate, an exact number of one syscall, clone with
/// namespace flags. Compiled with the system's cc into a scratch directory.
enum CProgram {
    /// Compiles `source` and returns the executable's path.
    static func build(_ name: String, _ source: String, flags: [String] = []) throws -> String {
        let dir = try Scratch.directory("c-\(name)")
        let sourcePath = dir.appendingPathComponent("\(name).c").path
        let binary = dir.appendingPathComponent(name).path
        try Scratch.write(sourcePath, Data(source.utf8))
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-O1", "-w", "-o", binary, sourcePath] + flags
        compiler.standardInput = FileHandle.nullDevice
        try compiler.run()
        try compiler.waitForExit(timeout: 120)
        guard compiler.terminationStatus == 0 else { throw CompileError(name: name) }
        return binary
    }

    struct CompileError: Error, CustomStringConvertible {
        var name: String
        var description: String { "cc could not build the test program \(name)" }
    }

    /// `int80-open PATH`: opens PATH through `int $0x80` (the ia32 table, where open
    /// is 5), closes it the same way, and exits 0 when the open succeeded.
    static let int80Open = """
        #include <string.h>
        #include <sys/mman.h>
        #include <unistd.h>
        static long int80(long nr, long a, long b, long c) {
            long ret;
            __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
            return ret;
        }
        int main(int argc, char **argv) {
            /* ia32 pointers are 32 bits: the path must live below 4 GiB. */
            char *low = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
            if (low == MAP_FAILED || argc < 2) return 2;
            strncpy(low, argv[1], 4000);
            long fd = int80(5 /* open */, (long)low, 0 /* O_RDONLY */, 0);
            if (fd < 0) return 1;
            int80(6 /* close */, fd, 0, 0);
            return 0;
        }
        """

    /// `fastopen-ways PORT`: four TCP fast opens to 127.0.0.1:PORT, none by connect(2):
    /// sendmsg, sendmmsg, and ia32 socketcall SENDMSG and SENDMMSG (int $0x80).
    static let fastOpenWays = """
        #define _GNU_SOURCE
        #include <netinet/in.h>
        #include <stdint.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <sys/socket.h>
        #include <unistd.h>
        static long int80(long nr, long a, long b) {
            long ret;
            __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
            return ret;
        }
        int main(int argc, char **argv) {
            if (argc < 2) return 2;
            struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                                      .sin_addr.s_addr = htonl(0x7f000001) };
            char byte = 'x';
            struct iovec iov = { &byte, 1 };
            struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 };
            sendmsg(socket(AF_INET, SOCK_STREAM, 0), &msg, MSG_FASTOPEN);
            struct mmsghdr vector = { .msg_hdr = msg };
            sendmmsg(socket(AF_INET, SOCK_STREAM, 0), &vector, 1, MSG_FASTOPEN);
            /* The 32-bit ABI's structures, below 4 GiB: address, data, iovec, msghdr, arguments. */
            uint8_t *low = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
            if (low == MAP_FAILED) return 2;
            memcpy(low + 512, &to, sizeof to);
            low[600] = 'x';
            uint32_t base = (uint32_t)(uintptr_t)low;
            uint32_t *iov32 = (uint32_t *)(low + 640), *msg32 = (uint32_t *)(low + 700), *args = (uint32_t *)(low + 800);
            iov32[0] = base + 600; iov32[1] = 1;
            msg32[0] = base + 512; msg32[1] = sizeof to; msg32[2] = base + 640; msg32[3] = 1;
            args[0] = socket(AF_INET, SOCK_STREAM, 0); args[1] = base + 700; args[2] = MSG_FASTOPEN;
            int80(102 /* socketcall */, 16 /* SYS_SENDMSG */, base + 800);
            args[0] = socket(AF_INET, SOCK_STREAM, 0); args[2] = 1; args[3] = MSG_FASTOPEN;
            int80(102, 20 /* SYS_SENDMMSG */, base + 800);
            return 0;
        }
        """

    /// `map-exec FILE`: maps FILE readable and makes it executable with mprotect; then
    /// maps it executable through the 32-bit gate's old mmap (arguments in memory).
    static let mapExecutable = """
        #include <fcntl.h>
        #include <stdint.h>
        #include <sys/mman.h>
        static long int80(long nr, long a) {
            long ret;
            __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory");
            return ret;
        }
        int main(int argc, char **argv) {
            if (argc < 2) return 2;
            int fd = open(argv[1], O_RDONLY);
            void *page = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
            if (fd < 0 || page == MAP_FAILED) return 2;
            if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) return 3;
            uint32_t *args = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
            if (args == MAP_FAILED) return 2;
            args[0] = 0; args[1] = 4096; args[2] = PROT_READ | PROT_EXEC; args[3] = MAP_PRIVATE; args[4] = fd; args[5] = 0;
            int80(90 /* ia32 mmap: struct mmap_arg_struct */, (long)(uintptr_t)args);
            return 0;
        }
        """

    /// `repeat-getppid N`: calls getppid(2) exactly N times, nothing else of note.
    static let repeatGetppid = """
        #include <stdlib.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            long n = argc > 1 ? atol(argv[1]) : 0;
            for (long i = 0; i < n; i++) syscall(SYS_getppid);
            return 0;
        }
        """

    /// `clone-namespaces`: clone(CLONE_NEWNS), clone3(CLONE_NEWUSER) and a refused
    /// clone(CLONE_NEWPID | CLONE_THREAD) (EINVAL): each child exits at once.
    static let cloneNamespaces = """
        #define _GNU_SOURCE
        #include <linux/sched.h>
        #include <sched.h>
        #include <signal.h>
        #include <stdint.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(void) {
            long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid(pid, 0, 0);
            struct clone_args args;
            memset(&args, 0, sizeof(args));
            args.flags = CLONE_NEWUSER;
            args.exit_signal = SIGCHLD;
            pid = syscall(SYS_clone3, &args, sizeof(args));
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid(pid, 0, 0);
            syscall(SYS_clone, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, 0, 0, 0);
            return 0;
        }
        """

    /// `io-uring-ops FILE DIR PORT`: through io_uring only, opens FILE, connects to
    /// 127.0.0.1:PORT, and in DIR renames `a` to `b`, links `b` to `c`, symlinks `d`
    /// to `b` and unlinks `c`. Build with -luring.
    static let ioUringOperations = """
        #include <arpa/inet.h>
        #include <fcntl.h>
        #include <liburing.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/socket.h>
        #include <unistd.h>
        static struct io_uring ring;
        static int run(void) {
            struct io_uring_cqe *cqe;
            io_uring_submit(&ring);
            if (io_uring_wait_cqe(&ring, &cqe)) return -1;
            int res = cqe->res;
            io_uring_cqe_seen(&ring, cqe);
            return res;
        }
        int main(int argc, char **argv) {
            if (argc < 4 || io_uring_queue_init(8, &ring, 0)) return 2;
            char a[4096], b[4096], c[4096], d[4096];
            snprintf(a, sizeof a, "%s/a", argv[2]);
            snprintf(b, sizeof b, "%s/b", argv[2]);
            snprintf(c, sizeof c, "%s/c", argv[2]);
            snprintf(d, sizeof d, "%s/d", argv[2]);
            io_uring_prep_openat(io_uring_get_sqe(&ring), AT_FDCWD, argv[1], O_RDONLY, 0);
            int fd = run();
            int sock = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            io_uring_prep_connect(io_uring_get_sqe(&ring), sock, (struct sockaddr *)&to, sizeof to);
            run();
            io_uring_prep_renameat(io_uring_get_sqe(&ring), AT_FDCWD, a, AT_FDCWD, b, 0);
            run();
            io_uring_prep_linkat(io_uring_get_sqe(&ring), AT_FDCWD, b, AT_FDCWD, c, 0);
            run();
            io_uring_prep_symlinkat(io_uring_get_sqe(&ring), b, AT_FDCWD, d);
            run();
            io_uring_prep_unlinkat(io_uring_get_sqe(&ring), AT_FDCWD, c, 0);
            run();
            io_uring_queue_exit(&ring);
            return fd >= 0 ? 0 : 1;
        }
        """
}

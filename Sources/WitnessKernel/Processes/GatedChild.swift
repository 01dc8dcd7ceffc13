import CBPF
import Glibc

/// A command started for `trace -- COMMAND`: forked, held before exec until the
/// agent has made it a subject, then released, so that its very first exec is
/// witnessed. Owns the child's descriptors and reaps it.
package final class GatedChild {
    package let pid: Int32
    private var gateFD: Int32
    private var errorFD: Int32

    /// Forks the program at `path` with `arguments` (argv[0] first) and holds it.
    package init(path: String, arguments: [String]) throws(BPFError) {
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        var gate: Int32 = -1
        var error: Int32 = -1
        let pid = cbpf_spawn_gated(path, &cArguments, &gate, &error)
        guard pid > 0 else { throw BPFError.lastError("fork") }
        self.pid = pid
        gateFD = gate
        errorFD = error
    }

    deinit {
        if gateFD >= 0 { close(gateFD) }
        if errorFD >= 0 { close(errorFD) }
    }

    /// Lets the child exec. Returns the errno of a failed exec, or nil once exec succeeded.
    package func release() -> Int32? {
        var go: UInt8 = 1
        _ = write(gateFD, &go, 1)
        close(gateFD)
        gateFD = -1
        var code: Int32 = 0
        var n: Int
        repeat {
            n = read(errorFD, &code, MemoryLayout<Int32>.size)
        } while n < 0 && errno == EINTR
        close(errorFD)
        errorFD = -1
        return n == MemoryLayout<Int32>.size ? code : nil
    }

    /// Where `command` runs from: itself when it names a path, else the first
    /// executable file of that name in $PATH; nil when there is none.
    package static func resolve(
        _ command: String, path: String? = getenv("PATH").map { String(cString: $0) }
    ) -> String? {
        if command.contains("/") { return access(command, X_OK) == 0 ? command : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    /// Waits for the child and returns a shell-style status: the exit code, or 128 + signal.
    package func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Sends `signal` to the child.
    package func kill(_ signal: Int32) {
        _ = Glibc.kill(pid, signal)
    }
}

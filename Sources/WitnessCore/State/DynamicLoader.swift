/// The dynamic loader run as a program (`ld-linux-x86-64.so.2 /dev/shm/x`) runs the
/// file named in its arguments, yet the kernel only ever sees the loader exec'd: a
/// rule on "run from /dev/shm" would see ld.so. This reads the loader's own command
/// line the way the loader does (glibc's and musl's options), so that the target
/// counts as what was run (`proc.exe_loader_target`).
package enum DynamicLoader {
    /// Whether `path` names a dynamic loader: `ld-linux*.so*`, `ld-musl-*.so*`,
    /// `ld64.so*` or `ld.so`, in any directory.
    package static func isLoader(_ path: some Collection<UInt8>) -> Bool {
        let name = path.split(separator: slash, omittingEmptySubsequences: false).last.map(Array.init) ?? []
        if name.elementsEqual("ld.so".utf8) { return true }
        let contains = { (needle: String) in
            let bytes = Array(needle.utf8)
            return name.count >= bytes.count
                && (0...(name.count - bytes.count)).contains { name[$0..<($0 + bytes.count)].elementsEqual(bytes) }
        }
        return
            (name.starts(with: "ld-linux".utf8) || name.starts(with: "ld-musl-".utf8)
            || name.starts(with: "ld64.so".utf8)) && contains(".so")
    }

    /// Options that take the next argument as their value (glibc 2.36 and musl).
    private static let optionsWithValue: Set<[UInt8]> = Set(
        [
            "--library-path", "--inhibit-rpath", "--audit", "--preload", "--argv0", "--glibc-hwcaps-prepend",
            "--glibc-hwcaps-mask",
        ].map { Array($0.utf8) })

    /// The file the loader will run, from its NUL-separated argv (argv[0] first) and
    /// the working directory: joined with `cwd` and normalised when it has a slash;
    /// a bare name is looked for in `--library-path` (its first directory) by the
    /// loader, or in LD_LIBRARY_PATH and the loader cache, which Witness does not
    /// read: then the bare name. Empty when the loader runs nothing (`--help`).
    package static func target(argv: [UInt8], cwd: [UInt8]) -> [UInt8] {
        let arguments = argv.split(separator: 0, omittingEmptySubsequences: false).dropFirst()
        var index = arguments.startIndex
        var libraryPath: ArraySlice<UInt8>?
        while index < arguments.endIndex {
            let argument = Array(arguments[index])
            if optionsWithValue.contains(argument) {
                if argument.elementsEqual("--library-path".utf8), index + 1 < arguments.endIndex {
                    libraryPath = arguments[index + 1]
                }
                index += 2
            } else if argument.elementsEqual("--".utf8) {
                index += 1
                break
            } else if argument.starts(with: "--".utf8) {
                // A flag (--list, --verify, --inhibit-cache), or musl's --option=value.
                if argument.starts(with: "--library-path=".utf8) { libraryPath = arguments[index].dropFirst(15) }
                index += 1
            } else {
                break
            }
        }
        guard index < arguments.endIndex, !arguments[index].isEmpty else { return [] }
        var name = Array(arguments[index])
        if !name.contains(slash) {
            guard let directory = libraryPath?.split(separator: UInt8(ascii: ":")).first, !directory.isEmpty else {
                return name
            }
            name = Array(directory) + [slash] + name
        }
        return name.withUnsafeBytes { path in
            cwd.withUnsafeBytes { directory in PathResolver.joined(directory: directory, path: path) }
        }
    }

    private static let slash = UInt8(ascii: "/")
}

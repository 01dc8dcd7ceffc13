/// Which events write a file: an open that may modify, a truncation, and the names
/// rename, link and symlink give (a script runs by its name). Attempts through
/// io_uring count: their result is not seen.
extension WrittenFiles {
    /// Remembers the file `event` wrote, by identity and by its whole name, with the
    /// program that wrote it. Returns the subjects of entries forgotten for room.
    func note(_ event: KernelEvent, processes: ProcessTable) -> UInt64 {
        let header = event.header
        guard header.subjects != 0, header.result >= 0 || header.flags.contains(.ioUring) else { return 0 }
        switch event.payload {
        case let .open(_, flags, _, path, directory, _):
            guard OpenFlags.modifies(flags) else { return 0 }
            return note(header.file, directory: directory, path: path, by: header, processes: processes)
        case let .syscall(record):
            switch header.syscall {
            case .truncate, .ftruncate:
                return note(
                    header.file, directory: record.directory, path: record.path, by: header, processes: processes)
            case .rename, .renameat, .renameat2, .link, .linkat, .symlink, .symlinkat:
                return note(.none, directory: record.directory2, path: record.path2, by: header, processes: processes)
            default: return 0
            }
        default: return 0
        }
    }

    /// The files `pids` hold open for writing as a window begins in `slot`: what they
    /// write through those descriptors during the window passes no open. `each` hears
    /// every file (a recording keeps them). `known`: what a found scan already read,
    /// by process (else /proc is read). Returns the subjects of entries forgotten.
    func noteOpenForWriting(
        _ pids: [Int32], slot: Int, processes: ProcessTable, known: [Int32: [(FileID, [UInt8])]]? = nil,
        each: (FileID, [UInt8], [UInt8]) -> Void
    ) -> UInt64 {
        var lost: UInt64 = 0
        let mounts = MountDevices()
        for pid in pids {
            let writer = processes.cached(pid)?.exePath ?? []
            let files =
                known.map { $0[pid] ?? [] }
                ?? ProcFS.filesOpenForWriting(pid: pid, procRoot: processes.procRoot, mounts: mounts)
            for (file, path) in files {
                each(file, path, writer)
                lost |= path.withUnsafeBufferPointer {
                    record(file: file, path: $0, writer: writer, subjects: 1 << UInt64(slot))
                }
            }
        }
        return lost
    }

    /// One written file; a relative name comes from the join in pieces (directory,
    /// `/`, name) and is remembered whole.
    private func note(
        _ file: FileID, directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, by header: EventHeader,
        processes: ProcessTable
    ) -> UInt64 {
        let writer = processes.cached(header.pid)?.exePath ?? []
        joinScratch.removeAll(keepingCapacity: true)
        PathResolver.join(directory: directory, path: path) { joinScratch.append(contentsOf: $0) }
        return joinScratch.withUnsafeBufferPointer {
            record(file: file, path: $0, writer: writer, subjects: header.subjects)
        }
    }
}

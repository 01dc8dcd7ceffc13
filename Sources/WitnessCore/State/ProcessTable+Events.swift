/// How events change the process table: an exec replaces the process's record
/// before anything is said about the event (its rules read the new program), a fork
/// and an exit change the table after (the event is still the old process's).
extension ProcessTable {
    /// A successful exec's new record, built from what the kernel read at exec and
    /// put in the table; also returns the record it replaced.
    func applyExec(
        _ header: EventHeader, filename: UnsafeRawBufferPointer, args: UnsafeRawBufferPointer,
        directory: UnsafeRawBufferPointer, identity: ExecIdentity, executable: UnsafeRawBufferPointer,
        environment: UnsafeRawBufferPointer, writtenFiles: WrittenFiles
    ) -> (record: ProcessRecord, previous: ProcessRecord?) {
        let previous = cached(header.pid)
        var record = ProcessRecord(
            pid: header.pid, ppid: header.ppid, name: Array(header.comm),
            // A script's name is as it was run: collapsing a `..` over a symlink
            // could make it an exempt program's path.
            exePath: executable.isEmpty
                ? PathResolver.joinedAsWritten(directory: directory, path: filename) : Array(executable),
            argv: Array(args), argvTruncated: header.flags.contains(.argsTruncated),
            tty: Int32(bitPattern: identity.tty),
            loginUID: identity.loginUID, cwd: Array(directory), capabilities: identity.capabilities,
            executableIsMemfd: header.flags.contains(.executableIsMemfd),
            executableIsDeleted: header.flags.contains(.executableIsDeleted),
            startTime: previous?.startTime ?? header.timestamp,
            vpid: identity.vpid > 0 ? Int32(bitPattern: identity.vpid) : nil)
        record.executableInUpperLayer = header.flags.contains(.executableInUpperLayer)
        record.executableIsScript = header.flags.contains(.executableIsScript)
        record.subjects = header.subjects | (previous?.subjects ?? 0)
        record.permittedCapabilities = identity.permitted
        record.inheritableCapabilities = identity.inheritable
        record.sessionID = identity.sessionID > 0 ? Int32(bitPattern: identity.sessionID) : nil
        record.namespaceProcessGroupID =
            identity.namespaceProcessGroupID > 0 ? Int32(bitPattern: identity.namespaceProcessGroupID) : nil
        record.stdio = identity.stdio
        record.environment = Array(environment)
        record.environmentTruncated = header.flags.contains(.environmentTruncated)
        if DynamicLoader.isLoader(record.exePath) {
            record.loaderTarget = DynamicLoader.target(argv: record.argv, cwd: record.cwd)
        }
        // Who wrote what runs: the file by identity (a script's interpreter), else by
        // name — a script's normalised path, a program renamed or linked into place
        // (which gives it a new name, not new content) — and the loader's target.
        let byName = executable.isEmpty ? PathResolver.joined(directory: directory, path: filename) : record.exePath
        record.executableWriter =
            writtenFiles.writer(of: header.file, subjects: header.subjects)
            ?? byName.withUnsafeBufferPointer { writtenFiles.writer(of: $0, subjects: header.subjects) }
            ?? record.loaderTarget.withUnsafeBufferPointer { writtenFiles.writer(of: $0, subjects: header.subjects) }
        insert(record)
        return (record, previous)
    }

    /// What a fork or an exit changes, once the event has been judged.
    func applyAfter(_ event: KernelEvent) {
        let header = event.header
        switch event.payload {
        case let .fork(childPID, _) where childPID > 0 && childPID != header.pid:
            fork(parent: header.pid, child: childPID, at: header.timestamp, subjects: header.subjects)
        case .exit: exit(header.pid)
        default: break
        }
    }
}

/// The profile half of the pipeline: each witnessed event added to the runtime
/// profile of every window that gathers one, the drift it shows against a window's
/// baseline written as alert lines, and a window's profile finished at its close.
extension EventPipeline {
    /// Adds `event` to the profile of each window that witnessed it, and writes the
    /// drift it shows against each one's baseline. `exec`: a successful exec's new
    /// record, the one before it, and the file to hash (`.none`: by name).
    func noteProfiles(_ event: KernelEvent, exec: (ProcessRecord, ProcessRecord?, FileID)?) {
        let header = event.header
        let succeeded = header.result >= 0 || header.flags.contains(.ioUring)
        var bits = header.subjects & profiles.mask
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            guard let builder = profiles.builder(slot: slot) else { continue }
            builder.noteCredentials(uid: header.uid, gid: header.gid, header: header)
            switch event.payload {
            case let .exec(_, _, _, identity, _, _):
                guard let (record, previous, file) = exec else { break }
                let entry = builder.noteExec(
                    path: record.exePath, file: file, changeTime: file.isNone ? 0 : identity.changeTime,
                    parent: processes.cached(header.ppid)?.exePath,
                    capabilities: identity.capabilities, previousCapabilities: previous?.capabilities, header: header)
                if let entry {
                    profiles.requestHash(
                        slot: slot, entry: entry, file: file, changeTime: file.isNone ? 0 : identity.changeTime,
                        path: record.exePath, pid: header.pid, uid: header.uid, gid: header.gid,
                        hostNamespace: identity.vpid == 0 || Int32(bitPattern: identity.vpid) == header.pid)
                }
            case let .open(_, flags, _, path, directory, _) where succeeded:
                let written = OpenFlags.modifies(flags)
                withJoinedPath(directory: directory, path: path) {
                    builder.noteFile($0, written: written, header: header)
                }
            case let .connect(_, remote, local, transport) where header.syscall == .listen:
                // An IP listener by its local end; a unix one by the name it is bound to.
                let unixName: SocketAddress?
                if case .unix = remote { unixName = remote } else { unixName = nil }
                builder.noteListen(local ?? unixName, transport: transport, header: header)
            case let .connect(_, remote, _, transport):
                let result: String
                if header.flags.contains(.ioUring) {
                    result = "submitted"
                } else if header.result >= 0 {
                    result = "ok"
                } else {
                    result = ErrnoNames.failure(header.result)
                }
                builder.noteConnection(remote, transport: transport, result: result, header: header)
            case let .syscall(record):
                noteProfileSyscall(record, header: header, succeeded: succeeded, builder: builder, slot: slot)
            default:
                break
            }
            if !builder.findings.isEmpty { writeDrift(slot: slot, builder: builder, timestamp: header.timestamp) }
        }
    }

    private func noteProfileSyscall(
        _ record: SyscallRecord, header: EventHeader, succeeded: Bool, builder: ProfileBuilder, slot: Int
    ) {
        switch header.syscall {
        case .truncate, .ftruncate, .chmod, .fchmod, .fchmodat, .unlink, .unlinkat, .mkdir, .mkdirat, .rmdir, .mknod,
            .mknodat, .chown, .lchown, .fchown, .fchownat:
            guard succeeded else { return }
            withWrittenName(directory: record.directory, path: record.path) {
                builder.noteFile($0, written: true, header: header)
            }
        case .rename, .renameat, .renameat2, .link, .linkat, .symlink, .symlinkat:
            guard succeeded else { return }
            withWrittenName(directory: record.directory2, path: record.path2) {
                builder.noteFile($0, written: true, header: header)
            }
            // A rename also takes the name out of its source directory (an exchange
            // writes both).
            if header.syscall == .rename || header.syscall == .renameat || header.syscall == .renameat2 {
                withWrittenName(directory: record.directory, path: record.path) {
                    builder.noteFile($0, written: true, header: header)
                }
            }
        case .mmap, .mprotect:
            // Only executable mappings of files are reported: code, whatever loaded it.
            guard succeeded, !record.path.isEmpty else { return }
            withJoinedPath(directory: record.directory, path: record.path) { path in
                if let entry = builder.noteLibrary(path: path, file: header.file, header: header) {
                    let vpid = processes.cached(header.pid)?.vpid
                    profiles.requestHash(
                        slot: slot, entry: entry, file: header.file, changeTime: 0, path: Array(path), pid: header.pid,
                        uid: header.uid, gid: header.gid, hostNamespace: vpid == nil || vpid == header.pid)
                }
            }
        case .setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid:
            let count = SyscallTable.shape(of: header.syscall)?.arguments.count ?? 1
            let arguments = (0..<count).map { Int64(Int32(truncatingIfNeeded: record.argument($0))) }
            let result = header.result >= 0 ? "ok" : ErrnoNames.failure(header.result)
            builder.noteIdentityChange(
                call: "\(header.syscall.eventType)", arguments: arguments, result: result,
                executable: processes.cached(header.pid)?.exePath ?? [], header: header)
        default:
            break
        }
    }

    /// A name the subject wrote through, as its directory is to be held to the
    /// baseline: normalised, unless it climbs with `..` — the kernel resolves `..`
    /// after symlinks (`/tmp/l/../x` with /tmp/l → /etc/ssl writes in /etc), so such
    /// a name is kept as spelled and its directory is new to any baseline.
    private func withWrittenName(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard !path.isEmpty else { return }
        guard PathResolver.climbs(path) else { return withJoinedPath(directory: directory, path: path, body) }
        PathResolver.joinedAsWritten(directory: directory, path: path).withUnsafeBufferPointer(body)
    }

    /// `path` joined with `directory` and normalised, as one buffer (reused: no
    /// allocation); nothing for an empty path.
    private func withJoinedPath(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard !path.isEmpty else { return }
        withJoinedName(directory: directory, path: path, body)
    }

    /// Writes the drift `builder` found as alert lines of `slot`'s window.
    private func writeDrift(slot: Int, builder: ProfileBuilder, timestamp: UInt64) {
        let findings = builder.findings
        builder.findings.removeAll(keepingCapacity: true)
        for finding in findings {
            let start = output.writer.bytes.count
            drift.write(
                finding, priority: profiles.priority(slot: slot), timestamp: timestamp, slot: slot,
                process: finding.pid > 0 ? processes.cached(finding.pid) : nil, labels: windows.labels,
                format: output.format, colour: output.text.colour, into: &output.writer)
            windows.noteDriftAlert(slot: slot)
            let lost = output.tap(from: start, subjects: 1 << UInt64(slot))
            if lost > 0 { windows.recordAgentDrops(UInt64(lost), subjects: 1 << UInt64(slot)) }
        }
    }

    /// Starts gathering a profile for the window in `slot` (held to `settings.baseline`, if any).
    package func beginProfile(slot: Int, _ settings: WindowProfiles.Settings) {
        windows.resetDriftAlerts(slot: slot)
        profiles.begin(slot: slot, settings)
    }

    /// Applies the executable hashes that arrived and writes the drift they show, as
    /// of `now`; on the consumer thread, between records (a batch's end, a wake-up),
    /// so that a recording holds each where it arrived and a replay applies it there.
    func applyProfileArrivals(at now: UInt64 = WallClock.bootNow()) {
        guard profiles.hasArrivals else { return }
        var touched = profiles.applyArrivals { file, path, outcome, slot in
            if !recordings.isEmpty { recordings.hash(file: file, path: path, outcome: outcome, slot: slot, at: now) }
        }
        while touched != 0 {
            let slot = touched.trailingZeroBitCount
            touched &= touched - 1
            if let builder = profiles.builder(slot: slot) { writeDrift(slot: slot, builder: builder, timestamp: now) }
        }
    }

    /// Ends `slot`'s profile: waits (a bounded time) for its executables' hashes,
    /// checks the kernel's syscall counts against the baseline, writes the last drift
    /// alerts and returns the profile. On the consumer thread, or after it stopped.
    package func finishProfile(
        slot: Int, syscalls: SyscallProfile?, at now: UInt64 = WallClock.bootNow(), waitMilliseconds: Int = 3000
    ) -> RuntimeProfile? {
        guard let builder = profiles.builder(slot: slot) else { return nil }
        recordings.context = 1 << UInt64(slot)
        if !builder.unhashed.isEmpty { _ = profiles.hasher.waitForPending(milliseconds: waitMilliseconds) }
        applyProfileArrivals(at: now)
        let header = WindowProfiles.header(0)
        if builder.baseline != nil {
            for entry in builder.unhashed {
                builder.noteHash(.failed("not hashed before the window closed"), entry: entry.index, header: header)
            }
        }
        if let syscalls { builder.noteSyscalls(syscalls, header: header) }
        writeDrift(slot: slot, builder: builder, timestamp: now)
        _ = profiles.end(slot: slot)
        return builder.profile(syscalls: syscalls)
    }
}

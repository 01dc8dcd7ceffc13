/// How lines are written: JSON lines for programs, columns for people.
public enum OutputFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// The user-space path of every ring buffer record: decode → process table →
/// rules → format → sink. When every event is asked for (`trace`, `--events`),
/// each is written with the most severe rule it fired marked on it; otherwise
/// only the Falco alert lines of fired rules are written. It runs on the consumer thread, record by record, writing into
/// one reusable buffer that is flushed at the end of each drained batch (or when
/// it grows past `flushThreshold`), so the common path allocates nothing.
public final class EventPipeline {
    public private(set) var counts = EventCounts()
    /// Events that fired at least one rule.
    public private(set) var alertedEvents: UInt64 = 0
    /// Lines that could not be written because the output went away: lost by the agent.
    public private(set) var unwrittenLines: UInt64 = 0
    public let processes: ProcessTable
    /// What the subjects wrote during their windows, for `proc.exe_writer` and `fd.writer`.
    public let droppedFiles = DroppedFiles()
    /// The rules engine, if rules are loaded.
    public let classifier: (any EventClassifier)?
    /// Whether every event is printed (`trace`, `witness --events`).
    public var printsEvents: Bool
    /// Per-window counts (node mode), by subject slot.
    public var tallies: WindowTallies?
    /// Also receives every alert line (node mode outputs); JSON format only.
    public var alertTap: (any AlertTap)?
    /// The runtime profiles of the windows that gather one.
    public let profiles = WindowProfiles()
    /// Drift alerts written for each slot's window since it began.
    public private(set) var driftAlerts = [Int](repeating: 0, count: 64)
    private var drift: DriftAlertWriter
    /// The recordings being written (`witness --record`, a window's `record`).
    public let recordings = Recordings()
    private var pathScratch: [UInt8] = []
    private let format: OutputFormat
    private let sink: OutputSink
    private var writer = JSONWriter(capacity: 512 * 1024)
    private var json: EventJSONEncoder
    private var text: EventTextFormatter
    private let flushThreshold = 256 * 1024

    public init(
        sink: OutputSink, format: OutputFormat, printsEvents: Bool, hostname: [UInt8],
        clock: WallClock = WallClock(), processes: ProcessTable = ProcessTable(),
        classifier: (any EventClassifier)? = nil, colour: Bool = false, identities: CgroupIdentities? = nil
    ) {
        self.classifier = classifier
        self.sink = sink
        self.format = format
        self.printsEvents = printsEvents
        self.processes = processes
        json = EventJSONEncoder(hostname: hostname, clock: clock)
        json.identities = identities
        drift = DriftAlertWriter(hostname: hostname, clock: clock)
        pathScratch.reserveCapacity(4096)
        text = EventTextFormatter(clock: clock)
        text.colour = colour
        if format == .text && printsEvents {
            writer.bytes.append(contentsOf: EventTextFormatter.headerLine.utf8)
        }
        // A process record forgotten for room is evidence lost for the windows that saw it.
        processes.onForget = { [unowned self] victim in
            if victim.subjects != 0 { self.tallies?.recordAgentDrops(1, subjects: victim.subjects) }
        }
    }

    /// Names subject slots in the JSON output.
    public func label(slot: Int, as label: String) {
        json.subjectLabels[slot] = label
        classifier?.label(slot: slot, as: label)
    }

    /// Handles one record from the ring buffer (valid only during this call).
    public func handle(_ record: UnsafeRawBufferPointer) {
        if !recordings.isEmpty { recordings.context = Recordings.subjects(of: record) }
        let decoded: KernelEvent?
        do {
            decoded = try EventDecoder.decode(record)
        } catch {
            counts.undecodable &+= 1
            tallies?.recordAgentDrops(1)
            return
        }
        if let event = decoded { handle(event) }
        if !recordings.isEmpty { recordings.record(record) }
    }

    /// Starts feeding `writer`: the process table and cgroup identities are observed
    /// from now on.
    public func startRecording(_ writer: RecordingWriter) {
        recordings.add(writer)
        processes.observer = recordings
        json.identities?.onIdentity = { [recordings] id, identity in recordings.identity(id, identity) }
    }

    /// Stops feeding `writer`.
    public func stopRecording(_ writer: RecordingWriter) {
        recordings.remove(writer)
    }

    public func handle(_ event: KernelEvent) {
        let header = event.header
        counts.record(header.syscall)
        tallies?.recordEvent(header.syscall, subjects: header.subjects)

        // An exec changes the process before anything is said about it.
        if case let .exec(filename, args, directory, identity, executable, environment) = event.payload, header.result == 0 {
            let previous = processes.cached(header.pid)
            var record = ProcessRecord(
                pid: header.pid, ppid: header.ppid, name: Array(header.comm),
                // A script's name is as it was run: collapsing a `..` over a symlink
                // could make it an exempt program's path.
                exePath: executable.isEmpty
                    ? PathResolver.joinedAsWritten(directory: directory, path: filename) : Array(executable),
                argv: Array(args), argvTruncated: header.flags.contains(.argsTruncated), tty: Int32(bitPattern: identity.tty),
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
            record.executableWriter = droppedFiles.writer(of: header.file, subjects: header.subjects)
                ?? droppedWriter(
                    of: executable.isEmpty ? PathResolver.joined(directory: directory, path: filename) : record.exePath,
                    subjects: header.subjects)
                ?? droppedWriter(of: record.loaderTarget, subjects: header.subjects)
            processes.insert(record)
            if header.subjects & profiles.mask != 0 {
                noteProfiles(event, exec: (record, previous, executable.isEmpty ? .none : header.file))
            }
        } else {
            noteWrite(event)
            if header.subjects & profiles.mask != 0 { noteProfiles(event, exec: nil) }
        }

        var mark: AlertMark?
        if let classifier, classifier.classify(event, number: counts.total, droppedFiles: droppedFiles) > 0 {
            alertedEvents &+= 1
            tallies?.recordAlerts(classifier.matchedRules, subjects: header.subjects)
            if printsEvents {
                mark = classifier.lastMark
            } else {
                let start = writer.bytes.count
                classifier.writeAlerts(for: event, format: format, into: &writer)
                if let alertTap {
                    let lost = writer.bytes.withUnsafeBytes {
                        alertTap.alerts(UnsafeRawBufferPointer(rebasing: $0[start...]), subjects: header.subjects)
                    }
                    if lost > 0 { tallies?.recordAgentDrops(UInt64(lost), subjects: header.subjects) }
                }
            }
        }
        if printsEvents {
            let process = processes.lookup(header.pid)
            switch format {
            case .json:
                json.encode(event, process: process, parent: processes.lookup(header.ppid), mark: mark, into: &writer)
            case .text:
                text.format(event, process: process, mark: mark, into: &writer)
            }
        }

        switch event.payload {
        case let .fork(childPID, _) where childPID > 0 && childPID != header.pid:
            processes.fork(parent: header.pid, child: childPID, at: header.timestamp, subjects: header.subjects)
        case .exit: processes.exit(header.pid)
        default: break
        }
        if writer.bytes.count >= flushThreshold { flush() }
    }

    /// Adds `event` to the profile of each window that witnessed it, and writes the
    /// drift it shows against each one's baseline. `exec`: a successful exec's new
    /// record, the one before it, and the file to hash (`.none`: by name).
    private func noteProfiles(_ event: KernelEvent, exec: (ProcessRecord, ProcessRecord?, FileID)?) {
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
                        path: record.exePath, pid: header.pid, uid: header.uid, gid: header.gid)
                }
            case let .open(_, flags, _, path, directory, _) where succeeded:
                let written = OpenFlags.modifies(flags)
                withJoinedPath(directory: directory, path: path) { builder.noteFile($0, written: written, header: header) }
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
                    result = ErrnoNames.name(-header.result).map { "\($0)" } ?? "error \(-header.result)"
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
            withJoinedPath(directory: record.directory, path: record.path) {
                builder.noteFile($0, written: true, header: header)
            }
        case .rename, .renameat, .renameat2, .link, .linkat, .symlink, .symlinkat:
            guard succeeded else { return }
            withJoinedPath(directory: record.directory2, path: record.path2) {
                builder.noteFile($0, written: true, header: header)
            }
        case .mmap, .mprotect:
            // Only executable mappings of files are reported: code, whatever loaded it.
            guard succeeded, !record.path.isEmpty else { return }
            withJoinedPath(directory: record.directory, path: record.path) { path in
                if let entry = builder.noteLibrary(path: path, file: header.file, header: header) {
                    profiles.requestHash(
                        slot: slot, entry: entry, file: header.file, changeTime: 0, path: Array(path), pid: header.pid,
                        uid: header.uid, gid: header.gid)
                }
            }
        case .setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid:
            let count = SyscallTable.shape(of: header.syscall)?.arguments.count ?? 1
            let arguments = (0..<count).map { Int64(Int32(truncatingIfNeeded: record.argument($0))) }
            let result = header.result >= 0 ? "ok" : ErrnoNames.name(-header.result).map { "\($0)" } ?? "error"
            builder.noteIdentityChange(
                call: "\(header.syscall.eventType)", arguments: arguments, result: result,
                executable: processes.cached(header.pid)?.exePath ?? [], header: header)
        default:
            break
        }
    }

    /// `path` joined with `directory` and normalised, as one buffer (reused: no allocation).
    private func withJoinedPath(
        directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard !path.isEmpty else { return }
        pathScratch.removeAll(keepingCapacity: true)
        PathResolver.join(directory: directory, path: path) { pathScratch.append(contentsOf: $0) }
        pathScratch.withUnsafeBufferPointer(body)
    }

    /// Writes the drift `builder` found as alert lines of `slot`'s window.
    private func writeDrift(slot: Int, builder: ProfileBuilder, timestamp: UInt64) {
        let findings = builder.findings
        builder.findings.removeAll(keepingCapacity: true)
        for finding in findings {
            let start = writer.bytes.count
            drift.write(
                finding, priority: profiles.priority(slot: slot), timestamp: timestamp, slot: slot,
                process: finding.pid > 0 ? processes.cached(finding.pid) : nil, labels: json.subjectLabels,
                format: format, colour: text.colour, into: &writer)
            driftAlerts[slot] += 1
            if let alertTap, format == .json {
                let lost = writer.bytes.withUnsafeBytes {
                    alertTap.alerts(UnsafeRawBufferPointer(rebasing: $0[start...]), subjects: 1 << UInt64(slot))
                }
                if lost > 0 { tallies?.recordAgentDrops(UInt64(lost), subjects: 1 << UInt64(slot)) }
            }
        }
    }

    /// Starts gathering a profile for the window in `slot` (held to `settings.baseline`, if any).
    public func beginProfile(slot: Int, _ settings: WindowProfiles.Settings) {
        driftAlerts[slot] = 0
        profiles.begin(slot: slot, settings)
    }

    /// Applies the executable hashes that arrived and writes the drift they show;
    /// on the consumer thread, when woken.
    public func applyProfileArrivals() {
        guard profiles.hasArrivals else { return }
        var touched = profiles.applyArrivals { file, path, outcome, slot in
            if !recordings.isEmpty { recordings.hash(file: file, path: path, outcome: outcome, slot: slot) }
        }
        let now = WallClock.bootNow()
        while touched != 0 {
            let slot = touched.trailingZeroBitCount
            touched &= touched - 1
            if let builder = profiles.builder(slot: slot) { writeDrift(slot: slot, builder: builder, timestamp: now) }
        }
    }

    /// Ends `slot`'s profile: waits (a bounded time) for its executables' hashes,
    /// checks the kernel's syscall counts against the baseline, writes the last drift
    /// alerts and returns the profile. On the consumer thread, or after it stopped.
    public func finishProfile(slot: Int, syscalls: SyscallProfile?, waitMilliseconds: Int = 3000) -> RuntimeProfile? {
        guard let builder = profiles.builder(slot: slot) else { return nil }
        recordings.context = 1 << UInt64(slot)
        if !builder.unhashed.isEmpty { _ = profiles.hasher.waitForPending(milliseconds: waitMilliseconds) }
        applyProfileArrivals()
        let now = WallClock.bootNow()
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

    /// Remembers a file a subject wrote or created — by identity, and by name — and
    /// the names it gave files by renaming and linking (a script runs by its name).
    /// Attempts through io_uring count: their result is not seen.
    private func noteWrite(_ event: KernelEvent) {
        let header = event.header
        guard header.subjects != 0, header.result >= 0 || header.flags.contains(.ioUring) else { return }
        switch event.payload {
        case let .open(_, flags, _, path, directory, _):
            guard OpenFlags.modifies(flags) else { return }
            noteWritten(header.file, directory: directory, path: path, by: header)
        case let .syscall(record):
            switch header.syscall {
            case .truncate, .ftruncate:
                noteWritten(header.file, directory: record.directory, path: record.path, by: header)
            case .rename, .renameat, .renameat2, .link, .linkat, .symlink, .symlinkat:
                noteWritten(.none, directory: record.directory2, path: record.path2, by: header)
            default: return
            }
        default: return
        }
    }

    /// One written file into `droppedFiles`; a forgotten entry is a loss for its windows.
    private func noteWritten(
        _ file: FileID, directory: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, by header: EventHeader
    ) {
        let writer = processes.cached(header.pid)?.exePath ?? []
        var lost: UInt64 = 0
        PathResolver.join(directory: directory, path: path) { name in
            lost |= droppedFiles.record(file: file, path: name, writer: writer, subjects: header.subjects)
        }
        if lost != 0 { tallies?.recordAgentDrops(1, subjects: lost) }
    }

    private func droppedWriter(of path: [UInt8], subjects: UInt64) -> [UInt8]? {
        path.withUnsafeBufferPointer { droppedFiles.writer(of: $0, subjects: subjects) }
    }

    /// The subject's processes as its window in `slot` begins: their records are
    /// marked as the window's, and the files they hold open for writing count as
    /// written by them from the start (what they write through those descriptors
    /// during the window passes no open).
    public func noteSubjectProcesses(_ pids: [Int32], slot: Int) {
        recordings.context = 1 << UInt64(slot)
        processes.mark(pids, slot: slot)
        var lost: UInt64 = 0
        for pid in pids {
            let writer = processes.cached(pid)?.exePath ?? []
            for (file, path) in ProcFiles.filesOpenForWriting(pid: pid, procRoot: processes.procRoot) {
                if !recordings.isEmpty { recordings.written(file: file, path: path, writer: writer, slot: slot) }
                lost |= path.withUnsafeBufferPointer {
                    droppedFiles.record(file: file, path: $0, writer: writer, subjects: 1 << UInt64(slot))
                }
            }
        }
        if lost != 0 { tallies?.recordAgentDrops(1, subjects: lost) }
    }

    /// A window begins in `slot`: nothing its subject writes from now on was dropped
    /// by an earlier window there.
    public func beginWindow(slot: Int) {
        droppedFiles.forget(slot: slot)
        processes.unmark(slot: slot)
    }

    /// Writes what is buffered.
    public func flush() {
        applyProfileArrivals()
        if let lost = alertTap?.flush(), lost > 0 { countUnwritten(UInt64(lost)) }
        guard !writer.bytes.isEmpty else { return }
        let written = writer.bytes.withUnsafeBytes { sink.write($0) }
        if !written { countUnwritten(UInt64(writer.bytes.lineCount)) }
        writer.reset()
    }

    /// Lines an output could not take: lost for every open window.
    private func countUnwritten(_ lines: UInt64) {
        unwrittenLines &+= lines
        tallies?.recordAgentDrops(lines)
    }

    /// Writes one line of our own (a testimony, a summary) after the buffered events.
    public func writeLine(_ line: String) {
        flush()
        var copy = line + "\n"
        copy.withUTF8 { _ = sink.write(UnsafeRawBufferPointer($0)) }
    }
}

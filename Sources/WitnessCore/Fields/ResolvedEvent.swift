/// The record being handled, resolved once for everyone who reads it: the rules,
/// the alert line, the event line and the profile. One process-table lookup (and
/// one for each ancestor asked about), fd.name and the command line built at most
/// once, in buffers that keep their capacity — so however many rules and lines read
/// a field, the record costs one resolution and allocates nothing. The values
/// themselves come from one place, the field catalogue (`value(_:)`).
///
/// Reused for every record: `begin(_:number:)` takes one, `end()` lets go of it.
/// Its strings point into the ring buffer record, valid until `end()`, which the
/// pipeline calls once the record is handled.
package final class ResolvedEvent {
    /// The event, as two stored parts so that reading a field does not copy the whole event.
    package internal(set) var header: EventHeader
    package internal(set) var payload: EventPayload = .exit
    var active = false
    private(set) var eventNumber: UInt64 = 0
    package var syscall: Syscall { header.syscall }
    package let processes: ProcessTable
    /// user.name and group.name: read from /etc on first use (a trace without rules never does).
    lazy var users = UserNames()
    package let clock: WallClock
    package var identities: CgroupIdentities?
    /// Who wrote a file during the window (`fd.writer`, `proc.exe_writer`).
    package let writtenFiles: WrittenFiles?

    /// An open, and its flags: what most rules ask first, answered without reading
    /// the payload (matching on it copies it out of this object).
    var isOpen = false
    var openFlags: UInt32 = 0
    var process: ProcessRecord?
    var processLooked = false
    /// Whose record `process` is, and the table's generation then: the next event of
    /// the same process reuses it while the table has not changed (a burst of opens
    /// copies the record once).
    var processPID: Int32 = 0
    var processGeneration: UInt64 = .max
    var ancestors: [ProcessRecord?] = []
    var fdName: [UInt8] = []
    var fdNameReady = false
    var commandLine: [UInt8] = []
    var commandLineReady = false
    var arguments: [UInt8] = []
    var argumentsReady = false
    var parentCommandLine: [UInt8] = []
    var parentCommandLineReady = false
    var flags = JSONWriter(capacity: 256)
    var flagsReady = false
    var address = JSONWriter(capacity: 128)
    /// Buffer for values rendered on demand (cwd, capabilities, syscall arguments).
    var rendered = JSONWriter(capacity: 8192)
    /// Copies of values from tables that may change under a borrowed pointer (`keep`).
    var kept: [UInt8] = []
    /// This thread's copy of `FieldNames`: argument names and label keys without a
    /// lock per event; refreshed when rules loaded later interned new names.
    var names: [String] = []

    package init(
        processes: ProcessTable, clock: WallClock, identities: CgroupIdentities? = nil,
        writtenFiles: WrittenFiles? = nil
    ) {
        self.identities = identities
        self.writtenFiles = writtenFiles
        header = Self.idle
        self.processes = processes
        self.clock = clock
        fdName.reserveCapacity(8192)
        commandLine.reserveCapacity(8192)
        arguments.reserveCapacity(8192)
        parentCommandLine.reserveCapacity(8192)
        kept.reserveCapacity(1024)
        ancestors.reserveCapacity(16)
    }

    /// The record is gone: no pointer into it is kept (a later read answers nothing).
    package func end() {
        active = false
        header = Self.idle
        payload = .exit
        ancestors.removeAll(keepingCapacity: true)
    }

    /// Whether a record's pointers are held (between `begin` and `end`).
    package var holdsRecord: Bool { active || header.comm.baseAddress != nil }

    private static var idle: EventHeader {
        EventHeader(
            kind: .exit, syscall: .none, timestamp: 0, subjects: 0, cgroupID: 0, result: 0, pid: 0, tid: 0, ppid: 0,
            uid: 0, gid: 0, flags: [], comm: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    package func begin(_ event: KernelEvent, number: UInt64 = 0) {
        header = event.header
        payload = event.payload
        if case let .open(_, flags, _, _, _, _) = event.payload {
            isOpen = true
            openFlags = flags
        } else {
            isOpen = false
        }
        active = true
        eventNumber = number
        processLooked = false
        ancestors.removeAll(keepingCapacity: true)
        fdNameReady = false
        commandLineReady = false
        argumentsReady = false
        parentCommandLineReady = false
        flagsReady = false
    }

    // MARK: Processes

    /// The process that made the event, as the process table knows it: looked up once.
    /// Inlined, so that a caller reading one field copies that field, not the record.
    @inline(__always)
    func currentProcess() -> ProcessRecord? {
        guard active else { return nil }
        if !processLooked { lookUpProcess() }
        return process
    }

    private func lookUpProcess() {
        if header.pid != processPID || processes.generation != processGeneration {
            process = processes.lookup(header.pid)
            processPID = header.pid
            processGeneration = processes.generation
        }
        processLooked = true
    }

    /// The `generation`-th ancestor: 1 the parent, 2 the grandparent, ...
    /// Inlined, as `currentProcess`: a caller reading one field copies that field.
    @inline(__always)
    package func ancestor(_ generation: Int) -> ProcessRecord? {
        guard active, generation >= 1 else { return nil }
        if ancestors.count < generation { lookUpAncestors(generation) }
        return generation <= ancestors.count ? ancestors[generation - 1] : nil
    }

    private func lookUpAncestors(_ generation: Int) {
        while ancestors.count < generation {
            let pid: Int32
            if let last = ancestors.last {
                guard let known = last, known.ppid > 0, known.ppid != known.pid else { return }
                pid = known.ppid
            } else {
                pid = header.ppid
            }
            ancestors.append(pid > 0 ? processes.lookup(pid) : nil)
        }
    }

    /// A value borrowing bytes this event holds until `end()` — a process record it
    /// looked up, a buffer it built — or the table it reads (user names): nothing is
    /// copied and no reference counted while rules read it. A buffer is rebuilt only
    /// for the next record, and a scratch buffer only for the next value, which each
    /// reader asks for after it is done with the last.
    @inline(__always)
    func borrow(_ bytes: ArraySlice<UInt8>) -> FieldValue {
        .bytes(bytes.withUnsafeBytes { $0 })
    }

    /// A value copied into this event's scratch buffer first: bytes of a table
    /// another thread may replace (pod metadata) or that may forget them.
    func keep(_ bytes: ArraySlice<UInt8>) -> FieldValue {
        kept.removeAll(keepingCapacity: true)
        kept.append(contentsOf: bytes)
        return borrow(kept[...])
    }

    /// The argument name or label key of `field`.
    func name(of field: FieldRef) -> String {
        let index = Int(field.nameIndex)
        guard index >= 0 else { return "" }
        if index >= names.count { names = FieldNames.all() }
        return index < names.count ? names[index] : ""
    }

    /// fd.name: the absolute path of an open, `cip:cport->sip:sport` or the socket
    /// path of a connect.
    func fileName() -> FieldValue {
        guard active else { return .none }
        // Built once per event into a kept buffer (no allocation), however many
        // conditions ask; PathResolver hands a clean name over as it is.
        if !fdNameReady {
            fdName.removeAll(keepingCapacity: true)
            switch payload {
            case let .open(_, _, _, path, directory, _):
                PathResolver.join(directory: directory, path: path) { fdName.append(contentsOf: $0) }
            case let .connect(_, remote, local, _):
                if case let .unix(path) = remote {
                    SocketAddressFormatter.unixName(path) { abstract, name in
                        if abstract { fdName.append(UInt8(ascii: "@")) }
                        fdName.append(contentsOf: name)
                    }
                } else {
                    address.reset()
                    if let local {
                        SocketAddressFormatter.append(local, to: &address)
                        address.raw("->")
                    }
                    SocketAddressFormatter.append(remote, to: &address)
                    fdName.append(contentsOf: address.bytes)
                }
            case let .syscall(record):
                guard let shape = SyscallTable.shape(of: header.syscall), let path = shape.path else { return .none }
                if path.directory == .asIs {
                    fdName.append(contentsOf: record.path)
                } else {
                    PathResolver.join(directory: record.directory, path: record.path) { fdName.append(contentsOf: $0) }
                }
            default:
                return .none
            }
            fdNameReady = true
        }
        return borrow(fdName[...])
    }

    /// The ends an address field looks at: both for fd.ip and fd.net, the server
    /// (remote) for fd.snet, the client (local) for fd.cnet; connections only.
    package func endpoints(_ id: FieldID) -> (client: SocketAddress?, server: SocketAddress?) {
        guard active, case let .connect(_, remote, local, _) = payload else { return (nil, nil) }
        switch id {
        case .fdSnet, .fdSipName, .fdRnet, .fdRipName: return (nil, remote)
        case .fdCnet, .fdCipName, .fdLnet, .fdLipName: return (local, nil)
        default: return (local, remote)
        }
    }

    /// Whether `relative` joined with `directory` (normalised) is `name`, compared
    /// piece by piece as the join hands them over: nothing is allocated.
    static func joinedEquals(
        _ directory: [UInt8], _ relative: ArraySlice<UInt8>, _ name: UnsafeRawBufferPointer
    ) -> Bool {
        guard !directory.isEmpty else { return false }
        var offset = name.startIndex
        var equal = true
        directory.withUnsafeBytes { base in
            relative.withUnsafeBytes { path in
                PathResolver.join(directory: base, path: path) { piece in
                    guard equal else { return }
                    let end = offset + piece.count
                    guard end <= name.endIndex, name[offset..<end].elementsEqual(piece) else {
                        equal = false
                        return
                    }
                    offset = end
                }
            }
        }
        return equal && offset == name.endIndex
    }

    /// A generic syscall's argument `name`: as text (paths joined, flags named) or as a number.
    func argument(_ name: String, asNumber: Bool) -> FieldValue {
        guard active else { return .none }
        // The arguments of the events that are not generic syscalls: numbers, as
        // text unless asked as numbers (evt.arg.* is text for every event).
        let number: Int64?
        switch payload {
        case .exit:
            if name == "status" {
                number = (header.result >> 8) & 0xFF
            } else {
                number = name == "signal" && header.result & 0x7F != 0 ? header.result & 0x7F : nil
            }
        case let .fork(childPID, _):
            number = name == "child_pid" ? Int64(childPID) : nil
        case let .open(dirfd, _, _, _, _, _):
            number = name == "dirfd" ? Int64(dirfd) : nil
        default:
            number = nil
        }
        if let number {
            if asNumber { return .number(number) }
            rendered.reset()
            rendered.integer(number)
            return borrow(rendered.bytes[...])
        }
        guard case let .syscall(record) = payload,
            let shape = SyscallTable.shape(of: header.syscall), let index = shape.index(of: name)
        else { return .none }
        if asNumber {
            return shape.isPath(index) ? .none : .number(record.argument(index))
        }
        rendered.reset()
        SyscallFormatter.appendArgument(header.syscall, shape, record, index, to: &rendered)
        return borrow(rendered.bytes[...])
    }

    /// fd.directory (everything before the last slash, "/" for a top-level file) or
    /// fd.filename (everything after it) of a path.
    static func pathPartRange(_ path: UnsafeRawBufferPointer, directory: Bool) -> Range<Int>? {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return directory ? nil : 0..<path.count }
        if directory { return slash == 0 ? 0..<1 : 0..<slash }
        return (slash + 1)..<path.count
    }

    static func pathPart(_ path: UnsafeRawBufferPointer, directory: Bool) -> UnsafeRawBufferPointer? {
        pathPartRange(path, directory: directory).map { UnsafeRawBufferPointer(rebasing: path[$0]) }
    }

    /// Falco's cmdline: name, then the arguments after argv[0], space-separated.
    static func buildCommandLine(name: some Collection<UInt8>, process: ProcessRecord?, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: name)
        guard let process, !process.args.isEmpty else { return }
        buffer.append(UInt8(ascii: " "))
        appendJoined(process.args, to: &buffer)
    }

    /// NUL-separated strings joined by spaces, trailing NULs dropped (not spaces: an
    /// argument's own trailing space is kept, as the event line writes it).
    static func appendJoined(_ nulSeparated: some Collection<UInt8>, to buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: nulSeparated)
        while buffer.count > start, buffer.last == 0 { buffer.removeLast() }
        for index in start..<buffer.count where buffer[index] == 0 { buffer[index] = UInt8(ascii: " ") }
    }
}

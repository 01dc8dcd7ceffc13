import WitnessCore

/// Answers Falco fields for the event being classified. Reused for every event:
/// `begin(_:)` resets it; derived strings (fd.name, proc.cmdline, ...) are built at
/// most once per event, in buffers that keep their capacity, and process lookups
/// are cached — so evaluating many rules against one event allocates nothing.
final class EventFields {
    /// The event being classified, as two stored parts so that reading a field does
    /// not copy the whole event. Its strings point into the ring buffer record:
    /// valid until `end()`, which the pipeline calls once the record is handled.
    private var header: EventHeader
    private var payload: EventPayload = .exit
    private var active = false
    private(set) var eventNumber: UInt64 = 0
    var syscall: Syscall { header.syscall }
    let processes: ProcessTable
    let users: UserNames
    let clock: WallClock
    let identities: CgroupIdentities?

    private var process: ProcessRecord?
    private var droppedFiles: DroppedFiles?
    private var processLooked = false
    private var ancestors: [ProcessRecord?] = []
    private var fdName: [UInt8] = []
    private var fdNameReady = false
    private var commandLine: [UInt8] = []
    private var commandLineReady = false
    private var arguments: [UInt8] = []
    private var argumentsReady = false
    private var parentCommandLine: [UInt8] = []
    private var parentCommandLineReady = false
    private var flags = JSONWriter(capacity: 256)
    private var flagsReady = false
    private var address = JSONWriter(capacity: 128)
    /// Buffer for values rendered on demand (cwd, capabilities, syscall arguments).
    private var rendered = JSONWriter(capacity: 8192)
    /// This thread's copy of `FieldNames`: argument names and label keys without a
    /// lock per event; refreshed when rules loaded later interned new names.
    private var names: [String] = []

    init(processes: ProcessTable, users: UserNames, clock: WallClock, identities: CgroupIdentities? = nil) {
        self.identities = identities
        header = Self.idle
        self.processes = processes
        self.users = users
        self.clock = clock
        fdName.reserveCapacity(8192)
        commandLine.reserveCapacity(8192)
        arguments.reserveCapacity(8192)
        parentCommandLine.reserveCapacity(8192)
        ancestors.reserveCapacity(16)
    }

    /// The record is gone: no pointer into it is kept (a later read answers nothing).
    func end() {
        active = false
        header = Self.idle
        payload = .exit
        process = nil
        droppedFiles = nil
        ancestors.removeAll(keepingCapacity: true)
    }

    /// Whether a record's pointers are held (between `begin` and `end`).
    var holdsRecord: Bool { active || header.comm.baseAddress != nil }

    private static var idle: EventHeader {
        EventHeader(
            kind: .exit, syscall: .none, timestamp: 0, subjects: 0, cgroupID: 0, result: 0, pid: 0, tid: 0, ppid: 0,
            uid: 0, gid: 0, flags: [], comm: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func begin(_ event: KernelEvent, number: UInt64, droppedFiles: DroppedFiles? = nil) {
        self.droppedFiles = droppedFiles
        header = event.header
        payload = event.payload
        active = true
        eventNumber = number
        processLooked = false
        process = nil
        ancestors.removeAll(keepingCapacity: true)
        fdNameReady = false
        commandLineReady = false
        argumentsReady = false
        parentCommandLineReady = false
        flagsReady = false
    }

    // MARK: Processes

    private func currentProcess() -> ProcessRecord? {
        if !processLooked, active {
            process = processes.lookup(header.pid)
            processLooked = true
        }
        return process
    }

    /// The `generation`-th ancestor: 1 the parent, 2 the grandparent, ...
    func ancestor(_ generation: Int) -> ProcessRecord? {
        guard active, generation >= 1 else { return nil }
        while ancestors.count < generation {
            let pid: Int32
            if let last = ancestors.last {
                guard let known = last, known.ppid > 0, known.ppid != known.pid else { return nil }
                pid = known.ppid
            } else {
                pid = header.ppid
            }
            ancestors.append(pid > 0 ? processes.lookup(pid) : nil)
        }
        return ancestors[generation - 1]
    }

    // MARK: Values

    func value(_ field: FieldRef) -> FieldValue {
        guard active else { return .none }
        switch field.id {
        case .evtType: return .text(header.syscall.eventType)
        case .evtDir: return .text("<")
        case .evtRes:
            guard header.kind != .exit else { return .none }
            if header.result >= 0 { return .text("SUCCESS") }
            if let name = ErrnoNames.name(-header.result) { return .text(name) }
            rendered.reset()
            ErrnoNames.appendResult(header.result, to: &rendered)
            return .array(rendered.bytes[...])
        case .evtRawres: return header.kind == .exit ? .none : .number(header.result)
        case .evtFailed: return .boolean(header.kind != .exit && header.result < 0)
        case .evtTime: return .number(clock.epochNanoseconds(boot: header.timestamp))
        case .evtNum: return .number(Int64(eventNumber))
        case .evtGate: return .text(header.flags.gate)
        case .evtArgFlags:
            if case .syscall = payload { return argument("flags", asNumber: false) }
            if case let .fork(_, cloneFlags) = payload {
                guard header.syscall == .clone || header.syscall == .clone3 else { return .none }
                rendered.reset()
                SyscallFormatter.appendCloneFlags(cloneFlags, to: &rendered)
                return .array(rendered.bytes[...])
            }
            guard case let .open(_, openFlags, _, _, _, _) = payload else { return .none }
            if !flagsReady {
                flags.reset()
                OpenFlags.append(openFlags, to: &flags)
                flagsReady = true
            }
            return .array(flags.bytes[...])
        case .evtArgMode:
            if case .syscall = payload { return argument("mode", asNumber: false) }
            guard case let .open(_, _, mode, _, _, _) = payload else { return .none }
            rendered.reset()
            SyscallFormatter.appendMode(mode, to: &rendered)
            return .array(rendered.bytes[...])
        case .evtArgFilename:
            if case .syscall = payload { return argument("filename", asNumber: false) }
            guard case let .exec(filename, _, _, _, _, _) = payload else { return .none }
            return .bytes(filename)
        case .evtArg: return argument(name(of: field), asNumber: false)
        case .evtRawarg: return argument(name(of: field), asNumber: true)
        case .evtArgs:
            guard case let .syscall(record) = payload, let shape = SyscallTable.shape(of: header.syscall) else {
                return .none
            }
            rendered.reset()
            for index in shape.arguments.indices {
                if index > 0 { rendered.byte(UInt8(ascii: " ")) }
                rendered.bytes.append(contentsOf: shape.arguments[index].utf8)
                rendered.byte(UInt8(ascii: "="))
                SyscallFormatter.appendArgument(header.syscall, shape, record, index, to: &rendered)
            }
            return .array(rendered.bytes[...])
        case .unavailable: return .none
        case .userLoginuid:
            guard let process = currentProcess() else { return .none }
            return .number(process.loginUID == .max ? -1 : Int64(process.loginUID))
        case .userLoginname:
            guard let uid = currentProcess()?.loginUID, uid != .max else { return .none }
            return users.name(uid).map { .array($0[...]) } ?? .none
        case .groupName: return users.group(header.gid).map { .array($0[...]) } ?? .none
        case .procPexe:
            guard let parent = ancestor(1), !parent.argv.isEmpty else { return .none }
            return .array(parent.exe)
        case .procSid:
            return currentProcess()?.sessionID.map { .number(Int64($0)) } ?? .none
        case .procVpgid:
            return currentProcess()?.namespaceProcessGroupID.map { .number(Int64($0)) } ?? .none
        case .procIsVpgidLeader:
            guard let process = currentProcess(), let group = process.namespaceProcessGroupID, let vpid = process.vpid else {
                return .none
            }
            return .boolean(group == vpid)
        case .procAexe:
            let generation = field.ancestor ?? 1
            let record = generation == 0 ? currentProcess() : ancestor(generation)
            guard let record, !record.argv.isEmpty else { return .none }
            return .array(record.exe)
        case .fdSockfamily:
            guard case let .connect(_, remote, _, _) = payload else { return .none }
            switch remote {
            case .ipv4, .ipv6: return .text("ip")
            case .unix: return .text("unix")
            default: return .none
            }
        case .fdPort:
            // In outputs the server's port; a condition tests either (Predicate).
            return value(FieldRef(id: .fdSport))
        case .procAexepath:
            let generation = field.ancestor ?? 1
            let record = generation == 0 ? currentProcess() : ancestor(generation)
            guard let record, !record.exePath.isEmpty else { return .none }
            return .array(record.exePath[...])
        case .procCwd:
            // As Falco prints it: with a trailing slash.
            guard let cwd = currentProcess()?.cwd, !cwd.isEmpty else { return .none }
            rendered.reset()
            rendered.bytes.append(contentsOf: cwd)
            if cwd.last != UInt8(ascii: "/") { rendered.byte(UInt8(ascii: "/")) }
            return .array(rendered.bytes[...])
        case .procDuration:
            guard let start = currentProcess()?.startTime, start > 0, start <= header.timestamp else { return .none }
            return .number(Int64(header.timestamp - start))
        case .procVpid:
            guard let vpid = currentProcess()?.vpid else { return .none }
            return .number(Int64(vpid))
        case .procIsExeFromMemfd:
            return .boolean(currentProcess()?.executableIsMemfd ?? false)
        case .procIsExeDeleted:
            return .boolean(currentProcess()?.executableIsDeleted ?? false)
        case .procExeLoaderTarget:
            guard let target = currentProcess()?.loaderTarget, !target.isEmpty else { return .none }
            return .array(target[...])
        case .procExeWriter:
            guard let writer = currentProcess()?.executableWriter else { return .none }
            return writer.isEmpty ? .text("<unknown>") : .array(writer[...])
        case .procArgsTruncated:
            return .boolean(currentProcess()?.argvTruncated ?? false)
        case .procIsExeScript:
            return .boolean(currentProcess()?.executableIsScript ?? false)
        case .fdNamedInArgs:
            guard case let .open(_, _, _, _, _, raw) = payload, !raw.isEmpty, let process = currentProcess() else {
                return .boolean(false)
            }
            // As passed, or as the file it names (an interpreter may make the path
            // absolute before opening it: python does).
            guard case let .array(name) = fileName() else { return .boolean(false) }
            // The first argument that is no option: the script an interpreter runs
            // (a data file named later is not code).
            let args = process.args
            var start = args.startIndex
            while start < args.endIndex {
                let end = args[start...].firstIndex(of: 0) ?? args.endIndex
                let argument = args[start..<end]
                start = end + 1
                guard argument.first != UInt8(ascii: "-") else { continue }
                return .boolean(
                    argument.elementsEqual(raw)
                        || (argument.first == UInt8(ascii: "/")
                            ? argument.elementsEqual(name) : Self.joinedEquals(process.cwd, argument, name)))
            }
            return .boolean(false)
        case .procStdinType, .procStdoutType, .procStderrType:
            guard let packed = currentProcess()?.stdio else { return .none }
            let fd = field.id == .procStdinType ? 0 : field.id == .procStdoutType ? 1 : 2
            return StdioType.of(packed, fd: fd).name.map { .text($0) } ?? .none
        case .fdWriter:
            guard let writer = droppedFiles?.writer(of: header.file, subjects: header.subjects) else { return .none }
            return writer.isEmpty ? .text("<unknown>") : .array(writer[...])
        case .threadCapEffective, .threadCapPermitted, .threadCapInheritable:
            let process = currentProcess()
            let set = field.id == .threadCapEffective ? process?.capabilities
                : field.id == .threadCapPermitted ? process?.permittedCapabilities : process?.inheritableCapabilities
            guard let capabilities = set else { return .none }
            rendered.reset()
            Capabilities.append(capabilities, to: &rendered)
            return .array(rendered.bytes[...])
        case .fdNameraw:
            switch payload {
            case let .open(_, _, _, _, _, raw): return .bytes(raw)
            case let .syscall(record): return record.path.isEmpty ? .none : .bytes(record.path)
            default: return fileName()
            }
        case .fdConnected:
            guard case .connect = payload else { return .none }
            return .boolean(header.result == 0)
        case .fdLport, .fdRport, .fdLip, .fdRip:
            guard case let .connect(_, remote, local, _) = payload else { return .none }
            let end = field.id == .fdLport || field.id == .fdLip ? local : remote
            guard let end, let port = end.port else { return .none }
            if field.id == .fdLport || field.id == .fdRport { return .number(Int64(port)) }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return .array(address.bytes[...])
        case .evtIsOpenRead:
            guard case let .open(_, openFlags, _, _, _, _) = payload else { return .boolean(false) }
            return .boolean(OpenFlags.isRead(openFlags))
        case .evtIsOpenWrite:
            guard case let .open(_, openFlags, _, _, _, _) = payload else { return .boolean(false) }
            return .boolean(OpenFlags.isWrite(openFlags))
        case .procPid: return .number(Int64(header.pid))
        case .procPpid: return .number(Int64(header.ppid))
        case .threadTid: return .number(Int64(header.tid))
        case .threadIsmain: return .boolean(header.tid == header.pid)
        case .procName: return .bytes(header.comm)
        case .procExe:
            guard let process = currentProcess(), !process.argv.isEmpty else { return .none }
            return .array(process.exe)
        case .procExepath:
            guard let process = currentProcess(), !process.exePath.isEmpty else { return .none }
            return .array(process.exePath[...])
        case .procCmdline:
            if !commandLineReady {
                Self.buildCommandLine(name: header.comm, process: currentProcess(), into: &commandLine)
                commandLineReady = true
            }
            return .array(commandLine[...])
        case .procArgs:
            if !argumentsReady {
                arguments.removeAll(keepingCapacity: true)
                if let process = currentProcess() { Self.appendJoined(process.args, to: &arguments) }
                argumentsReady = true
            }
            return .array(arguments[...])
        case .procPname:
            return ancestor(1).map { .array($0.name[...]) } ?? .none
        case .procPexepath:
            guard let parent = ancestor(1), !parent.exePath.isEmpty else { return .none }
            return .array(parent.exePath[...])
        case .procPcmdline:
            guard let parent = ancestor(1) else { return .none }
            if !parentCommandLineReady {
                Self.buildCommandLine(name: parent.name, process: parent, into: &parentCommandLine)
                parentCommandLineReady = true
            }
            return .array(parentCommandLine[...])
        case .procAname:
            let generation = field.ancestor ?? 1
            if generation == 0 { return .bytes(header.comm) }
            return ancestor(generation).map { .array($0.name[...]) } ?? .none
        case .procApid:
            let generation = field.ancestor ?? 1
            if generation == 0 { return .number(Int64(header.pid)) }
            return ancestor(generation).map { .number(Int64($0.pid)) } ?? .none
        case .procTty:
            return .number(Int64(currentProcess()?.tty ?? 0))
        case .procIsExeUpperLayer: return .boolean(currentProcess()?.executableInUpperLayer ?? false)
        case .userUid: return .number(Int64(header.uid))
        case .userName: return users.name(header.uid).map { .array($0[...]) } ?? .none
        case .groupGid: return .number(Int64(header.gid))
        case .fdName: return fileName()
        case .fdDirectory, .fdFilename:
            // Slices of fd.name, whichever form it has (borrowed from the record or built).
            switch fileName() {
            case .bytes(let name): return Self.pathPart(name, directory: field.id == .fdDirectory).map { .bytes($0) } ?? .none
            case .array(let name):
                guard let range = name.withUnsafeBytes({ Self.pathPartRange($0, directory: field.id == .fdDirectory) }) else {
                    return .none
                }
                return .array(name[(name.startIndex + range.lowerBound)..<(name.startIndex + range.upperBound)])
            default: return .none
            }
        case .fdTypechar:
            switch payload {
            case .open: return .text("f")
            case let .connect(_, remote, _, _): return .text(remote.typeChar)
            case let .syscall(record) where record.socketFamily != 0:
                return .text(record.socketFamily == 10 ? "6" : record.socketFamily == 2 ? "4" : "u")
            default: return .none
            }
        case .fdType:
            switch payload {
            case .open: return .text("file")
            case let .syscall(record) where record.socketFamily != 0:
                return .text(record.socketFamily == 10 ? "ipv6" : record.socketFamily == 2 ? "ipv4" : "unix")
            case let .connect(_, remote, _, _):
                switch remote {
                case .ipv4: return .text("ipv4")
                case .ipv6: return .text("ipv6")
                case .unix: return .text("unix")
                default: return .none
                }
            default: return .none
            }
        case .fdNameChanged:
            return .boolean(false)
        case .fdSipName, .fdCipName, .fdRipName, .fdLipName:
            return .none  // a condition compares names; Witness keeps no reverse map to print one
        case .fdIp, .fdNet, .fdSnet, .fdCnet, .fdRnet, .fdLnet:
            // In outputs: the server end's address (the client's for fd.cnet).
            let ends = endpoints(field.id)
            guard let end = ends.server ?? ends.client else { return .none }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return .array(address.bytes[...])
        case .fdSip, .fdSport, .fdCip, .fdCport:
            guard case let .connect(_, remote, local, _) = payload else { return .none }
            let server = field.id == .fdSip || field.id == .fdSport
            guard let end = server ? remote : local, let port = end.port else { return .none }
            if field.id == .fdSport || field.id == .fdCport { return .number(Int64(port)) }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return .array(address.bytes[...])
        case .fdL4proto:
            guard case let .connect(_, _, _, transport) = payload, let name = transport.name else { return .none }
            return .text(name)
        case .fdNum:
            switch payload {
            case .open: return .number(header.result >= 0 ? header.result : -1)
            case let .connect(fd, _, _, _): return .number(Int64(fd))
            case let .syscall(record) where header.syscall == .dup2 || header.syscall == .dup3:
                return .number(record.argument(1))  // the new descriptor
            default: return .none
            }
        case .containerId:
            guard let container = identities?.identity(of: header.cgroupID).containerID else { return .text("host") }
            return .array(container[...])
        case .k8sPodUid:
            return identities?.identity(of: header.cgroupID).podUID.map { .array($0[...]) } ?? .none
        case .k8sPodName, .k8sNsName, .k8sPodLabels, .k8sNsLabels:
            guard let pod = identities?.pod(of: header.cgroupID)?.pod else { return .none }
            switch field.id {
            case .k8sPodName: return .array(pod.name[...])
            case .k8sNsName: return .array(pod.namespace[...])
            case .k8sNsLabels: return pod.namespaceLabels.map { .array($0[...]) } ?? .none
            default: return .array(pod.labels[...])
            }
        case .containerName, .containerImageRepository, .containerImageTag:
            guard let container = identities?.pod(of: header.cgroupID)?.container else { return .none }
            switch field.id {
            case .containerName: return .array(container.name[...])
            case .containerImageRepository: return .array(container.repository[...])
            default: return .array(container.tag[...])
            }
        case .procEnv:
            // As Falco prints it: NAME=value pairs joined by spaces.
            guard let environment = currentProcess()?.environment, !environment.isEmpty else { return .none }
            rendered.reset()
            var start = environment.startIndex
            while start < environment.endIndex {
                let end = environment[start...].firstIndex(of: 0) ?? environment.endIndex
                if end > start {
                    if !rendered.bytes.isEmpty { rendered.byte(UInt8(ascii: " ")) }
                    rendered.bytes.append(contentsOf: environment[start..<end])
                }
                start = end + 1
            }
            return .array(rendered.bytes[...])
        case .procEnvVariable:
            guard let environment = currentProcess()?.environment else { return .none }
            let key = name(of: field).utf8
            var start = environment.startIndex
            while start < environment.endIndex {
                let end = environment[start...].firstIndex(of: 0) ?? environment.endIndex
                let entry = environment[start..<end]
                if entry.count > key.count, entry.starts(with: key), entry[entry.startIndex + key.count] == UInt8(ascii: "=") {
                    return .array(entry[(entry.startIndex + key.count + 1)...])
                }
                start = end + 1
            }
            return .none
        case .k8sPodLabel:
            guard let pod = identities?.pod(of: header.cgroupID)?.pod, let value = pod.labelValues[name(of: field)] else {
                return .none
            }
            return .array(value[...])
        case .containerPrivileged:
            guard let privileged = identities?.pod(of: header.cgroupID)?.container?.privileged else { return .none }
            return .boolean(privileged)
        }
    }

    /// The argument name or label key of `field`.
    private func name(of field: FieldRef) -> String {
        let index = Int(field.nameIndex)
        guard index >= 0 else { return "" }
        if index >= names.count { names = FieldNames.all() }
        return index < names.count ? names[index] : ""
    }

    /// fd.name: the absolute path of an open, `cip:cport->sip:sport` or the socket
    /// path of a connect.
    private func fileName() -> FieldValue {
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
        return .array(fdName[...])
    }

    /// The ends an address field looks at: both for fd.ip and fd.net, the server
    /// (remote) for fd.snet, the client (local) for fd.cnet; connections only.
    func endpoints(_ id: FieldID) -> (client: SocketAddress?, server: SocketAddress?) {
        guard active, case let .connect(_, remote, local, _) = payload else { return (nil, nil) }
        switch id {
        case .fdSnet, .fdSipName, .fdRnet, .fdRipName: return (nil, remote)
        case .fdCnet, .fdCipName, .fdLnet, .fdLipName: return (local, nil)
        default: return (local, remote)
        }
    }

    /// Whether `relative` joined with `directory` (normalised) is `name`, compared
    /// piece by piece as the join hands them over: nothing is allocated.
    private static func joinedEquals(_ directory: [UInt8], _ relative: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
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
    private func argument(_ name: String, asNumber: Bool) -> FieldValue {
        guard active, case let .syscall(record) = payload,
            let shape = SyscallTable.shape(of: header.syscall), let index = shape.index(of: name)
        else { return .none }
        if asNumber {
            return shape.isPath(index) ? .none : .number(record.argument(index))
        }
        rendered.reset()
        SyscallFormatter.appendArgument(header.syscall, shape, record, index, to: &rendered)
        return .array(rendered.bytes[...])
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

    static func appendJoined(_ nulSeparated: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        for byte in nulSeparated {
            buffer.append(byte == 0 ? UInt8(ascii: " ") : byte)
        }
        while buffer.last == UInt8(ascii: " ") { buffer.removeLast() }
    }
}

/// The field catalogue: every Falco field Witness answers, computed from the
/// resolved event. Rules test these values, alert outputs print them and event lines
/// list them; none of them computes a field on its own.
extension ResolvedEvent {
    /// `field`'s value for the event being handled: the one place a Falco field is
    /// computed, for conditions, alert outputs and event lines alike.
    package func value(_ field: FieldRef) -> FieldValue {
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
            return borrow(rendered.bytes[...])
        case .evtRawres: return header.kind == .exit ? .none : .number(header.result)
        case .evtFailed: return .boolean(header.kind != .exit && header.result < 0)
        case .evtTime: return .number(clock.epochNanoseconds(boot: header.timestamp))
        case .evtNum: return .number(Int64(eventNumber))
        case .evtGate: return .text(header.flags.gate)
        case .evtArgFlags:
            if !isOpen {
                if case .syscall = payload { return argument("flags", asNumber: false) }
                guard case let .fork(_, cloneFlags) = payload, header.syscall == .clone || header.syscall == .clone3 else {
                    return .none
                }
                rendered.reset()
                SyscallFormatter.appendCloneFlags(cloneFlags, to: &rendered)
                return borrow(rendered.bytes[...])
            }
            if !flagsReady {
                flags.reset()
                OpenFlags.append(openFlags, to: &flags)
                flagsReady = true
            }
            return borrow(flags.bytes[...])
        case .evtArgMode:
            if case .syscall = payload { return argument("mode", asNumber: false) }
            guard case let .open(_, _, mode, _, _, _) = payload else { return .none }
            rendered.reset()
            SyscallFormatter.appendMode(mode, to: &rendered)
            return borrow(rendered.bytes[...])
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
            return borrow(rendered.bytes[...])
        case .unavailable: return .none
        case .userLoginuid:
            // An exec says it itself (an attempt that failed changed no process).
            let uid: UInt32
            if case let .exec(_, _, _, identity, _, _) = payload {
                uid = identity.loginUID
            } else {
                guard let process = currentProcess() else { return .none }
                uid = process.loginUID
            }
            return .number(uid == .max ? -1 : Int64(uid))
        case .userLoginname:
            guard let uid = currentProcess()?.loginUID, uid != .max else { return .none }
            return users.name(uid).map { borrow($0[...]) } ?? .none
        case .groupName: return users.group(header.gid).map { borrow($0[...]) } ?? .none
        case .procPexe:
            guard let parent = ancestor(1), !parent.argv.isEmpty else { return .none }
            return borrow(parent.exe)
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
            return borrow(record.exe)
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
            return borrow(record.exePath[...])
        case .procCwd:
            // As Falco prints it: with a trailing slash.
            guard let cwd = currentProcess()?.cwd, !cwd.isEmpty else { return .none }
            rendered.reset()
            rendered.bytes.append(contentsOf: cwd)
            if cwd.last != UInt8(ascii: "/") { rendered.byte(UInt8(ascii: "/")) }
            return borrow(rendered.bytes[...])
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
            return borrow(target[...])
        case .procExeWriter:
            guard let writer = currentProcess()?.executableWriter else { return .none }
            return writer.isEmpty ? .text("<unknown>") : borrow(writer[...])
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
            guard case let .bytes(name) = fileName() else { return .boolean(false) }
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
        case .procStdinIsFifo, .procStdoutIsFifo:
            guard let packed = currentProcess()?.stdio, packed != 0 else { return .none }
            return .boolean(StdioType.isNamedFIFO(packed, fd: field.id == .procStdinIsFifo ? 0 : 1))
        case .fdWriter:
            guard let writer = droppedFiles?.writer(of: header.file, subjects: header.subjects) else { return .none }
            return writer.isEmpty ? .text("<unknown>") : keep(writer[...])
        case .threadCapEffective, .threadCapPermitted, .threadCapInheritable:
            let process = currentProcess()
            let set = field.id == .threadCapEffective ? process?.capabilities
                : field.id == .threadCapPermitted ? process?.permittedCapabilities : process?.inheritableCapabilities
            guard let capabilities = set else { return .none }
            rendered.reset()
            Capabilities.append(capabilities, to: &rendered)
            return borrow(rendered.bytes[...])
        case .fdNameraw:
            switch payload {
            case let .open(_, _, _, _, _, raw): return .bytes(raw)
            case let .syscall(record): return record.path.isEmpty ? .none : .bytes(record.path)
            default: return fileName()
            }
        case .fdProcfsTarget:
            guard case .bytes(let name) = fileName() else { return .none }
            return ProcfsTarget.of(name, pid: header.pid, tid: header.tid, vpid: currentProcess()?.vpid)
                .map { .text($0) } ?? .none
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
            return borrow(address.bytes[...])
        case .evtIsOpenRead: return .boolean(isOpen && OpenFlags.isRead(openFlags))
        case .evtIsOpenWrite: return .boolean(isOpen && OpenFlags.isWrite(openFlags))
        case .evtIsOpenCreate: return .boolean(isOpen && header.flags.contains(.created))
        case .procPid: return .number(Int64(header.pid))
        case .procPpid: return .number(Int64(header.ppid))
        case .threadTid: return .number(Int64(header.tid))
        case .threadIsmain: return .boolean(header.tid == header.pid)
        case .procName: return .bytes(header.comm)
        case .procExe:
            guard let process = currentProcess(), !process.argv.isEmpty else { return .none }
            return borrow(process.exe)
        case .procExepath:
            guard let process = currentProcess(), !process.exePath.isEmpty else { return .none }
            return borrow(process.exePath[...])
        case .procCmdline:
            // The name, then proc.args (an exec's own arguments, as for proc.args).
            if !commandLineReady {
                commandLine.removeAll(keepingCapacity: true)
                commandLine.append(contentsOf: header.comm)
                if case .bytes(let arguments) = value(FieldRef(id: .procArgs)), !arguments.isEmpty {
                    commandLine.append(UInt8(ascii: " "))
                    commandLine.append(contentsOf: arguments)
                }
                commandLineReady = true
            }
            return borrow(commandLine[...])
        case .procArgs:
            if !argumentsReady {
                arguments.removeAll(keepingCapacity: true)
                if case let .exec(_, argv, _, _, _, _) = payload {
                    // The arguments the exec was asked to run with, whether or not it ran.
                    if let end = argv.firstIndex(of: 0) {
                        Self.appendJoined(UnsafeRawBufferPointer(rebasing: argv[(end + 1)...]), to: &arguments)
                    }
                } else if let process = currentProcess() {
                    Self.appendJoined(process.args, to: &arguments)
                }
                argumentsReady = true
            }
            return borrow(arguments[...])
        case .procPname:
            return ancestor(1).map { borrow($0.name[...]) } ?? .none
        case .procPexepath:
            guard let parent = ancestor(1), !parent.exePath.isEmpty else { return .none }
            return borrow(parent.exePath[...])
        case .procPcmdline:
            guard let parent = ancestor(1) else { return .none }
            if !parentCommandLineReady {
                Self.buildCommandLine(name: parent.name, process: parent, into: &parentCommandLine)
                parentCommandLineReady = true
            }
            return borrow(parentCommandLine[...])
        case .procAname:
            let generation = field.ancestor ?? 1
            if generation == 0 { return .bytes(header.comm) }
            return ancestor(generation).map { borrow($0.name[...]) } ?? .none
        case .procApid:
            let generation = field.ancestor ?? 1
            if generation == 0 { return .number(Int64(header.pid)) }
            return ancestor(generation).map { .number(Int64($0.pid)) } ?? .none
        case .procTty:
            return .number(Int64(currentProcess()?.tty ?? 0))
        case .procIsExeUpperLayer: return .boolean(currentProcess()?.executableInUpperLayer ?? false)
        case .userUid: return .number(Int64(header.uid))
        case .userName: return users.name(header.uid).map { borrow($0[...]) } ?? .none
        case .groupGid: return .number(Int64(header.gid))
        case .fdName: return fileName()
        case .fdDirectory, .fdFilename:
            // Slices of fd.name.
            guard case .bytes(let name) = fileName() else { return .none }
            return Self.pathPart(name, directory: field.id == .fdDirectory).map { .bytes($0) } ?? .none
        case .fdTypechar:
            if isOpen { return .text("f") }
            switch payload {
            case let .connect(_, remote, _, _): return .text(remote.typeChar)
            case let .syscall(record) where record.socketFamily != 0:
                return .text(record.socketFamily == 10 ? "6" : record.socketFamily == 2 ? "4" : "u")
            default: return .none
            }
        case .fdType:
            if isOpen { return .text("file") }
            switch payload {
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
            return borrow(address.bytes[...])
        case .fdSip, .fdSport, .fdCip, .fdCport:
            guard case let .connect(_, remote, local, _) = payload else { return .none }
            let server = field.id == .fdSip || field.id == .fdSport
            guard let end = server ? remote : local, let port = end.port else { return .none }
            if field.id == .fdSport || field.id == .fdCport { return .number(Int64(port)) }
            address.reset()
            SocketAddressFormatter.appendHost(end, to: &address)
            return borrow(address.bytes[...])
        case .fdL4proto:
            guard case let .connect(_, _, _, transport) = payload, let name = transport.name else { return .none }
            return .text(name)
        case .fdNum:
            if isOpen { return .number(header.result >= 0 ? header.result : -1) }
            switch payload {
            case let .connect(fd, _, _, _): return .number(Int64(fd))
            case let .syscall(record) where header.syscall == .dup2 || header.syscall == .dup3:
                return .number(record.argument(1))  // the new descriptor
            default: return .none
            }
        case .containerId:
            guard let container = identities?.identity(of: header.cgroupID).containerID else { return .text("host") }
            return keep(container[...])
        case .k8sPodUid:
            return identities?.identity(of: header.cgroupID).podUID.map { keep($0[...]) } ?? .none
        case .k8sPodName, .k8sNsName, .k8sPodLabels, .k8sNsLabels:
            guard let pod = identities?.pod(of: header.cgroupID)?.pod else { return .none }
            switch field.id {
            case .k8sPodName: return keep(pod.name[...])
            case .k8sNsName: return keep(pod.namespace[...])
            case .k8sNsLabels: return pod.namespaceLabels.map { keep($0[...]) } ?? .none
            default: return keep(pod.labels[...])
            }
        case .containerName, .containerImageRepository, .containerImageTag:
            guard let container = identities?.pod(of: header.cgroupID)?.container else { return .none }
            switch field.id {
            case .containerName: return keep(container.name[...])
            case .containerImageRepository: return keep(container.repository[...])
            default: return keep(container.tag[...])
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
            return borrow(rendered.bytes[...])
        case .procEnvVariable:
            guard let environment = currentProcess()?.environment else { return .none }
            let key = name(of: field).utf8
            var start = environment.startIndex
            while start < environment.endIndex {
                let end = environment[start...].firstIndex(of: 0) ?? environment.endIndex
                let entry = environment[start..<end]
                if entry.count > key.count, entry.starts(with: key), entry[entry.startIndex + key.count] == UInt8(ascii: "=") {
                    return borrow(entry[(entry.startIndex + key.count + 1)...])
                }
                start = end + 1
            }
            return .none
        case .k8sPodLabel:
            guard let pod = identities?.pod(of: header.cgroupID)?.pod, let value = pod.labelValues[name(of: field)] else {
                return .none
            }
            return keep(value[...])
        case .containerPrivileged:
            guard let privileged = identities?.pod(of: header.cgroupID)?.container?.privileged else { return .none }
            return .boolean(privileged)
        }
    }
}

/// proc.* and thread.*: the process, its arguments, terminal, standard streams and environment.
extension ResolvedEvent {
    func processValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
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
        case .procArgsTruncated:
            return .boolean(currentProcess()?.argvTruncated ?? false)
        case .procStdinType, .procStdoutType, .procStderrType:
            guard let packed = currentProcess()?.stdio else { return .none }
            let fd = field.id == .procStdinType ? 0 : field.id == .procStdoutType ? 1 : 2
            return StdioType.of(packed, fd: fd).name.map { .text($0) } ?? .none
        case .procStdinIsFifo, .procStdoutIsFifo:
            guard let packed = currentProcess()?.stdio, packed != 0 else { return .none }
            return .boolean(StdioType.isNamedFIFO(packed, fd: field.id == .procStdinIsFifo ? 0 : 1))
        case .procPid: return .number(Int64(header.pid))
        case .procPpid: return .number(Int64(header.ppid))
        case .threadTid: return .number(Int64(header.tid))
        case .threadIsmain: return .boolean(header.tid == header.pid)
        case .procName: return .bytes(header.comm)
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
        case .procTty:
            return .number(Int64(currentProcess()?.tty ?? 0))
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
                if entry.count > key.count, entry.starts(with: key),
                    entry[entry.startIndex + key.count] == UInt8(ascii: "=")
                {
                    return borrow(entry[(entry.startIndex + key.count + 1)...])
                }
                start = end + 1
            }
            return .none
        default: return .none
        }
    }
}

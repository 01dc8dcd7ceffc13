/// fd.*: the file or socket the event is about.
extension ResolvedEvent {
    func fdValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
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
                            ? argument.elementsEqual(name) : Self.joinedEquals(process.cwd, argument, name))
                )
            }
            return .boolean(false)
        case .fdWriter:
            guard let writer = writtenFiles?.writer(of: header.file, subjects: header.subjects) else { return .none }
            return writer.isEmpty ? .text("<unknown>") : keep(writer[...])
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
        case .fdName: return fileName()
        case .fdDirectory, .fdFilename:
            // Slices of fd.name.
            guard case .bytes(let name) = fileName() else { return .none }
            return Self.pathPart(name, directory: field.id == .fdDirectory).map { .bytes($0) } ?? .none
        case .fdTypechar:
            if isOpen { return .text("f") }
            switch payload {
            case let .connect(_, remote, local, _):
                // A listener has no peer: its own end says what it is.
                if header.syscall == .listen, let local, case .unspecified = remote { return .text(local.typeChar) }
                return .text(remote.typeChar)
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
        case .fdNum:
            if isOpen { return .number(header.result >= 0 ? header.result : -1) }
            switch payload {
            case let .connect(fd, _, _, _): return .number(Int64(fd))
            case let .syscall(record) where header.syscall == .dup2 || header.syscall == .dup3:
                return .number(record.argument(1))  // the new descriptor
            default: return .none
            }
        default: return .none
        }
    }
}

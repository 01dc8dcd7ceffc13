/// evt.*: the syscall, its result, gate and arguments.
extension ResolvedEvent {
    func eventValue(_ field: FieldRef) -> FieldValue {
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
                guard case let .fork(_, cloneFlags) = payload, header.syscall == .clone || header.syscall == .clone3
                else {
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
        case .evtIsOpenRead: return .boolean(isOpen && OpenFlags.isRead(openFlags))
        case .evtIsOpenWrite: return .boolean(isOpen && OpenFlags.isWrite(openFlags))
        case .evtIsOpenCreate: return .boolean(isOpen && header.flags.contains(.created))
        default: return .none
        }
    }
}

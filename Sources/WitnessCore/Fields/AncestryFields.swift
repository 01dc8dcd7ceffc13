/// proc.p*, proc.a*, session and process group: the process's parent, ancestors and job.
extension ResolvedEvent {
    func ancestryValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
        case .procPexe:
            guard let parent = ancestor(1), !parent.argv.isEmpty else { return .none }
            return borrow(parent.exe)
        case .procSid:
            return currentProcess()?.sessionID.map { .number(Int64($0)) } ?? .none
        case .procVpgid:
            return currentProcess()?.namespaceProcessGroupID.map { .number(Int64($0)) } ?? .none
        case .procIsVpgidLeader:
            guard let process = currentProcess(), let group = process.namespaceProcessGroupID, let vpid = process.vpid
            else {
                return .none
            }
            return .boolean(group == vpid)
        case .procAexe:
            let generation = field.ancestor ?? 1
            let record = generation == 0 ? currentProcess() : ancestor(generation)
            guard let record, !record.argv.isEmpty else { return .none }
            return borrow(record.exe)
        case .procAexepath:
            let generation = field.ancestor ?? 1
            let record = generation == 0 ? currentProcess() : ancestor(generation)
            guard let record, !record.exePath.isEmpty else { return .none }
            return borrow(record.exePath[...])
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
        default: return .none
        }
    }
}

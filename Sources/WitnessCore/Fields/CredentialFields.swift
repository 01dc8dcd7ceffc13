/// user.*, group.* and thread.cap_*: the credentials, and the names they map to.
extension ResolvedEvent {
    func credentialsValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
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
        case .userUid: return .number(Int64(header.uid))
        case .userName: return users.name(header.uid).map { borrow($0[...]) } ?? .none
        case .groupGid: return .number(Int64(header.gid))
        case .threadCapEffective, .threadCapPermitted, .threadCapInheritable:
            let process = currentProcess()
            let set =
                field.id == .threadCapEffective
                ? process?.capabilities
                : field.id == .threadCapPermitted ? process?.permittedCapabilities : process?.inheritableCapabilities
            guard let capabilities = set else { return .none }
            rendered.reset()
            Capabilities.append(capabilities, to: &rendered)
            return borrow(rendered.bytes[...])
        default: return .none
        }
    }
}

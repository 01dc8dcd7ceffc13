/// container.* and k8s.*: the subject's container and pod.
extension ResolvedEvent {
    func containerValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
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
        case .k8sPodLabel:
            guard let pod = identities?.pod(of: header.cgroupID)?.pod, let value = pod.labelValues[name(of: field)]
            else {
                return .none
            }
            return keep(value[...])
        case .containerPrivileged:
            guard let privileged = identities?.pod(of: header.cgroupID)?.container?.privileged else { return .none }
            return .boolean(privileged)
        default: return .none
        }
    }
}

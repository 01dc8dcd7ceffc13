/// Every Falco field Witness answers, computed from the resolved event: dispatched
/// here by family to EventFields, ProcessFields, ExecutableFields, AncestryFields, CredentialFields, DescriptorFields, NetworkFields and
/// ContainerFields. Rules test these values, alert outputs print them and event
/// lines list them; none of them computes a field on its own.
extension ResolvedEvent {
    /// `field`'s value for the event being handled: the one place a Falco field is
    /// computed, for conditions, alert outputs and event lines alike.
    package func value(_ field: FieldRef) -> FieldValue {
        guard active else { return .none }
        switch field.id.family {
        case .event: return eventValue(field)
        case .process: return processValue(field)
        case .executable: return executableValue(field)
        case .ancestry: return ancestryValue(field)
        case .credentials: return credentialsValue(field)
        case .fd: return fdValue(field)
        case .network: return networkValue(field)
        case .container: return containerValue(field)
        }
    }
}

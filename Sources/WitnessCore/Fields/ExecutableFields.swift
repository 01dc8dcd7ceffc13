/// proc.exe*: the program the process runs — its path as the kernel names it, how it
/// came to be there (memfd, deleted, upper layer, a script, who wrote it).
extension ResolvedEvent {
    func executableValue(_ field: FieldRef) -> FieldValue {
        switch field.id {
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
        case .procIsExeScript:
            return .boolean(currentProcess()?.executableIsScript ?? false)
        case .procExe:
            guard let process = currentProcess(), !process.argv.isEmpty else { return .none }
            return borrow(process.exe)
        case .procExepath:
            guard let process = currentProcess(), !process.exePath.isEmpty else { return .none }
            return borrow(process.exePath[...])
        case .procIsExeUpperLayer: return .boolean(currentProcess()?.executableInUpperLayer ?? false)
        default: return .none
        }
    }
}

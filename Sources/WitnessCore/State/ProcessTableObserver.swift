/// What a recording needs to hear of the process table: each record handed out (the
/// first time, it is written as the table had it), each /proc read and its result,
/// and records the events themselves made or ended (replay makes them again).
package protocol ProcessTableObserver: AnyObject {
    func handedOut(_ record: ProcessRecord)
    func readFromProc(_ pid: Int32, _ record: ProcessRecord?)
    func inserted(_ pid: Int32)
    func removed(_ pid: Int32)
    /// Forgotten for room: no event says so, so every recording is told.
    func evicted(_ pid: Int32)
}

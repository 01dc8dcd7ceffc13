/// Where alert lines go besides the pipeline's own sink (node mode: the file and
/// HTTP outputs and each window's live stream). Called on the consumer thread.
package protocol AlertTap: AnyObject {
    /// The alert lines (JSON, newline-terminated) one event fired, and the subjects
    /// that witnessed it; returns how many lines could not be kept (a full spool).
    func alerts(_ lines: UnsafeRawBufferPointer, subjects: UInt64) -> Int

    /// The end of a drained batch: write what was buffered; returns how many lines
    /// could not be written (they count as lost by the agent).
    func flush() -> Int
}

import Synchronization
import WitnessCore

/// Node mode's alert outputs besides stdout, fed on the consumer thread: the file
/// output (buffered, written once per drained batch, synced when a window closes),
/// the HTTP output's spool, and each window's live stream. Nothing here waits on a
/// receiver: the spool takes lines in memory and writes them to local disk.
/// Only `sync` and `fileErrors` are used from other threads.
package final class AlertRouter: AlertTap, @unchecked Sendable {
    private let file: OutputSink?
    private var fileBuffer: [UInt8] = []
    package let spool: AlertSpool?
    let streams: AlertStreams
    private let fileErrorCount = Atomic<UInt64>(0)
    /// Batches the file output could not take.
    var fileErrors: UInt64 { fileErrorCount.load(ordering: .relaxed) }

    package init(file: OutputSink?, spool: AlertSpool?, streams: AlertStreams) {
        self.file = file
        self.spool = spool
        self.streams = streams
        fileBuffer.reserveCapacity(64 * 1024)
    }

    package func alerts(_ lines: UnsafeRawBufferPointer, subjects: UInt64) -> Int {
        if file != nil { fileBuffer.append(contentsOf: lines) }
        streams.publish(lines, subjects: subjects)
        if let spool, !spool.append(lines) { return lines.lineCount }
        return 0
    }

    package func flush() -> Int {
        var lost = 0
        if let file, !fileBuffer.isEmpty {
            if !fileBuffer.withUnsafeBytes({ file.write($0) }) {
                fileErrorCount.add(1, ordering: .relaxed)
                lost += fileBuffer.lineCount
            }
            fileBuffer.removeAll(keepingCapacity: true)
        }
        return lost + (spool?.commit() ?? 0)
    }

    /// Makes the file output and the spool durable (fsync).
    package func sync() {
        file?.sync()
        spool?.sync()
    }
}

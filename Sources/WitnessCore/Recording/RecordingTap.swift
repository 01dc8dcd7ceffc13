import CBPF

/// The recordings being written, fed on the consumer thread: each record of their
/// subjects, and — written before the record whose handling needed it — what the
/// pipeline took from the machine: a process record the first time the table hands
/// it out, each /proc read, each cgroup identity, the files open for writing at a
/// window's start. Replay then needs nothing but the file.
package final class RecordingTap: ProcessTableObserver {
    private struct Entry {
        var writer: RecordingWriter
        /// Pids whose current record the recording already has (written, or made by its events).
        var processes = Set<Int32>()
        var cgroups = Set<UInt64>()
    }

    private var entries: [Entry] = []
    private static let subjectsOffset = MemoryLayout<witness_event_header>.offset(of: \.subjects)!
    /// Whose recordings the side frames written now belong to: the subjects of the
    /// record being handled, or the window being opened or closed. A process or an
    /// identity one window's record needed is not written into another's recording.
    package var context: UInt64 = 0

    /// The subjects of ring buffer record `bytes` (0 when it is too short to say).
    @inline(__always)
    package static func subjects(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count >= subjectsOffset + 8 else { return 0 }
        return bytes.loadUnaligned(fromByteOffset: subjectsOffset, as: UInt64.self)
    }

    package init() {}

    package var isEmpty: Bool { entries.isEmpty }

    package func add(_ writer: RecordingWriter) {
        entries.append(Entry(writer: writer))
    }

    /// Stops feeding `writer` (the caller finishes it).
    package func remove(_ writer: RecordingWriter) {
        entries.removeAll { $0.writer === writer }
    }

    /// One ring buffer record, after the pipeline handled it.
    @inline(__always)
    package func record(_ bytes: UnsafeRawBufferPointer) {
        let subjects = Self.subjects(of: bytes)
        for entry in entries { entry.writer.record(bytes, subjects: subjects) }
    }

    /// Whether `entry` takes the side frames of the current context.
    @inline(__always)
    private func inContext(_ entry: Entry) -> Bool {
        entry.writer.subjects & context != 0
    }

    /// A file a window's process held open for writing at its start.
    package func written(file: FileID, path: [UInt8], writer program: [UInt8], slot: Int) {
        guard slot >= 0, slot < 64 else { return }
        var frame = ByteWriter()
        frame.u64(1 << UInt64(slot))
        frame.u32(file.device)
        frame.u64(file.inode)
        frame.data(path)
        frame.data(program)
        for entry in entries where entry.writer.subjects & (1 << UInt64(slot)) != 0 {
            entry.writer.frame(.written, frame.bytes)
        }
    }

    /// An executable's hash, as it arrived (replay does not read the file again).
    package func hash(file: FileID, path: [UInt8], outcome: ExecutableHasher.Outcome, slot: Int, at time: UInt64) {
        var frame = ByteWriter()
        frame.u64(time)
        frame.u32(file.device)
        frame.u64(file.inode)
        frame.data(path)
        switch outcome {
        case let .digest(hex):
            frame.u8(0)
            frame.string(hex)
        case let .failed(reason):
            frame.u8(1)
            frame.string(reason)
        }
        for entry in entries where entry.writer.subjects & (1 << UInt64(slot)) != 0 {
            entry.writer.frame(.hash, frame.bytes)
        }
    }

    package func identity(_ cgroupID: UInt64, _ identity: CgroupIdentity) {
        for index in entries.indices where inContext(entries[index]) && entries[index].cgroups.insert(cgroupID).inserted
        {
            var frame = ByteWriter()
            frame.u64(cgroupID)
            frame.optional(identity.containerID.map { _ in 1 })
            frame.data(identity.containerID ?? [])
            frame.optional(identity.podUID.map { _ in 1 })
            frame.data(identity.podUID ?? [])
            entries[index].writer.frame(.identity, frame.bytes)
        }
    }

    // MARK: ProcessTableObserver

    package func handedOut(_ record: ProcessRecord) {
        for index in entries.indices
        where inContext(entries[index]) && entries[index].processes.insert(record.pid).inserted {
            var frame = ByteWriter()
            record.encode(into: &frame)
            entries[index].writer.frame(.snapshot, frame.bytes)
        }
    }

    package func readFromProc(_ pid: Int32, _ record: ProcessRecord?) {
        var frame = ByteWriter()
        if let record {
            record.encode(into: &frame)
        } else {
            frame.u32(UInt32(bitPattern: pid))
        }
        for index in entries.indices where inContext(entries[index]) {
            entries[index].writer.frame(record == nil ? .procMissing : .procRead, frame.bytes)
            entries[index].processes.insert(pid)
        }
    }

    /// A record the current context's events made: theirs to replay; another
    /// recording's copy of that pid is stale and is written afresh when next needed.
    package func inserted(_ pid: Int32) {
        for index in entries.indices {
            if inContext(entries[index]) {
                entries[index].processes.insert(pid)
            } else {
                entries[index].processes.remove(pid)
            }
        }
    }

    /// A record gone from the table: a recording that holds it and will not replay
    /// its exit is told to forget it.
    package func removed(_ pid: Int32) {
        for index in entries.indices where entries[index].processes.remove(pid) != nil && !inContext(entries[index]) {
            forget(pid, in: index)
        }
    }

    package func evicted(_ pid: Int32) {
        for index in entries.indices where entries[index].processes.remove(pid) != nil { forget(pid, in: index) }
    }

    private func forget(_ pid: Int32, in index: Int) {
        var frame = ByteWriter()
        frame.u32(UInt32(bitPattern: pid))
        entries[index].writer.frame(.forget, frame.bytes)
    }
}

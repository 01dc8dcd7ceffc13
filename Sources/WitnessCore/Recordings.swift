import CBPF

/// The recordings being written, fed on the consumer thread: each record of their
/// subjects, and — written before the record whose handling needed it — what the
/// pipeline took from the machine: a process record the first time the table hands
/// it out, each /proc read, each cgroup identity, the files open for writing at a
/// window's start. Replay then needs nothing but the file.
public final class Recordings: ProcessTableObserver {
    private struct Entry {
        var writer: RecordingWriter
        /// Pids whose current record the recording already has (written, or made by its events).
        var processes = Set<Int32>()
        var cgroups = Set<UInt64>()
    }

    private var entries: [Entry] = []
    private static let subjectsOffset = MemoryLayout<witness_event_header>.offset(of: \.subjects)!

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public func add(_ writer: RecordingWriter) {
        entries.append(Entry(writer: writer))
    }

    /// Stops feeding `writer` (the caller finishes it).
    public func remove(_ writer: RecordingWriter) {
        entries.removeAll { $0.writer === writer }
    }

    /// One ring buffer record, after the pipeline handled it.
    @inline(__always)
    public func record(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.subjectsOffset + 8 else { return }
        let subjects = bytes.loadUnaligned(fromByteOffset: Self.subjectsOffset, as: UInt64.self)
        for entry in entries { entry.writer.record(bytes, subjects: subjects) }
    }

    /// A file a window's process held open for writing at its start.
    public func written(file: FileID, path: [UInt8], writer program: [UInt8], slot: Int) {
        var frame = ByteWriter()
        frame.u64(1 << UInt64(slot))
        frame.u32(file.device)
        frame.u64(file.inode)
        frame.data(path)
        frame.data(program)
        for entry in entries { entry.writer.frame(.written, frame.bytes) }
    }

    /// An executable's hash, as it arrived (replay does not read the file again).
    public func hash(file: FileID, path: [UInt8], outcome: ExecutableHasher.Outcome) {
        var frame = ByteWriter()
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
        for entry in entries { entry.writer.frame(.hash, frame.bytes) }
    }

    public func identity(_ cgroupID: UInt64, _ identity: CgroupIdentity) {
        for index in entries.indices where entries[index].cgroups.insert(cgroupID).inserted {
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

    public func handedOut(_ record: ProcessRecord) {
        for index in entries.indices where entries[index].processes.insert(record.pid).inserted {
            var frame = ByteWriter()
            record.encode(into: &frame)
            entries[index].writer.frame(.snapshot, frame.bytes)
        }
    }

    public func readFromProc(_ pid: Int32, _ record: ProcessRecord?) {
        var frame = ByteWriter()
        if let record {
            record.encode(into: &frame)
        } else {
            frame.u32(UInt32(bitPattern: pid))
        }
        for index in entries.indices {
            entries[index].writer.frame(record == nil ? .procMissing : .procRead, frame.bytes)
            entries[index].processes.insert(pid)
        }
    }

    public func inserted(_ pid: Int32) {
        for index in entries.indices { entries[index].processes.insert(pid) }
    }

    public func removed(_ pid: Int32) {
        for index in entries.indices { entries[index].processes.remove(pid) }
    }
}

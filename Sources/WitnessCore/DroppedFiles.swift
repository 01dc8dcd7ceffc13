/// Files the subject wrote, created, renamed or linked into place during its window,
/// with the program that did it: running one of them is "drop and execute" wherever
/// it was written, under whatever name (a copy of nc called `x` is still a file the
/// subject just wrote). It exists because rules see one event at a time and this is
/// a fact about two.
///
/// Bounded: names are kept as hashes (seeded per run, so a subject cannot aim
/// collisions), at most `capacity` of them; one pushed out to make room is a loss for
/// the windows that wrote it, counted like any other.
public struct DroppedFiles {
    private struct Entry {
        var subjects: UInt64
        var writer: Int32
    }

    private var entries: [Int: Entry] = [:]
    /// The writers' executable paths, interned; index -1 is an unknown writer.
    private var writers: [[UInt8]] = []
    private var writerIndex: [[UInt8]: Int32] = [:]
    public let capacity: Int
    private let writerCapacity = 1024

    public init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// Records that `subjects` wrote `path` with the program at `writer`. Returns the
    /// subjects of an entry forgotten to make room (0 when none was).
    public mutating func record(_ path: UnsafeBufferPointer<UInt8>, writer: [UInt8], subjects: UInt64) -> UInt64 {
        guard subjects != 0, !path.isEmpty else { return 0 }
        let key = Self.key(path)
        let index = intern(writer)
        if entries[key] != nil {
            entries[key] = Entry(subjects: entries[key]!.subjects | subjects, writer: index)
            return 0
        }
        var lost: UInt64 = 0
        if entries.count >= capacity, let victim = entries.first {
            lost = victim.value.subjects
            entries.removeValue(forKey: victim.key)
        }
        entries[key] = Entry(subjects: subjects, writer: index)
        return lost
    }

    /// The program that wrote `path` for one of `subjects` during their windows, or
    /// nil; an empty path for a writer Witness could not name.
    public func writer(of path: UnsafeBufferPointer<UInt8>, subjects: UInt64) -> [UInt8]? {
        guard !entries.isEmpty, !path.isEmpty, let entry = entries[Self.key(path)], entry.subjects & subjects != 0 else {
            return nil
        }
        return entry.writer >= 0 ? writers[Int(entry.writer)] : []
    }

    /// Forgets what `slot` wrote: its window ended, and a later window in the same
    /// slot starts with nothing dropped.
    public mutating func forget(slot: Int) {
        let bit: UInt64 = 1 << UInt64(slot)
        for (key, entry) in entries where entry.subjects & bit != 0 {
            if entry.subjects == bit { entries.removeValue(forKey: key) } else { entries[key]!.subjects &= ~bit }
        }
    }

    private mutating func intern(_ writer: [UInt8]) -> Int32 {
        if let index = writerIndex[writer] { return index }
        guard !writer.isEmpty, writers.count < writerCapacity else { return -1 }
        writers.append(writer)
        writerIndex[writer] = Int32(writers.count - 1)
        return Int32(writers.count - 1)
    }

    private static func key(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(path))
        return hasher.finalize()
    }
}

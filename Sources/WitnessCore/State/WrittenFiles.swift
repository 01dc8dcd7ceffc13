/// Files the subject wrote or created during its window, with the program that did
/// it: running one of them — or mapping it as code — is "drop and execute" wherever
/// it was written and whatever it is called now (a copy of nc renamed `x`, moved
/// through a symlinked directory, hard-linked elsewhere, its directory renamed, is
/// still the file the subject just wrote). It exists because rules see one event at
/// a time and this is a fact about two.
///
/// Files are known by identity (device and inode, from the kernel), so no later name
/// matters; names are kept too, for what the kernel cannot name by identity at exec:
/// a script (its interpreter is what runs) and the dynamic loader's target.
///
/// The writer kept is the first: a later write by another program (strip, or a
/// rewrite meant to launder the writer) does not change who dropped the file.
///
/// Used on the consumer thread only. Bounded: entries are hashes (seeded per run, so a subject cannot aim collisions),
/// at most `capacity` of them; one pushed out to make room is a loss for the windows
/// that wrote it, counted like any other.
package final class WrittenFiles {
    private struct Entry {
        var subjects: UInt64
        var writer: Int32
    }

    private var entries: [Int: Entry] = [:]
    /// The writers' executable paths, interned; index -1 is an unknown writer.
    private var writers: [[UInt8]] = []
    private var writerIndex: [[UInt8]: Int32] = [:]
    package let capacity: Int
    private let writerCapacity = 1024
    /// A relative name joined with its directory, reused (no allocation per event).
    var joinScratch: [UInt8] = []

    package init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    package var count: Int { entries.count }

    /// Records that `subjects` wrote the file `file` (when known) named `path`, with
    /// the program at `writer`. Returns the subjects of entries forgotten to make room.
    package func record(
        file: FileID, path: UnsafeBufferPointer<UInt8>, writer: [UInt8], subjects: UInt64
    ) -> UInt64 {
        guard subjects != 0 else { return 0 }
        var lost: UInt64 = 0
        if !file.isNone { lost |= record(key: Self.key(file), writer: writer, subjects: subjects) }
        if !path.isEmpty { lost |= record(key: Self.key(path), writer: writer, subjects: subjects) }
        return lost
    }

    /// The program that wrote `file` for one of `subjects` during their windows, or
    /// nil; an empty path for a writer Witness could not name.
    package func writer(of file: FileID, subjects: UInt64) -> [UInt8]? {
        file.isNone ? nil : writer(key: Self.key(file), subjects: subjects)
    }

    /// The same, by name.
    package func writer(of path: UnsafeBufferPointer<UInt8>, subjects: UInt64) -> [UInt8]? {
        path.isEmpty ? nil : writer(key: Self.key(path), subjects: subjects)
    }

    /// Forgets what `slot` wrote: its window ended, and a later window in the same
    /// slot starts with nothing dropped.
    package func forget(slot: Int) {
        let bit: UInt64 = 1 << UInt64(slot)
        for (key, entry) in entries where entry.subjects & bit != 0 {
            if entry.subjects == bit { entries.removeValue(forKey: key) } else { entries[key]!.subjects &= ~bit }
        }
    }

    private func record(key: Int, writer: [UInt8], subjects: UInt64) -> UInt64 {
        if let entry = entries[key] {
            entries[key]!.subjects = entry.subjects | subjects  // the first writer stays
            return 0
        }
        var lost: UInt64 = 0
        if entries.count >= capacity, let victim = entries.first {
            lost = victim.value.subjects
            entries.removeValue(forKey: victim.key)
        }
        entries[key] = Entry(subjects: subjects, writer: intern(writer))
        return lost
    }

    private func writer(key: Int, subjects: UInt64) -> [UInt8]? {
        guard !entries.isEmpty, let entry = entries[key], entry.subjects & subjects != 0 else { return nil }
        return entry.writer >= 0 ? writers[Int(entry.writer)] : []
    }

    private func intern(_ writer: [UInt8]) -> Int32 {
        if let index = writerIndex[writer] { return index }
        guard !writer.isEmpty, writers.count < writerCapacity else { return -1 }
        writers.append(writer)
        writerIndex[writer] = Int32(writers.count - 1)
        return Int32(writers.count - 1)
    }

    private static func key(_ file: FileID) -> Int {
        var hasher = Hasher()
        hasher.combine(UInt8(0))
        hasher.combine(file)
        return hasher.finalize()
    }

    private static func key(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(UInt8(1))
        hasher.combine(bytes: UnsafeRawBufferPointer(path))
        return hasher.finalize()
    }
}

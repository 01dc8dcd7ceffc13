/// A set of byte strings asked about borrowed bytes (a record's path, a field's
/// value) without copying them: the common case, a name already in the set,
/// allocates nothing and retains nothing. Indices are stable, in insertion order.
/// An open-addressed table kept at most half full, so a lookup hashes once and
/// compares about one stored string. The hash is the standard library's seeded one:
/// a subject that names files cannot pick names that collide. A window's
/// profile keeps its names in these.
package struct ByteStringSet {
    /// Element index + 1 per slot; 0: empty. A power of two long.
    private var slots: [Int32] = Array(repeating: 0, count: 8)
    package private(set) var elements: [[UInt8]] = []

    package init() {}

    package var count: Int { elements.count }

    /// The index of `bytes`, inserting a copy unless the set already holds `limit`
    /// strings (then nil, and nothing is inserted).
    package mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> (index: Int, inserted: Bool)? {
        switch find(UnsafeRawBufferPointer(bytes)) {
        case .found(let index): return (index, false)
        case .empty(let slot):
            guard elements.count < limit else { return nil }
            elements.append(Array(bytes))
            slots[slot] = Int32(elements.count)
            if elements.count * 2 > slots.count { grow() }
            return (elements.count - 1, true)
        }
    }

    package mutating func insert(_ bytes: [UInt8], limit: Int) -> (index: Int, inserted: Bool)? {
        bytes.withUnsafeBufferPointer { insert($0, limit: limit) }
    }

    /// The index of `bytes`, if the set holds it.
    package func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if case .found(let index) = find(UnsafeRawBufferPointer(bytes)) { return index }
        return nil
    }

    package func contains(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { if case .found = find($0) { return true } else { return false } }
    }

    private enum Place { case found(Int), empty(Int) }

    private func find(_ bytes: UnsafeRawBufferPointer) -> Place {
        let mask = slots.count - 1
        var slot = Self.hash(bytes) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return .empty(slot) }
            let matches = elements[entry - 1].withUnsafeBytes { stored in
                stored.count == bytes.count && (bytes.isEmpty || stored.elementsEqual(bytes))
            }
            if matches { return .found(entry - 1) }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, element) in elements.enumerated() {
            var slot = element.withUnsafeBytes { Self.hash($0) } & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return hasher.finalize()
    }
}

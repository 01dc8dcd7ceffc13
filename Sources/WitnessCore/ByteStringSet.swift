/// A set of byte strings asked about borrowed bytes (a record's path) without
/// copying them: the common case, a name already in the set, allocates nothing.
/// Indices are stable, in insertion order.
package struct ByteStringSet {
    private var indexByHash: [Int: Int32] = [:]
    package private(set) var elements: [[UInt8]] = []

    package init() {}

    package var count: Int { elements.count }

    /// The index of `bytes`, inserting a copy unless the set already holds `limit`
    /// strings (then nil, and nothing is inserted).
    package mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> (index: Int, inserted: Bool)? {
        var key = Self.key(bytes)
        // Open addressing over the hash values: a collision moves to the next key.
        while let index = indexByHash[key] {
            if elements[Int(index)].elementsEqual(bytes) { return (Int(index), false) }
            key &+= 1
        }
        guard elements.count < limit else { return nil }
        indexByHash[key] = Int32(elements.count)
        elements.append(Array(bytes))
        return (elements.count - 1, true)
    }

    package mutating func insert(_ bytes: [UInt8], limit: Int) -> (index: Int, inserted: Bool)? {
        bytes.withUnsafeBufferPointer { insert($0, limit: limit) }
    }

    /// The index of `bytes`, if the set holds it.
    package func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var key = Self.key(bytes)
        while let index = indexByHash[key] {
            if elements[Int(index)].elementsEqual(bytes) { return Int(index) }
            key &+= 1
        }
        return nil
    }

    package func contains(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { index(of: $0) != nil }
    }

    private static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }
}

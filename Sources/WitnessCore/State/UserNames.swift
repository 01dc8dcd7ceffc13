/// user.name and group.name from the host's /etc/passwd and /etc/group, read once
/// and cached: the hot path never reads a file.
package final class UserNames {
    private let users: [UInt32: [UInt8]]
    private let groups: [UInt32: [UInt8]]

    init(passwd: String = "/etc/passwd", group: String = "/etc/group") {
        users = Self.read(passwd)
        groups = Self.read(group)
    }

    /// name:x:id:... lines, first name of each id.
    private static func read(_ path: String) -> [UInt32: [UInt8]] {
        var names: [UInt32: [UInt8]] = [:]
        guard let text = BoundedFile.read(path, limit: 4 << 20) else { return names }
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count > 2, let id = UInt32(String(decoding: fields[2], as: UTF8.self)) else { continue }
            if names[id] == nil { names[id] = Array(fields[0]) }
        }
        return names
    }

    func name(_ uid: UInt32) -> [UInt8]? { users[uid] }

    func group(_ gid: UInt32) -> [UInt8]? { groups[gid] }
}

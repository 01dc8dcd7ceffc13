import Glibc

/// What /proc says of a process: its parent, tty and start, its namespace pid, the
/// files it holds open for writing, and the process tree.
package enum ProcFS {
    /// The last pid of the `NSpid:` line of /proc/PID/status: the process's pid in
    /// its own PID namespace.
    static func namespacePID(_ path: String) -> Int32? {
        guard let status = BoundedFile.read(path, limit: 4096, regularOnly: true),
            let line = status.split(separator: 0x0A).first(where: { $0.starts(with: "NSpid:".utf8) })
        else { return nil }
        return line.dropFirst(6).split(whereSeparator: { $0 == 0x09 || $0 == 0x20 }).last
            .flatMap { Int32(String(decoding: $0, as: UTF8.self)) }
    }

    /// Fields 4 (ppid), 7 (tty_nr) and 22 (start time) of /proc/PID/stat, read after
    /// the last ')' since the comm before it may hold anything.
    static func statFields(_ path: String) -> (ppid: Int32, tty: Int32, startTime: UInt64)? {
        guard let stat = BoundedFile.read(path, limit: 1024, regularOnly: true),
            let close = stat.lastIndex(of: UInt8(ascii: ")"))
        else {
            return nil
        }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let ppid = Int32(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) ?? 0
        let perSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return (ppid, Int32(String(decoding: fields[4], as: UTF8.self)) ?? 0, ticks * (1_000_000_000 / perSecond))
    }

    static func parentPID(statusPath: String) -> Int32? {
        statFields(statusPath)?.ppid
    }
    /// The regular files `pid` holds open for writing, by identity as the kernel
    /// numbers it, with their paths: fdinfo gives the access mode, the inode and the
    /// mount, mountinfo the mount's device (the superblock's, as the BPF side reads
    /// it, which stat's st_dev is not on btrfs subvolumes). Nothing here follows a
    /// descriptor to its file, so a file on a stuck FUSE or NFS mount cannot hang it.
    /// Needs CAP_SYS_PTRACE for other users' processes.
    static func filesOpenForWriting(
        pid: Int32, procRoot: String = "/proc", mounts: MountDevices = MountDevices()
    ) -> [(FileID, [UInt8])] {
        let base = "\(procRoot)/\(pid)"
        var devices: [Int: UInt32]?
        var files: [(FileID, [UInt8])] = []
        for name in BoundedFile.entries(of: base + "/fdinfo") {
            guard let info = BoundedFile.read(base + "/fdinfo/" + name, limit: 4096, regularOnly: true) else {
                continue
            }
            var flags: UInt32?
            var mount: Int?
            var inode: UInt64?
            for line in info.split(separator: 0x0A) {
                let parts = line.split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
                guard parts.count >= 2 else { continue }
                let value = String(decoding: parts[1], as: UTF8.self)
                switch String(decoding: parts[0], as: UTF8.self) {
                case "flags:": flags = UInt32(value, radix: 8)
                case "mnt_id:": mount = Int(value)
                case "ino:": inode = UInt64(value)
                default: break
                }
            }
            guard let flags, flags & OpenFlags.accessMask != 0, let mount, let inode, inode != 0 else { continue }
            if devices == nil { devices = mounts.devices(of: base) }
            guard let device = devices?[mount], let path = BoundedFile.readLink(base + "/fd/" + name),
                path.first == UInt8(ascii: "/")
            else { continue }
            files.append((FileID(device: device, inode: inode), path))
        }
        return files
    }

    /// Mount id → the kernel's device number (major << 20 | minor), from mountinfo.
    static func mountDevices(_ path: String) -> [Int: UInt32] {
        var devices: [Int: UInt32] = [:]
        for line in (BoundedFile.read(path, limit: 4 << 20, regularOnly: true) ?? []).split(separator: 0x0A) {
            let fields = line.split(separator: 0x20, maxSplits: 3)
            guard fields.count >= 3, let id = Int(String(decoding: fields[0], as: UTF8.self)) else { continue }
            let numbers = fields[2].split(separator: UInt8(ascii: ":")).compactMap {
                UInt32(String(decoding: $0, as: UTF8.self))
            }
            guard numbers.count == 2 else { continue }
            devices[id] = numbers[0] << 20 | numbers[1]
        }
        return devices
    }

    /// Every pid in /proc.
    static func allPIDs(procRoot: String = "/proc") -> [Int32] {
        BoundedFile.entries(of: procRoot).compactMap { Int32($0) }
    }

    /// `root` and every live descendant of it, found by walking the ppid of every process.
    package static func descendants(of root: Int32, procRoot: String = "/proc") -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for pid in allPIDs(procRoot: procRoot) {
            if let ppid = parentPID(statusPath: "\(procRoot)/\(pid)/stat") {
                children[ppid, default: []].append(pid)
            }
        }
        var result: [Int32] = [root]
        var index = 0
        while index < result.count {
            result.append(contentsOf: children[result[index]] ?? [])
            index += 1
        }
        return result
    }
}

/// Mount id → device maps, read once per mount namespace: a subject of a thousand
/// processes in one namespace reads its mountinfo once, not a thousand times.
final class MountDevices {
    private var byNamespace: [String: [Int: UInt32]] = [:]

    /// The map of the process or thread at `base` (a /proc directory).
    func devices(of base: String) -> [Int: UInt32] {
        let namespace = BoundedFile.readLink(base + "/ns/mnt").map { String(decoding: $0, as: UTF8.self) } ?? base
        if let known = byNamespace[namespace] { return known }
        let devices = ProcFS.mountDevices(base + "/mountinfo")
        byNamespace[namespace] = devices
        return devices
    }
}

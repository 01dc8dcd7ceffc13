import Glibc

extension ProcessRecord {
    /// The record as a recording's `snapshot` or `procRead` frame holds it.
    package func encode(into writer: inout ByteWriter) {
        writer.u32(UInt32(bitPattern: pid))
        writer.u32(UInt32(bitPattern: ppid))
        writer.data(name)
        writer.data(exePath)
        writer.data(argv)
        writer.data(cwd)
        writer.data(environment)
        writer.data(loaderTarget)
        writer.optional(executableWriter.map { _ in 1 })
        writer.data(executableWriter ?? [])
        writer.u32(UInt32(bitPattern: tty))
        writer.u32(loginUID)
        writer.optional(capabilities)
        writer.optional(permittedCapabilities)
        writer.optional(inheritableCapabilities)
        writer.optional(sessionID.map { UInt64(UInt32(bitPattern: $0)) })
        writer.optional(namespaceProcessGroupID.map { UInt64(UInt32(bitPattern: $0)) })
        writer.optional(vpid.map { UInt64(UInt32(bitPattern: $0)) })
        writer.u32(stdio)
        writer.u64(startTime)
        writer.u64(subjects)
        let flags: [Bool] = [
            argvTruncated, executableIsMemfd, executableIsDeleted, executableInUpperLayer, environmentTruncated,
            executableIsScript,
        ]
        writer.u8(flags.enumerated().reduce(0) { $0 | ($1.element ? 1 << UInt8($1.offset) : 0) })
    }

    package init(decoding reader: inout ByteReader) throws(ByteReader.Malformed) {
        let pid = Int32(bitPattern: try reader.u32("pid"))
        let ppid = Int32(bitPattern: try reader.u32("ppid"))
        self.init(
            pid: pid, ppid: ppid, name: try reader.data("name"), exePath: try reader.data("exe"),
            argv: try reader.data("argv"))
        cwd = try reader.data("cwd")
        environment = try reader.data("environment")
        loaderTarget = try reader.data("loader target")
        let hasWriter = try reader.optional("writer") != nil
        let writer = try reader.data("writer")
        executableWriter = hasWriter ? writer : nil
        tty = Int32(bitPattern: try reader.u32("tty"))
        loginUID = try reader.u32("loginuid")
        capabilities = try reader.optional("capabilities")
        permittedCapabilities = try reader.optional("permitted")
        inheritableCapabilities = try reader.optional("inheritable")
        sessionID = try reader.optional("sid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        namespaceProcessGroupID = try reader.optional("vpgid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        vpid = try reader.optional("vpid").map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        stdio = try reader.u32("stdio")
        startTime = try reader.u64("start time")
        subjects = try reader.u64("subjects")
        let flags = try reader.u8("flags")
        argvTruncated = flags & 1 != 0
        executableIsMemfd = flags & 2 != 0
        executableIsDeleted = flags & 4 != 0
        executableInUpperLayer = flags & 8 != 0
        environmentTruncated = flags & 16 != 0
        executableIsScript = flags & 32 != 0
    }
}

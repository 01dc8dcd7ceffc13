import Glibc

/// Per-process state built from exec/fork/exit events and, for processes that were
/// already running, from /proc. Entries go at exit; the table is bounded in entries
/// and in bytes (a subject with thousands of processes of long argv cannot push the
/// agent past its memory limit), and a record forgotten to make room is reported to
/// `onForget`: the windows that saw it lost evidence.
package final class ProcessTable {
    private var records: [Int32: ProcessRecord] = [:] {
        didSet { generation &+= 1 }
    }
    /// Changes whenever a record does (or who watches the table): a reader that keeps
    /// the record it looked up may keep using it while this stays the same.
    package private(set) var generation: UInt64 = 0
    /// Approximate bytes the records hold.
    package private(set) var bytes = 0
    package let byteBudget: Int
    /// Records forgotten to stay within the bounds, since start.
    package private(set) var forgotten: UInt64 = 0
    /// Told of each record forgotten to make room.
    package var onForget: ((ProcessRecord) -> Void)?
    /// Pids /proc had nothing for: not read again on every event that asks.
    private var gone: Set<Int32> = []
    /// Where /proc is read from (/host/proc inside a container).
    package let procRoot: String
    package let capacity: Int
    /// Lookups that had to read /proc because no event had described the process.
    package private(set) var procReads = 0
    /// Told of what the table hands out and reads (a recording keeps what replay needs);
    /// set only while a recording is written, so every other lookup pays one nil check
    /// (a strong reference: a weak one would cost an atomic load on every lookup).
    var observer: (any ProcessTableObserver)? {
        didSet { generation &+= 1 }  // a new recording must hear of every record handed out
    }
    /// Answers instead of /proc (replay: the reads a recording holds).
    var procSource: ((Int32) -> ProcessRecord?)? {
        didSet { generation &+= 1 }
    }

    package init(procRoot: String = "/proc", capacity: Int = 65_536, byteBudget: Int = 64 << 20) {
        self.procRoot = procRoot
        self.capacity = capacity
        self.byteBudget = byteBudget
        records.reserveCapacity(min(capacity, 4096))
    }

    package var count: Int { records.count }

    /// The record of `pid`, reading /proc the first time an unknown process is asked for.
    package func lookup(_ pid: Int32) -> ProcessRecord? {
        if let record = records[pid] {
            observer?.handedOut(record)
            return record
        }
        guard pid > 0, !gone.contains(pid) else { return nil }
        procReads += 1
        let read = procSource.map { $0(pid) } ?? readProc(pid)
        observer?.readFromProc(pid, read)
        guard let record = read else {
            if gone.count >= capacity { gone.removeAll(keepingCapacity: true) }
            gone.insert(pid)
            return nil
        }
        insert(record)
        return record
    }

    /// The record of `pid` if the table has it, without reading /proc.
    package func cached(_ pid: Int32) -> ProcessRecord? {
        let record = records[pid]
        if let record, let observer { observer.handedOut(record) }
        return record
    }

    package func insert(_ record: ProcessRecord) {
        gone.remove(record.pid)  // a pid comes back when it is reused
        let replacing = records[record.pid]
        if let replacing { bytes -= Self.cost(replacing) }
        let cost = Self.cost(record)
        while records.count - (replacing == nil ? 0 : 1) >= capacity || bytes + cost > byteBudget,
            let victim = records.first(where: { $0.key != record.pid })?.value
        {
            records.removeValue(forKey: victim.pid)
            bytes -= Self.cost(victim)
            forgotten &+= 1
            onForget?(victim)
            observer?.evicted(victim.pid)
        }
        records[record.pid] = record
        bytes += cost
        observer?.inserted(record.pid)
    }

    /// What a record holds, roughly: its arrays and the fixed part.
    static func cost(_ record: ProcessRecord) -> Int {
        160 + record.name.count + record.exePath.count + record.argv.count + record.cwd.count + record.environment.count
            + record.loaderTarget.count + (record.executableWriter?.count ?? 0)
    }

    /// A new process starts as a copy of its parent (same image until it execs).
    package func fork(parent: Int32, child: Int32, at time: UInt64 = 0, subjects: UInt64 = 0) {
        guard var record = lookup(parent) else { return }
        record.pid = child
        record.ppid = parent
        record.startTime = time
        record.subjects |= subjects
        record.vpid = nil  // its own, unknown until it execs
        insert(record)
    }

    package func exit(_ pid: Int32) {
        if let record = records.removeValue(forKey: pid) { bytes -= Self.cost(record) }
        observer?.removed(pid)
    }

    /// Reads what /proc says of `pid`: comm, exe link, cmdline and parent.
    func readProc(_ pid: Int32) -> ProcessRecord? {
        let base = "\(procRoot)/\(pid)"
        guard var name = BoundedFile.read(base + "/comm", limit: 64, regularOnly: true) else { return nil }
        while name.last == 0x0A { name.removeLast() }
        let argv = BoundedFile.read(base + "/cmdline", limit: Int(4096), regularOnly: true) ?? []
        var exePath = BoundedFile.readLink(base + "/exe") ?? []
        // The kernel's mark on an executable whose last name was removed.
        let deletedMark = Array(" (deleted)".utf8)
        let deleted = exePath.count > deletedMark.count && exePath.suffix(deletedMark.count).elementsEqual(deletedMark)
        if deleted { exePath.removeLast(deletedMark.count) }
        let stat = ProcFS.statFields(base + "/stat")
        let loginUID = BoundedFile.read(base + "/loginuid", limit: 16, regularOnly: true).flatMap {
            UInt32(String(decoding: $0, as: UTF8.self))
        }
        return ProcessRecord(
            pid: pid, ppid: stat?.ppid ?? 0, name: name, exePath: exePath, argv: argv, tty: stat?.tty ?? 0,
            loginUID: loginUID ?? .max, cwd: BoundedFile.readLink(base + "/cwd") ?? [],
            executableIsMemfd: exePath.starts(with: Array("/memfd:".utf8)), executableIsDeleted: deleted,
            startTime: stat?.startTime ?? 0,
            vpid: ProcFS.namespacePID(base + "/status"))
    }

    /// Marks the records of `pids` as seen by the window in `slot` (its processes at
    /// the start), so that forgetting one counts against that window.
    package func mark(_ pids: [Int32], slot: Int) {
        for pid in pids { records[pid]?.subjects |= 1 << UInt64(slot) }
    }

    /// A window ends in `slot`, or another begins there: no record is its any more.
    func unmark(slot: Int) {
        let bit: UInt64 = 1 << UInt64(slot)
        for (pid, record) in records where record.subjects & bit != 0 { records[pid]?.subjects &= ~bit }
    }

    /// Records every process in `pids` (a subject's existing processes at start).
    package func scan(_ pids: [Int32]) {
        for pid in pids where records[pid] == nil {
            if let record = readProc(pid) { insert(record) }
        }
    }
}

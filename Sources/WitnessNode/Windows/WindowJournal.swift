import Foundation
import WitnessCore

/// The open windows on disk, so that killing the agent (an OOM kill, `kill -9`, a node
/// under pressure) loses none: each open window has a file in the spool directory,
/// written when it opens and rewritten with its counts at every checkpoint, removed
/// once its testimony is spooled. An agent that starts and finds files testifies for
/// those windows: ended `agentRestarted`, never passing, with the counts last saved.
package struct WindowJournal: Sendable {
    /// One open window as saved: what the controller asked, and what was counted.
    package struct Entry: Codable, Sendable, Equatable {
        package var id: String
        package var trialID: String?
        package var subjectKind: String
        package var subjectValue: String
        var openedEpochNanoseconds: Int64
        package var requestedMilliseconds: Int
        package var sostle: String?
        /// When the counts below were taken.
        var checkpointEpochNanoseconds: Int64
        /// Events by evt.type, alerts by rule name, losses.
        package var events: [String: UInt64] = [:]
        package var rules: [String: Int] = [:]
        package var kernelDrops: UInt64 = 0
        package var agentDrops: UInt64 = 0
        /// The priority of the window's drift alerts (counted in `rules` by their rule name).
        package var driftPriority: String?
    }

    let directory: String
    /// Told, in one line, what could not be saved: that window is not crash-safe.
    let onError: @Sendable (String) -> Void

    /// Journals under `spoolDirectory`/windows (created when missing).
    package init(spoolDirectory: String, onError: @escaping @Sendable (String) -> Void = { _ in }) throws(AgentError) {
        directory = spoolDirectory + "/windows"
        self.onError = onError
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentError.usage("window journal \(directory): \(error.localizedDescription)")
        }
    }

    /// Saves `entry`, replacing what was saved (`AtomicFile`): a crash leaves the old
    /// entry or the new one, never half of one.
    package func save(_ entry: Entry) {
        guard let data = try? JSONEncoder().encode(entry) else { return }
        let path = file(entry.id)
        if data.withUnsafeBytes({ AtomicFile.replace(path, with: $0) }) { return }
        onError(
            "\(path): could not be written (\(String(cString: strerror(errno)))); window \(entry.id) keeps its last checkpoint"
        )
    }

    /// Forgets window `id`: its testimony is safe elsewhere.
    package func remove(_ id: String) {
        unlink(file(id))
    }

    /// Windows that were open when an earlier agent stopped without closing them.
    /// Unreadable files are skipped (and left for a person to look at).
    func leftovers() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                let entry = try? JSONDecoder().decode(Entry.self, from: data)
            else {
                onError("\(directory)/\(name): unreadable; that window cannot testify (the file is left for a person)")
                return nil
            }
            return entry
        }
    }

    private func file(_ id: String) -> String {
        // Window ids are ours ("w-" and hex digits), never a path.
        directory + "/" + id.filter { $0.isLetter || $0.isNumber || $0 == "-" } + ".json"
    }
}

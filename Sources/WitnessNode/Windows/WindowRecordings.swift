import Foundation
import WitnessCore

/// Where node windows asked to record (`"record": true`) write: one file per window
/// under the spool directory's `recordings/`, each at most `maxBytes`, the newest
/// `kept` of them kept (older ones are removed as new ones start).
package struct WindowRecordings: Sendable {
    package let directory: String
    package let maxBytes: UInt64
    package let kept: Int
    /// Describes the node's rules in each recording.
    package let rules: [String]

    /// Creates the directory when missing (mode 0700: records name what subjects did).
    package init(spoolDirectory: String, maxBytes: UInt64, kept: Int, rules: [String]) throws(AgentError) {
        directory = spoolDirectory + "/recordings"
        self.maxBytes = maxBytes
        self.kept = kept
        self.rules = rules
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError.usage("recordings \(directory): \(error.localizedDescription)")
        }
    }

    /// The recording of `window`, created (older ones beyond `kept` removed first,
    /// never one of `open`: recordings still being written).
    func start(window: WitnessWindow, clock: WallClock, open: Set<String>) throws(AgentError) -> RecordingWriter {
        prune(leaving: max(kept - 1, 0), sparing: open)
        var metadata = RecordingMetadata.live(
            clock: clock, subjectKind: window.subject.kind, subjectValue: window.subject.value,
            label: "window:\(window.id)", trialID: window.request.trialID, sostle: window.request.sostle,
            requestedMilliseconds: window.request.milliseconds,
            rules: rules)
        metadata.append(("slot", String(window.slot)))
        metadata.append(("windowId", window.id))
        let writer = try RecordingWriter(
            path: "\(directory)/\(window.id).wrec", subjects: 1 << UInt64(window.slot), maxBytes: maxBytes,
            metadata: metadata)
        if let baseline = window.request.baseline { writer.baseline(baseline, priority: window.request.driftPriority) }
        return writer
    }

    /// Removes the oldest recordings until at most `count` are left.
    private func prune(leaving count: Int, sparing open: Set<String>) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".wrec") && !open.contains("\(directory)/\($0)")
        }
        guard names.count > count else { return }
        let dated = names.map { name -> (String, Date) in
            let path = "\(directory)/\(name)"
            let date =
                (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            return (path, date ?? .distantPast)
        }
        for (path, _) in dated.sorted(by: { $0.1 < $1.1 }).prefix(names.count - count) { unlink(path) }
    }
}

import Foundation
import WitnessCore

/// Reads a `POST /v1/windows` body — untrusted input — into a `WindowRequest`, or
/// says in one line what is wrong with it:
///
///     {"trialId": "TRB-1", "subject": {"kind": "cgroup", "value": "/trial"},
///      "window": "60s", "sostle": "L2"}
///
/// `subject` is `{"kind": cgroup|pod|container|pid, "value": ...}` (the testimony's
/// own shape) or the shorthand `{"cgroup": ...}`, `{"podUid": ...}`,
/// `{"containerId": ...}`, `{"pid": N}`. `window` is a duration ("90s", "5m") or a
/// number of seconds; when absent the configured default applies.
package enum WindowRequestParser {
    package static func parse(_ body: [UInt8], defaultMilliseconds: Int) throws(WindowError) -> WindowRequest {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw WindowError(.badRequest, "the body must be a JSON object")
            }
            object = parsed
        } catch let error as WindowError {
            throw error
        } catch {
            throw WindowError(.badRequest, "the body is not valid JSON")
        }
        let known = ["trialId", "subject", "window", "sostle", "baseline", "driftPriority", "record", "armDeadline"]
        for key in object.keys where !known.contains(key) {
            throw WindowError(
                .badRequest, "unknown field '\(Self.printable(key))': expected \(known.joined(separator: ", "))")
        }
        var trialID: String?
        if let value = object["trialId"], !(value is NSNull) {
            guard let text = value as? String, !text.isEmpty, text.utf8.count <= 256 else {
                throw WindowError(.badRequest, "trialId must be a non-empty string of at most 256 bytes")
            }
            trialID = text
        }
        guard let subjectValue = object["subject"] else { throw WindowError(.badRequest, "subject is required") }
        let subject = try parseSubject(subjectValue)
        let milliseconds = try duration(object["window"], "window") ?? defaultMilliseconds
        let armMilliseconds = try duration(object["armDeadline"], "armDeadline")
        var sostle: SostleLevel?
        if let value = object["sostle"], !(value is NSNull) {
            guard let text = value as? String else {
                throw WindowError(.badRequest, "sostle must be a string, L0 to L7")
            }
            do { sostle = try SostleLevel(text) } catch { throw WindowError(.badRequest, error.message) }
        }
        var baseline: RuntimeProfile?
        var baselineWindow: String?
        if let value = object["baseline"], !(value is NSNull) {
            if let reference = value as? String {
                // A closed window of this node, by id: its testimony's profile.
                guard !reference.isEmpty, reference.utf8.count <= 64 else {
                    throw WindowError(.badRequest, "baseline must be a profile, a testimony, or a window id")
                }
                baselineWindow = reference
            } else {
                do { baseline = try ProfileReader.parse(object: value) } catch {
                    throw WindowError(.badRequest, "baseline: \(error.message)")
                }
            }
        }
        var driftPriority = Priority.warning
        if let value = object["driftPriority"], !(value is NSNull) {
            guard let text = value as? String, let priority = Priority(falcoName: text) else {
                throw WindowError(
                    .badRequest, "driftPriority must be a Falco priority such as \"Warning\" or \"Error\"")
            }
            driftPriority = priority
        }
        var record = false
        if let value = object["record"], !(value is NSNull) {
            guard let number = value as? NSNumber, isBoolean(number) else {
                throw WindowError(.badRequest, "record must be true or false")
            }
            record = number.boolValue
        }
        var request = WindowRequest(
            trialID: trialID, subject: subject, milliseconds: milliseconds, sostle: sostle, baseline: baseline,
            driftPriority: driftPriority, record: record)
        request.baselineWindow = baselineWindow
        request.armMilliseconds = armMilliseconds
        return request
    }

    /// A duration field: "90s", "5m", or a number of seconds; nil when absent.
    private static func duration(_ value: Any?, _ name: String) throws(WindowError) -> Int? {
        guard let value, !(value is NSNull) else { return nil }
        if let text = value as? String {
            do { return try DurationParser.milliseconds(text) } catch {
                throw WindowError(.badRequest, "\(name): \(error.message)")
            }
        }
        if let number = value as? NSNumber, !isBoolean(number), number.doubleValue > 0, number.doubleValue < 1e9 {
            return Int((number.doubleValue * 1000).rounded())
        }
        throw WindowError(.badRequest, "\(name) must be a duration like \"60s\" or a number of seconds")
    }

    private static func parseSubject(_ value: Any) throws(WindowError) -> SubjectSpec {
        guard let object = value as? [String: Any], !object.isEmpty else {
            throw WindowError(
                .badRequest, "subject must be an object such as {\"kind\":\"cgroup\",\"value\":\"/trial\"}")
        }
        let kind: String
        let raw: Any
        if let named = object["kind"] {
            guard let text = named as? String, let value = object["value"], object.count == 2 else {
                throw WindowError(.badRequest, "subject needs exactly a kind and a value")
            }
            kind = text
            raw = value
        } else {
            guard object.count == 1, let entry = object.first else {
                throw WindowError(.badRequest, "subject must name exactly one of cgroup, podUid, containerId, pid")
            }
            kind = ["podUid": "pod", "containerId": "container"][entry.key] ?? entry.key
            raw = entry.value
        }
        switch kind {
        case "pid":
            guard let number = raw as? NSNumber, !isBoolean(number), let pid = Int32(exactly: number.doubleValue),
                pid > 0
            else {
                throw WindowError(.badRequest, "subject pid must be a positive whole number")
            }
            return .pid(pid)
        case "cgroup", "pod", "container":
            guard let text = raw as? String, !text.isEmpty, text.utf8.count <= 4096, !text.utf8.contains(0) else {
                throw WindowError(.badRequest, "subject \(kind) must be a non-empty string")
            }
            if kind == "cgroup" {
                guard !text.split(separator: "/").contains("..") else {
                    throw WindowError(.badRequest, "subject cgroup must not contain '..'")
                }
                return .cgroup(text)
            }
            do {
                if kind == "pod" { return .podUID(try SubjectResolver.normalizedPodUID(text)) }
                return .containerID(try SubjectResolver.normalizedContainerID(text))
            } catch {
                throw WindowError(.badRequest, error.message)
            }
        default:
            throw WindowError(
                .badRequest, "unknown subject kind '\(printable(kind))': use cgroup, pod, container or pid")
        }
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// An untrusted string for an error message: short and without control characters.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}

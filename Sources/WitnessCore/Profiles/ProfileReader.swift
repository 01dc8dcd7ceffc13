import Foundation

/// Reads a runtime profile back from JSON — a testimony (its `profile`) or a profile
/// alone, as `RuntimeProfile.json()` writes it — for drift baselines, `profile diff`
/// and seccomp export. The input is untrusted: anything not shaped as written is one
/// line naming what is wrong.
package enum ProfileReader {
    package static func read(file path: String) throws(AgentError) -> RuntimeProfile {
        let limit = 64 << 20
        guard let bytes = BoundedFile.read(path, limit: limit + 1) else {
            throw AgentError.usage("cannot read profile '\(path)': \(String(cString: strerror(errno)))")
        }
        // Cut short, a file of testimonies would silently yield an older one's profile.
        guard bytes.count <= limit else { throw AgentError.usage("profile '\(path)' is larger than 64 MiB") }
        do {
            return try parse(bytes)
        } catch {
            throw AgentError.usage("\(path): \(error.message)")
        }
    }

    /// A testimony line or a profile object; for a file of JSON lines (a witness
    /// run's output), the last line that carries a profile.
    package static func parse(_ bytes: [UInt8]) throws(AgentError) -> RuntimeProfile {
        // One document (pretty-printed or not), else JSON lines.
        if let whole = try? object(bytes) { return try profile(from: whole) }
        let lines = bytes.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D } }
        if lines.count > 1 {
            for line in lines.reversed() {
                if let object = try? object(Array(line)), object["profile"] != nil || object["syscalls"] != nil {
                    return try profile(from: object)
                }
            }
            throw AgentError.usage("no line holds a profile")
        }
        return try profile(from: try object(bytes))
    }

    package static func parse(object: Any) throws(AgentError) -> RuntimeProfile {
        guard let dictionary = object as? [String: Any] else {
            throw AgentError.usage("a profile must be a JSON object")
        }
        return try profile(from: dictionary)
    }

    private static func object(_ bytes: [UInt8]) throws(AgentError) -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw AgentError.usage("not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw AgentError.usage("a profile must be a JSON object") }
        return object
    }

    private static func profile(from object: [String: Any]) throws(AgentError) -> RuntimeProfile {
        var source = object
        if let nested = object["profile"] {
            guard let inner = nested as? [String: Any] else {
                throw AgentError.usage("the testimony has no profile (was it written with profiles on?)")
            }
            source = inner
        }
        guard source["syscalls"] != nil || source["executables"] != nil else {
            throw AgentError.usage("no profile here: expected a testimony or an object with syscalls and executables")
        }
        var profile = RuntimeProfile()
        profile.syscalls = try counts(source["syscalls"], "syscalls")
        profile.compatSyscalls = try counts(source["compatSyscalls"], "compatSyscalls")
        profile.executables = try executables(source["executables"], "executables")
        profile.libraries = try executables(source["libraries"], "libraries")
        if let files = source["files"] {
            let item = try dictionary(files, "files")
            profile.filesRead = try array(item["read"], "files.read").map { (value) throws(AgentError) in
                try string(value, "files.read[]")
            }
            profile.filesWritten = try array(item["written"], "files.written").map { (value) throws(AgentError) in
                try string(value, "files.written[]")
            }
        }
        if let network = source["network"] {
            let item = try dictionary(network, "network")
            for entry in try array(item["connections"], "network.connections") {
                let connection = try dictionary(entry, "network.connections[]")
                profile.connections.append(
                    RuntimeProfile.Connection(
                        family: try string(connection["family"], "connections[].family"),
                        address: try string(connection["address"], "connections[].address"),
                        port: UInt16(try number(connection["port"] ?? 0, "connections[].port", max: 65535)),
                        transport: try string(connection["protocol"] ?? "", "connections[].protocol"),
                        result: try string(connection["result"] ?? "ok", "connections[].result"),
                        count: try number(connection["count"] ?? 1, "connections[].count")))
            }
            for entry in try array(item["listening"], "network.listening") {
                let listener = try dictionary(entry, "network.listening[]")
                profile.listening.append(
                    RuntimeProfile.Listener(
                        family: try string(listener["family"], "listening[].family"),
                        address: try string(listener["address"], "listening[].address"),
                        port: UInt16(try number(listener["port"] ?? 0, "listening[].port", max: 65535)),
                        transport: try string(listener["protocol"] ?? "", "listening[].protocol")))
            }
        }
        if let identities = source["identities"] {
            let item = try dictionary(identities, "identities")
            profile.users = try array(item["users"], "identities.users").map { (value) throws(AgentError) in
                UInt32(try number(value, "identities.users[]", max: UInt64(UInt32.max)))
            }
            profile.groups = try array(item["groups"], "identities.groups").map { (value) throws(AgentError) in
                UInt32(try number(value, "identities.groups[]", max: UInt64(UInt32.max)))
            }
            for entry in try array(item["changes"], "identities.changes") {
                let change = try dictionary(entry, "identities.changes[]")
                let arguments = try array(change["arguments"], "changes[].arguments").map {
                    (value) throws(AgentError) in
                    guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
                        throw AgentError.usage("changes[].arguments[] must be numbers")
                    }
                    return number.int64Value
                }
                profile.identityChanges.append(
                    RuntimeProfile.IdentityChange(
                        call: try string(change["syscall"], "changes[].syscall"), arguments: arguments,
                        result: try string(change["result"] ?? "ok", "changes[].result"),
                        executable: try string(change["executable"] ?? "", "changes[].executable"),
                        count: try number(change["count"] ?? 1, "changes[].count")))
            }
            for entry in try array(item["capabilitiesGained"], "identities.capabilitiesGained") {
                let gain = try dictionary(entry, "identities.capabilitiesGained[]")
                profile.capabilitiesGained.append(
                    RuntimeProfile.CapabilityGain(
                        executable: try string(gain["executable"], "capabilitiesGained[].executable"),
                        capabilities: try array(gain["capabilities"], "capabilitiesGained[].capabilities").map {
                            (value) throws(AgentError) in try string(value, "capabilitiesGained[].capabilities[]")
                        },
                        count: try number(gain["count"] ?? 1, "capabilitiesGained[].count")))
            }
        }
        return profile
    }

    private static func executables(_ value: Any?, _ name: String) throws(AgentError) -> [RuntimeProfile.Executable] {
        try array(value, name).map { (entry) throws(AgentError) in
            let item = try dictionary(entry, "\(name)[]")
            return RuntimeProfile.Executable(
                path: try string(item["path"], "\(name)[].path"),
                sha256: try optionalString(item["sha256"], "\(name)[].sha256"),
                hashError: try optionalString(item["hashError"], "\(name)[].hashError"),
                count: try number(item["count"] ?? 1, "\(name)[].count"),
                parent: try optionalString(item["parent"], "\(name)[].parent"))
        }
    }

    private static func dictionary(_ value: Any?, _ name: String) throws(AgentError) -> [String: Any] {
        guard let object = value as? [String: Any] else { throw AgentError.usage("\(name) must be an object") }
        return object
    }

    private static func array(_ value: Any?, _ name: String) throws(AgentError) -> [Any] {
        guard let value, !(value is NSNull) else { return [] }
        guard let array = value as? [Any] else { throw AgentError.usage("\(name) must be an array") }
        return array
    }

    private static func string(_ value: Any?, _ name: String) throws(AgentError) -> String {
        guard let text = value as? String else { throw AgentError.usage("\(name) must be a string") }
        return text
    }

    private static func optionalString(_ value: Any?, _ name: String) throws(AgentError) -> String? {
        guard let value, !(value is NSNull) else { return nil }
        return try string(value, name)
    }

    private static func number(_ value: Any, _ name: String, max: UInt64 = UInt64.max) throws(AgentError) -> UInt64 {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue >= 0,
            number.doubleValue <= Double(max), number.doubleValue == number.doubleValue.rounded()
        else {
            throw AgentError.usage("\(name) must be a whole number from 0 to \(max)")
        }
        return number.uint64Value
    }

    private static func counts(_ value: Any?, _ name: String) throws(AgentError) -> [String: UInt64] {
        guard let value, !(value is NSNull) else { return [:] }
        guard let object = value as? [String: Any] else {
            throw AgentError.usage("\(name) must be an object of counts")
        }
        var counts: [String: UInt64] = [:]
        for (key, count) in object { counts[key] = try number(count, "\(name).\(printable(key))") }
        return counts
    }

    /// An untrusted name for an error line: short, no control characters.
    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}

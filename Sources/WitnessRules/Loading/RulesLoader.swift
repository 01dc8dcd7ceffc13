import WitnessCore
import Yams

/// A rules file's name and text.
package struct RulesSource: Sendable {
    package var name: String
    package var text: String

    package init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// What loading rules files produced: the rules that compiled, the ones skipped
/// and why, and every diagnostic with its file, line and column.
package struct LoadedRules {
    package var rules: [CompiledRule] = []
    package var skipped: [SkippedRule] = []
    package var diagnostics: [RulesDiagnostic] = []
    /// Rules present but `enabled: false`.
    package var disabled = 0
    /// The files read, in order: what an attestation names the rules by.
    package var sources: [RulesSource] = []

    package var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Loads Falco-format rules files, in order, later files refining earlier ones:
/// `- list:`, `- macro:`, `- rule:` items, `append: true`, `override:` (append or
/// replace, per property), items that only switch a rule on or off, `exceptions:`,
/// and `required_engine_version`. YAML comes from a real parser (Yams); a
/// malformed file is one clear error, never a crash.
package enum RulesLoader {
    /// The rules built into the agent (`rules/*.yaml` at build time).
    package static func defaultSources() -> [RulesSource] {
        embeddedDefaultRules.map {
            RulesSource(name: $0.name, text: String(decoding: Base64.decode($0.base64), as: UTF8.self))
        }
    }

    /// Reads rules files from disk.
    /// - Throws: `AgentError.usage` naming a file that cannot be read.
    package static func sources(paths: [String]) throws(AgentError) -> [RulesSource] {
        var sources: [RulesSource] = []
        for path in paths {
            guard let bytes = BoundedFile.read(path, limit: 64 << 20) else {
                throw AgentError.usage("cannot read rules file \(path)")
            }
            sources.append(RulesSource(name: path, text: String(decoding: bytes, as: UTF8.self)))
        }
        return sources
    }

    /// Loads the rules files at `paths` (none: the built-in rules) as the agent runs
    /// them: the first error stops it, with its location.
    package static func loadForAgent(paths: [String], minimumPriority: Priority) throws(AgentError) -> LoadedRules {
        let loaded = load(
            paths.isEmpty ? defaultSources() : try sources(paths: paths), minimumPriority: minimumPriority)
        if let first = loaded.diagnostics.first(where: { $0.severity == .error }) {
            throw AgentError.usage("\(first) (see witness-agent rules validate)")
        }
        return loaded
    }

    package static func load(_ sources: [RulesSource], minimumPriority: Priority = .debug) -> LoadedRules {
        var state = LoaderState()
        for source in sources { state.read(source) }
        var loaded = state.compile(minimumPriority: minimumPriority)
        loaded.sources = sources
        return loaded
    }
}

/// The definitions gathered from every file, in order.
private struct LoaderState {
    var result = LoadedRules()
    var lists: [String: [String]] = [:]
    var listOrder: [String] = []
    var macros: [String: String] = [:]
    var macroLocations: [String: SourceLocation] = [:]
    var rules: [String: RuleDefinition] = [:]
    var ruleOrder: [String] = []

    mutating func error(_ location: SourceLocation, _ message: String) {
        result.diagnostics.append(
            RulesDiagnostic(file: location.file, line: location.line, column: location.column, message: message))
    }

    mutating func warning(_ location: SourceLocation, _ message: String) {
        result.diagnostics.append(
            RulesDiagnostic(
                file: location.file, line: location.line, column: location.column, severity: .warning, message: message)
        )
    }

    static func location(_ node: Node?, _ file: String) -> SourceLocation {
        let mark = node?.mark
        var location = SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        if case .scalar(let scalar)? = node, scalar.style == .literal || scalar.style == .folded {
            location.block = true
        }
        return location
    }

    // MARK: Reading

    mutating func read(_ source: RulesSource) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: source.text)
        } catch let yamlError as YamlError {
            let (line, column, problem) = Self.describe(yamlError)
            error(SourceLocation(file: source.name, line: line, column: column), "malformed YAML: \(problem)")
            return
        } catch {
            self.error(SourceLocation(file: source.name, line: 1, column: 1), "malformed YAML: \(error)")
            return
        }
        guard let root else { return }  // an empty file defines nothing
        guard case .sequence(let items) = root else {
            error(Self.location(root, source.name), "a rules file is a list of items (- rule:, - macro:, - list:)")
            return
        }
        for item in items {
            guard case .mapping(let mapping) = item else {
                error(Self.location(item, source.name), "each item is a mapping such as '- rule: name'")
                continue
            }
            var fields: [String: Node] = [:]
            for (key, value) in mapping {
                if let name = key.string { fields[name] = value }
            }
            let location = Self.location(item, source.name)
            if fields["rule"] != nil {
                readRule(fields, location, source.name)
            } else if fields["macro"] != nil {
                readMacro(fields, location, source.name)
            } else if fields["list"] != nil {
                readList(fields, location, source.name)
            } else if let version = fields["required_engine_version"] {
                if version.string == nil {
                    error(Self.location(version, source.name), "required_engine_version needs a version")
                }
            } else if fields["required_plugin_versions"] != nil || fields["plugins"] != nil {
                continue  // plugins are not part of the syscall source
            } else {
                let keys = fields.keys.sorted().joined(separator: ", ")
                error(location, "unknown item (keys: \(keys)): expected rule, macro, list or required_engine_version")
            }
        }
    }

    static func describe(_ error: YamlError) -> (Int, Int, String) {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return (mark.line, mark.column, problem)
        case let .reader(problem, _, _, _):
            return (1, 1, problem)
        default:
            return (1, 1, "\(error)")
        }
    }

    /// How `property` is to be merged: "append", "replace", or nil when not overridden.
    mutating func overrideMode(_ fields: [String: Node], _ property: String, _ file: String) -> String? {
        if let append = fields["append"]?.string, append.lowercased() == "true" { return "append" }
        guard case .mapping(let override)? = fields["override"] else { return nil }
        for (key, value) in override where key.string == property {
            let mode = value.string ?? ""
            if mode == "append" || mode == "replace" { return mode }
            error(Self.location(value, file), "override of \(property) must be 'append' or 'replace', not '\(mode)'")
            return nil
        }
        return nil
    }

    static func strings(_ node: Node?) -> [String]? {
        guard case .sequence(let sequence)? = node else { return nil }
        return sequence.compactMap { item in
            if let text = item.string { return text }
            return nil
        }
    }

    mutating func readList(_ fields: [String: Node], _ location: SourceLocation, _ file: String) {
        guard let name = fields["list"]?.string, !name.isEmpty else {
            return error(location, "list needs a name")
        }
        guard let items = Self.strings(fields["items"]) else {
            return error(Self.location(fields["items"] ?? fields["list"], file), "list '\(name)' needs items: [...]")
        }
        if let mode = overrideMode(fields, "items", file) {
            guard lists[name] != nil else { return error(location, "no list '\(name)' to \(mode) to") }
            if mode == "append" { lists[name]!.append(contentsOf: items) } else { lists[name] = items }
            return
        }
        if lists[name] == nil { listOrder.append(name) }
        lists[name] = items
    }

    mutating func readMacro(_ fields: [String: Node], _ location: SourceLocation, _ file: String) {
        guard let name = fields["macro"]?.string, !name.isEmpty else { return error(location, "macro needs a name") }
        guard let condition = fields["condition"]?.string else {
            return error(location, "macro '\(name)' needs a condition")
        }
        if let mode = overrideMode(fields, "condition", file) {
            guard let existing = macros[name] else { return error(location, "no macro '\(name)' to \(mode) to") }
            macros[name] = mode == "append" ? existing + " " + condition : condition
            return
        }
        macros[name] = condition
        macroLocations[name] = Self.location(fields["condition"], file)
    }

    mutating func readRule(_ fields: [String: Node], _ location: SourceLocation, _ file: String) {
        guard let name = fields["rule"]?.string, !name.isEmpty else { return error(location, "rule needs a name") }
        let enabled: Bool? = fields["enabled"].flatMap { node in
            guard let text = node.string?.lowercased(), let value = Bool(text) else {
                error(Self.location(node, file), "enabled must be true or false")
                return nil
            }
            return value
        }
        let exceptions = readExceptions(fields["exceptions"], file)
        let tags = Self.strings(fields["tags"])

        if var existing = rules[name],
            fields["append"] != nil || fields["override"] != nil || fields["condition"] == nil
        {
            // Refining a rule defined earlier.
            if let condition = fields["condition"]?.string {
                switch overrideMode(fields, "condition", file) {
                case "append": existing.condition = (existing.condition ?? "") + " " + condition
                case "replace":
                    existing.condition = condition
                    existing.conditionLocation = Self.location(fields["condition"], file)
                default: break
                }
            }
            for (property, node) in [
                ("output", fields["output"]), ("desc", fields["desc"]), ("priority", fields["priority"]),
            ] {
                guard let text = node?.string, let mode = overrideMode(fields, property, file) else { continue }
                switch property {
                case "output":
                    existing.output = mode == "append" ? (existing.output ?? "") + " " + text : text
                    existing.outputLocation = Self.location(node, file)
                case "desc": existing.description = text
                default:
                    existing.priority = text
                    existing.priorityLocation = Self.location(node, file)
                }
            }
            if let tags {
                existing.tags = overrideMode(fields, "tags", file) == "replace" ? tags : existing.tags + tags
            }
            if !exceptions.isEmpty {
                existing.exceptions =
                    overrideMode(fields, "exceptions", file) == "replace"
                    ? exceptions : existing.exceptions + exceptions
            }
            if let enabled { existing.enabled = enabled }
            rules[name] = existing
            return
        }
        if fields["append"] != nil || fields["override"] != nil {
            return error(location, "no rule '\(name)' to append to or override")
        }
        if fields["condition"] == nil, enabled != nil {
            return error(location, "no rule '\(name)' to enable or disable")
        }
        for required in ["condition", "output", "priority"] where fields[required]?.string == nil {
            return error(location, "rule '\(name)' needs \(required)")
        }
        var rule = RuleDefinition(
            name: name, location: location, description: fields["desc"]?.string,
            condition: fields["condition"]?.string, conditionLocation: Self.location(fields["condition"], file),
            output: fields["output"]?.string, outputLocation: Self.location(fields["output"], file),
            priority: fields["priority"]?.string, priorityLocation: Self.location(fields["priority"], file))
        rule.tags = tags ?? []
        rule.enabled = enabled ?? true
        rule.source = fields["source"]?.string ?? "syscall"
        rule.exceptions = exceptions
        if rules[name] == nil { ruleOrder.append(name) }
        rules[name] = rule
    }

    mutating func readExceptions(_ node: Node?, _ file: String) -> [ExceptionDefinition] {
        guard let node else { return [] }
        guard case .sequence(let items) = node else {
            error(Self.location(node, file), "exceptions is a list of {name, fields, comps, values}")
            return []
        }
        var result: [ExceptionDefinition] = []
        for item in items {
            guard case .mapping(let mapping) = item else { continue }
            var fields: [String: Node] = [:]
            for (key, value) in mapping { if let name = key.string { fields[name] = value } }
            let location = Self.location(item, file)
            guard let name = fields["name"]?.string else {
                error(location, "an exception needs a name")
                continue
            }
            var single = false
            var fieldNames = Self.strings(fields["fields"]) ?? []
            if fieldNames.isEmpty, let one = fields["fields"]?.string {
                fieldNames = [one]
                single = true
            }
            let comparisons = Self.strings(fields["comps"]) ?? fields["comps"]?.string.map { [$0] } ?? []
            var values: [[[String]]] = []
            if case .sequence(let rows)? = fields["values"] {
                for row in rows {
                    if case .sequence(let cells) = row {
                        // A cell is a value or, nested, a list of values.
                        values.append(cells.map { cell in cell.string.map { [$0] } ?? Self.strings(cell) ?? [] })
                    } else if let cell = row.string {
                        values.append([[cell]])
                    }
                }
            }
            result.append(
                ExceptionDefinition(
                    name: name, fields: fieldNames, singleField: single, comparisons: comparisons, values: values,
                    location: location))
        }
        return result
    }

    // MARK: Compiling

    /// Lists with the lists they name expanded, recursively; a cycle is an error.
    mutating func flattenedLists() -> [String: [String]] {
        var flat: [String: [String]] = [:]
        var visiting: Set<String> = []
        func flatten(_ name: String, _ state: inout LoaderState) -> [String] {
            if let done = flat[name] { return done }
            guard let items = state.lists[name] else { return [name] }
            if visiting.contains(name) {
                state.error(SourceLocation(file: "", line: 0, column: 0), "list '\(name)' refers to itself")
                return []
            }
            visiting.insert(name)
            var result: [String] = []
            for item in items {
                if state.lists[item] != nil {
                    result.append(contentsOf: flatten(item, &state))
                } else {
                    result.append(item)
                }
            }
            visiting.remove(name)
            flat[name] = result
            return result
        }
        for name in listOrder { _ = flatten(name, &self) }
        return flat
    }

    mutating func compile(minimumPriority: Priority) -> LoadedRules {
        let compiler = ConditionCompiler(macros: macros, lists: flattenedLists())
        for name in ruleOrder {
            guard let rule = rules[name] else { continue }
            guard rule.enabled else {
                result.disabled += 1
                continue
            }
            if rule.source != "syscall" {
                skip(rule, "source '\(rule.source)' is not witnessed (only syscall)", at: rule.location)
                continue
            }
            guard let priorityText = rule.priority, let priority = Priority(falcoName: priorityText) else {
                error(
                    rule.priorityLocation,
                    "rule '\(name)': bad priority '\(rule.priority ?? "")' (use one of Falco's eight)")
                continue
            }
            if priority > minimumPriority { continue }
            guard let conditionText = rule.condition else { continue }
            let syntax: ConditionSyntax
            do throws(ConditionError) {
                syntax = try ConditionParser.parse(conditionText)
            } catch {
                self.error(
                    rule.conditionLocation.advanced(in: conditionText, by: error.offset),
                    "rule '\(name)': \(error.message)")
                continue
            }
            var predicate: Predicate
            do throws(ConditionCompiler.Failure) {
                predicate = try compiler.compile(syntax)
                if let exceptions = try exceptionPredicate(rule, compiler) {
                    predicate = .all([predicate, .not(exceptions)])
                }
            } catch {
                if error.isSkip {
                    skip(rule, error.message, at: rule.conditionLocation)
                } else {
                    self.error(rule.conditionLocation, "rule '\(name)': \(error.message)")
                }
                continue
            }
            let output: OutputTemplate
            switch OutputTemplate.parse(rule.output ?? "") {
            case .success(let template): output = template
            case .failure(let unknown):
                skip(
                    rule, "uses field '\(unknown.name)' in its output, which Witness does not know",
                    at: rule.outputLocation)
                continue
            }
            result.rules.append(
                CompiledRule(
                    name: name, priority: priority, tags: rule.tags, description: rule.description ?? "",
                    predicate: predicate, output: output, eventTypes: predicate.eventTypes))
        }
        return result
    }

    mutating func skip(_ rule: RuleDefinition, _ reason: String, at location: SourceLocation) {
        result.skipped.append(SkippedRule(name: rule.name, reason: reason))
        warning(location, "rule '\(rule.name)' skipped: \(reason)")
    }

    /// The exceptions of `rule` as one predicate: any value row matching.
    mutating func exceptionPredicate(
        _ rule: RuleDefinition, _ compiler: ConditionCompiler
    ) throws(ConditionCompiler.Failure)
        -> Predicate?
    {
        var rows: [Predicate] = []
        for exception in rule.exceptions {
            for values in exception.values {
                if exception.singleField {
                    // One field: its values are a list, compared with `in` (or the given comparison).
                    let op = ComparisonOperator(rawValue: exception.comparisons.first ?? "in") ?? .in
                    let flat = values.flatMap { $0 }
                    rows.append(
                        try compiler.comparison(
                            FieldSyntax(name: exception.fields[0], argument: nil, offset: 0), op,
                            op == .in || op == .pmatch || op == .intersects ? .list(flat) : .value(flat.first ?? "")))
                    continue
                }
                var cells: [Predicate] = []
                for (index, field) in exception.fields.enumerated() where index < values.count {
                    let opText = index < exception.comparisons.count ? exception.comparisons[index] : "="
                    guard let op = ComparisonOperator(rawValue: opText) else {
                        throw .badValue("exception '\(exception.name)': unknown comparison '\(opText)'")
                    }
                    let (name, argument) = Self.splitField(field)
                    let operand: Operand =
                        op == .in || op == .pmatch || op == .intersects
                        ? .list(values[index]) : .value(values[index].first ?? "")
                    cells.append(
                        try compiler.comparison(FieldSyntax(name: name, argument: argument, offset: 0), op, operand))
                }
                rows.append(.all(cells))
            }
        }
        return rows.isEmpty ? nil : .any(rows)
    }

    static func splitField(_ text: String) -> (String, String?) {
        guard let open = text.firstIndex(of: "["), text.last == "]" else { return (text, nil) }
        return (String(text[..<open]), String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
    }
}

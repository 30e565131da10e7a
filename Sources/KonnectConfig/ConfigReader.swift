import Yams

/// Where something was written in the source text.
struct TextLocation: Hashable, Sendable {
    var line: Int?
    var column: Int?

    init(_ node: Node?) {
        line = node?.mark?.line
        column = node?.mark?.column
    }
}

/// A value read from the document, with the path and location it was read from.
struct Located<Value> {
    var value: Value
    var path: String
    var location: TextLocation
}

/// The YAML type a scalar resolves to.
enum ScalarType {
    case string, integer, float, boolean, null
}

extension Node {
    /// The type of a scalar node (quoted scalars are always strings), or `nil` for maps and lists.
    var scalarType: ScalarType? {
        guard case .scalar = self else { return nil }
        switch tag.rawValue {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return .boolean
        case Tag.Name.int.rawValue: return .integer
        case Tag.Name.float.rawValue: return .float
        default: return .string
        }
    }

    var isNullValue: Bool { scalarType == .null }
}

/// A map's entries by key, in file order, with YAML merge keys (`<<: *anchor`) applied.
struct Fields {
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    /// The path of the map itself.
    let path: String
    /// The map node.
    let node: Node
    /// Entries in the order they were written.
    let ordered: [Entry]
    private let byKey: [String: Entry]

    init(path: String, node: Node, ordered: [Entry]) {
        self.path = path
        self.node = node
        self.ordered = ordered
        var byKey: [String: Entry] = [:]
        for entry in ordered where byKey[entry.key] == nil {
            byKey[entry.key] = entry
        }
        self.byKey = byKey
    }

    var location: TextLocation { TextLocation(node) }

    func path(_ key: String) -> String {
        ConfigReader.path(path, key)
    }

    /// The value of `key`, unless it is absent or `null` (which mean the same: use the default).
    subscript(key: String) -> Node? {
        guard let entry = byKey[key], !entry.value.isNullValue else { return nil }
        return entry.value
    }

    /// The entry for `key` as written, `null` included.
    func entry(_ key: String) -> Entry? {
        byKey[key]
    }
}

/// What a map in the document describes: used for messages and to reject unknown fields.
struct FieldSchema {
    /// "a service", "a route", …
    var noun: String
    /// Every field this map may hold, in the order they are listed to users.
    var fields: [String]
}

/// Walks the node tree of a declarative file, collecting issues as it goes.
///
/// The reader never stops at the first problem: each check that fails records a `ConfigIssue`
/// and reading goes on with the next field, so one run reports everything that is wrong.
final class ConfigReader {
    var issues: [ConfigIssue] = []

    /// Format versions before 3.0 wrote regex paths without the `~` prefix.
    var legacyPaths = false

    var services: [ServiceDraft] = []
    var routes: [RouteDraft] = []
    var upstreams: [UpstreamDraft] = []
    var targets: [TargetDraft] = []
    var consumers: [ConsumerDraft] = []
    var plugins: [PluginDraft] = []
    /// Credentials, certificates, SNIs, CA certificates and AI models, by kind.
    var drafts: [EntityKind: [EntityDraft]] = [:]
    /// Consumers in consumer groups: top-level, or a consumer's `groups`.
    var memberships: [MembershipDraft] = []

    static func path(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    static func path(_ parent: String, index: Int) -> String {
        "\(parent)[\(index)]"
    }

    // MARK: - Reporting

    func report(_ path: String, _ location: TextLocation, value: String? = nil, expected: String) {
        issues.append(ConfigIssue(path: path, value: value, expected: expected, line: location.line, column: location.column))
    }

    /// Records that the value `node` at `path` is not what was `expected`.
    func report(_ path: String, node: Node, expected: String) {
        report(path, TextLocation(node), value: Self.written(node), expected: expected)
    }

    /// Records that a required field is missing (or `null`) in `fields`.
    func reportMissing(_ key: String, in fields: Fields, expected: String) {
        if let entry = fields.entry(key) {
            report(fields.path(key), node: entry.value, expected: "\(expected); the field is required")
        } else {
            report(fields.path(key), fields.location, expected: "\(expected); the field is required")
        }
    }

    /// A short rendering of a node as written: scalars verbatim, maps and lists in flow style.
    static func written(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if node.isNullValue, scalar.string.isEmpty { return "null" }
            return scalar.string
        case .sequence(let sequence):
            var parts: [String] = []
            var length = 0
            for element in sequence {
                let part = written(element)
                parts.append(part)
                length += part.count + 2
                if length > ConfigIssue.maximumValueLength { break }
            }
            return "[" + parts.joined(separator: ", ") + "]"
        case .mapping(let mapping):
            var parts: [String] = []
            var length = 0
            for (key, value) in mapping {
                let part = "\(written(key)): \(written(value))"
                parts.append(part)
                length += part.count + 2
                if length > ConfigIssue.maximumValueLength { break }
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case .alias:
            return "*alias"
        }
    }

    // MARK: - Maps

    /// The entries of a map, or `nil` (with an issue) when `node` is not a map.
    func mapEntries(_ node: Node, at path: String, expected: String) -> Fields? {
        guard case .mapping(let mapping) = node else {
            report(path, node: node, expected: expected)
            return nil
        }
        var explicit: [Fields.Entry] = []
        var merged: [Fields.Entry] = []
        collect(mapping, at: path, explicit: &explicit, merged: &merged)
        let written = Set(explicit.map(\.key))
        var seen = written
        var ordered = explicit
        for entry in merged where !seen.contains(entry.key) {
            seen.insert(entry.key)
            ordered.append(entry)
        }
        return Fields(path: path, node: node, ordered: ordered)
    }

    private func collect(_ mapping: Node.Mapping, at path: String, explicit: inout [Fields.Entry], merged: inout [Fields.Entry]) {
        for (keyNode, value) in mapping {
            if keyNode.tag.rawValue == Tag.Name.merge.rawValue {
                let sources: [Node] = if case .sequence(let list) = value { Array(list) } else { [value] }
                for source in sources {
                    guard case .mapping(let inner) = source else {
                        report(Self.path(path, "<<"), node: source, expected: "a map (or list of maps) to merge")
                        continue
                    }
                    var innerExplicit: [Fields.Entry] = []
                    collect(inner, at: path, explicit: &innerExplicit, merged: &merged)
                    merged.append(contentsOf: innerExplicit)
                }
                continue
            }
            guard case .scalar(let scalar) = keyNode else {
                report(path, node: keyNode, expected: "a field name, not a map or list used as a key")
                continue
            }
            explicit.append(Fields.Entry(key: scalar.string, keyNode: keyNode, value: value))
        }
    }

    /// The fields of an entity map, with an issue for each field `schema` does not list.
    func fields(_ node: Node, at path: String, schema: FieldSchema) -> Fields? {
        guard let fields = mapEntries(node, at: path, expected: "\(schema.noun) (a map of fields)") else { return nil }
        let known = Set(schema.fields)
        for entry in fields.ordered where !known.contains(entry.key) {
            reportUnknownField(entry, in: fields, schema: schema)
        }
        return fields
    }

    func reportUnknownField(_ entry: Fields.Entry, in fields: Fields, schema: FieldSchema) {
        let expected: String
        if let suggestion = Self.closest(to: entry.key, among: schema.fields) {
            expected = "a field of \(schema.noun) (did you mean \"\(suggestion)\"?)"
        } else {
            expected = "a field of \(schema.noun) (one of \(schema.fields.joined(separator: ", ")))"
        }
        report(fields.path(entry.key), TextLocation(entry.keyNode), value: entry.key, expected: expected)
    }

    /// The candidate closest to `word` when it is a plausible typo of it.
    static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        let limit = word.count <= 4 ? 1 : 2
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate)
            if distance <= limit, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    // MARK: - Scalars

    /// Appends advice when a plain scalar was read as a number or boolean where a string was wanted.
    private func stringHint(for node: Node, expected: String) -> String {
        switch node.scalarType {
        case .integer, .float: "\(expected) (YAML reads this as a number; put it in quotes)"
        case .boolean: "\(expected) (YAML reads this as true or false; put it in quotes)"
        default: expected
        }
    }

    func string(_ node: Node, at path: String, expected: String = "a string") -> String? {
        guard node.scalarType == .string, case .scalar(let scalar) = node else {
            report(path, node: node, expected: stringHint(for: node, expected: expected))
            return nil
        }
        return scalar.string
    }

    /// A string that also passes `isValid`; `expected` describes both requirements.
    func string(_ node: Node, at path: String, expected: String, where isValid: (String) -> Bool) -> String? {
        guard let text = string(node, at: path, expected: expected) else { return nil }
        guard isValid(text) else {
            report(path, node: node, expected: expected)
            return nil
        }
        return text
    }

    func integer(_ node: Node, at path: String, in range: ClosedRange<Int>, expected: String? = nil) -> Int? {
        let expected = expected ?? "an integer from \(range.lowerBound) to \(range.upperBound)"
        switch node.scalarType {
        case .integer:
            guard let value = node.int, range.contains(value) else {
                report(path, node: node, expected: expected)
                return nil
            }
            return value
        case .string:
            if case .scalar(let scalar) = node, Int(scalar.string) != nil {
                report(path, node: node, expected: "\(expected), written without quotes")
            } else {
                report(path, node: node, expected: expected)
            }
            return nil
        default:
            report(path, node: node, expected: expected)
            return nil
        }
    }

    func boolean(_ node: Node, at path: String) -> Bool? {
        guard node.scalarType == .boolean, let value = node.bool else {
            report(path, node: node, expected: "true or false")
            return nil
        }
        return value
    }

    func oneOf(_ node: Node, at path: String, _ options: [String]) -> String? {
        let expected = "one of " + options.joined(separator: ", ")
        return string(node, at: path, expected: expected) { options.contains($0) }
    }

    /// The elements of a list, or `nil` (with an issue) when `node` is not a list.
    func list(_ node: Node, at path: String, expected: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            report(path, node: node, expected: expected)
            return nil
        }
        return Array(sequence)
    }

    /// A list of strings, each checked by `element` (which reports its own issues and returns
    /// `nil` for a bad element). Returns the good elements.
    func stringList(
        _ node: Node, at path: String, expected: String, element: (String, Node, String) -> String?
    ) -> [String]? {
        guard let nodes = list(node, at: path, expected: expected) else { return nil }
        var values: [String] = []
        for (index, item) in nodes.enumerated() {
            let itemPath = Self.path(path, index: index)
            guard let text = string(item, at: itemPath) else { continue }
            if let value = element(text, item, itemPath) {
                values.append(value)
            }
        }
        return values
    }

    /// A list of strings from `options`, without repeats.
    func protocolList(_ node: Node, at path: String, options: [String]) -> [String]? {
        let values = stringList(node, at: path, expected: "a list of protocols") { text, item, itemPath in
            guard options.contains(text) else {
                report(itemPath, node: item, expected: "one of " + options.joined(separator: ", "))
                return nil
            }
            return text
        }
        guard let values else { return nil }
        var unique: [String] = []
        for value in values where !unique.contains(value) { unique.append(value) }
        if case .sequence(let items) = node, items.isEmpty {
            report(path, node: node, expected: "at least one protocol")
        }
        return unique
    }

    /// `tags`: a list of printable strings without `,` or `/`.
    func tags(_ fields: Fields) -> [String] {
        guard let node = fields["tags"] else { return [] }
        return stringList(node, at: fields.path("tags"), expected: "a list of tags") { text, item, itemPath in
            guard ConfigSyntax.isTag(text) else {
                report(itemPath, node: item, expected: "a tag of printable characters other than ',' and '/'")
                return nil
            }
            return text
        } ?? []
    }

    /// An entity name (`name`, `instance_name`): letters, digits, `.`, `-`, `_`, `~` and non-ASCII characters.
    func entityName(_ fields: Fields, _ key: String = "name") -> Located<String>? {
        guard let node = fields[key] else { return nil }
        let path = fields.path(key)
        let expected = "a name of letters, digits and '.', '-', '_', '~'"
        guard let name = string(node, at: path, expected: expected, where: ConfigSyntax.isEntityName) else { return nil }
        return Located(value: name, path: path, location: TextLocation(node))
    }

    /// A given `id`, which must be a UUID; stored lower-cased.
    func givenID(_ fields: Fields) -> Located<String>? {
        guard let node = fields["id"] else { return nil }
        let path = fields.path("id")
        let expected = "a UUID such as 5f1c3b0e-8d2a-4c4e-9f7a-2b6d1e0c9a31"
        guard let id = string(node, at: path, expected: expected, where: NameBasedUUID.isValid) else { return nil }
        return Located(value: id.lowercased(), path: path, location: TextLocation(node))
    }

    /// A reference to another entity: a name or id string, or a map `{id: …}` / `{name: …}`.
    func reference(_ fields: Fields, _ key: String, kind: String) -> Reference? {
        guard let node = fields[key] else { return nil }
        return reference(node, at: fields.path(key), kind: kind)
    }

    /// A reference written at `path` (an element of a list of references).
    func reference(_ node: Node, at path: String, kind: String) -> Reference? {
        let expected = "the name or id of \(kind), or a map {id: …} or {name: …}"
        switch node {
        case .scalar:
            guard let text = string(node, at: path, expected: expected) else { return nil }
            return Reference(key: .idOrName(text), path: path, location: TextLocation(node), written: text)
        case .mapping:
            let schema = FieldSchema(noun: "a reference to \(kind)", fields: ["id", "name"])
            guard let inner = self.fields(node, at: path, schema: schema) else { return nil }
            if let idNode = inner["id"], inner["name"] == nil {
                guard let id = string(idNode, at: inner.path("id"), expected: "a UUID", where: NameBasedUUID.isValid)
                else { return nil }
                return Reference(key: .id(id.lowercased()), path: inner.path("id"), location: TextLocation(idNode), written: id)
            }
            if let nameNode = inner["name"], inner["id"] == nil {
                guard let name = string(nameNode, at: inner.path("name")) else { return nil }
                return Reference(key: .name(name), path: inner.path("name"), location: TextLocation(nameNode), written: name)
            }
            report(path, node: node, expected: "exactly one of id or name")
            return nil
        default:
            report(path, node: node, expected: expected)
            return nil
        }
    }

    /// Reads each element of a list of entities at `fields[key]` with `read(node, path, index)`.
    func eachEntity(in fields: Fields, _ key: String, noun: String, _ read: (Node, String, Int) -> Void) {
        guard let node = fields[key] else { return }
        let path = fields.path(key)
        guard let nodes = list(node, at: path, expected: "a list of \(noun)") else { return }
        for (index, element) in nodes.enumerated() {
            read(element, Self.path(path, index: index), index)
        }
    }

    // MARK: - Free-form values

    /// A plugin configuration value as JSON.
    func json(_ node: Node, at path: String) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch node.scalarType {
            case .null: return .null
            case .boolean: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .integer:
                if let value = node.int { return .number(Double(value)) }
                return node.float.map(JSONValue.number) ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.number) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(sequence.enumerated().map { json($1, at: Self.path(path, index: $0)) })
        case .mapping:
            guard let fields = mapEntries(node, at: path, expected: "a map") else { return .null }
            var object: [String: JSONValue] = [:]
            for entry in fields.ordered {
                object[entry.key] = json(entry.value, at: fields.path(entry.key))
            }
            return .object(object)
        case .alias:
            return .null
        }
    }
}

/// A reference from one entity to another, as written.
struct Reference {
    enum Key {
        /// A bare string: an id when one matches, otherwise a name.
        case idOrName(String)
        case id(String)
        case name(String)
    }

    var key: Key
    var path: String
    var location: TextLocation
    var written: String
}

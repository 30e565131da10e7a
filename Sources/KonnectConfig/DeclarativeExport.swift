import Yams

extension Configuration {
    /// The configuration as a declarative document (`_format_version: "3.0"`): each kind as a
    /// top-level list, references by id. Loading it with `DeclarativeConfig.parse` gives the same
    /// configuration back, ids included.
    public var declarativeDocument: JSONValue {
        var document: [String: JSONValue] = ["_format_version": .string("3.0")]
        for kind in EntityKind.allCases {
            let objects = entities.filter { $0.kind == kind }.map { entity -> JSONValue in
                guard case .object(var fields) = entity.json(createdAt: 0, updatedAt: 0) else { return .null }
                for key in EntityInput.storeFields { fields[key] = nil }
                // Unset fields stay out of the file; only what was set is written. An AI model's
                // deployments are records of their own, written the same way.
                if kind == .aiModels { return JSONValue.object(fields).withoutNulls }
                return .object(fields.filter { $0.value != .null })
            }
            if !objects.isEmpty { document[kind.rawValue] = .array(objects) }
        }
        return .object(document)
    }

    /// `declarativeDocument` as YAML text.
    public var declarativeYAML: String {
        (try? Yams.serialize(node: Self.readableNode(declarativeDocument))) ?? declarativeDocument.jsonText
    }

    /// Like `JSONValue.yamlNode`, but written the way people write YAML: keys and strings plain,
    /// quoted only where a plain scalar would read as something else (`"3.0"`, `"true"`, `": "`).
    private static func readableNode(_ value: JSONValue) -> Node {
        switch value {
        case .string(let text):
            // Multi-line text (PEM certificates and keys) as a literal block, as people write it.
            if text.contains("\n"), !text.contains("\r"), !text.hasPrefix(" "), !text.contains(" \n") {
                return .scalar(.init(text, Tag(.str), .literal))
            }
            return .scalar(.init(text, Tag(.str), needsQuotes(text) ? .doubleQuoted : .plain))
        case .array(let items):
            return .sequence(.init(items.map(readableNode), Tag(.seq), .block))
        case .object(let fields):
            let pairs = fields.keys.sorted { order($0, $1) }.map { key in
                (Node.scalar(.init(key, Tag(.str), needsQuotes(key) ? .doubleQuoted : .plain)), readableNode(fields[key]!))
            }
            return .mapping(.init(pairs, Tag(.map), .block))
        default:
            return value.yamlNode
        }
    }

    /// `_format_version` first, then the kinds as Kong's files list them (services first, TLS
    /// material last), `id` and `name` first in an entity, the rest alphabetically.
    private static func order(_ left: String, _ right: String) -> Bool {
        let tls: [EntityKind] = [.certificates, .snis, .caCertificates]
        let kinds = EntityKind.allCases.filter { !tls.contains($0) } + tls
        let first = ["_format_version"] + kinds.map(\.rawValue) + ["id", "name", "username"]
        let l = first.firstIndex(of: left) ?? first.count, r = first.firstIndex(of: right) ?? first.count
        return l != r ? l < r : left < right
    }

    private static func needsQuotes(_ text: String) -> Bool {
        guard let first = text.first, let last = text.last else { return true }
        if first == " " || last == " " || "-?:,[]{}#&*!|>'\"%@`~".contains(first) { return true }
        if text.contains(": ") || text.contains(" #") || text.contains("\n") || text.hasSuffix(":") { return true }
        let lowered = text.lowercased()
        if ["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(lowered) { return true }
        return Double(text) != nil || Int(text) != nil || text.allSatisfy { $0.isNumber || $0 == "." || $0 == "_" || $0 == ":" }
    }
}

extension JSONValue {
    /// The value with every `null` field of its objects left out, at every depth.
    fileprivate var withoutNulls: JSONValue {
        switch self {
        case .object(let fields): .object(fields.filter { $0.value != .null }.mapValues(\.withoutNulls))
        case .array(let items): .array(items.map(\.withoutNulls))
        default: self
        }
    }
}

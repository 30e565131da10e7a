/// A value with `$(headers.x)`, `$(query_params.y)` or `$(uri_captures.z)` in it (also written
/// `$(headers["x-y"])`), filled in from the request; a value the request lacks becomes empty.
struct TransformTemplate: Sendable {
    enum Part: Sendable {
        case text(String)
        case header(String)
        case query(String)
        case capture(String)
    }

    let parts: [Part]

    init(_ text: String) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let start = rest.range(of: "$("), let end = rest[start.upperBound...].firstIndex(of: ")"),
              let reference = Self.reference(rest[start.upperBound..<end]) {
            if start.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<start.lowerBound]))) }
            parts.append(reference)
            rest = rest[rest.index(after: end)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// `headers.x`, `headers["x"]` (or with single quotes), likewise `query_params` and `uri_captures`.
    private static func reference(_ text: Substring) -> Part? {
        let kinds: [(String, (String) -> Part)] = [
            ("headers", { .header($0.lowercased()) }), ("query_params", { .query($0) }), ("uri_captures", { .capture($0) }),
        ]
        for (prefix, make) in kinds where text.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count)
            if rest.hasPrefix("."), rest.count > 1 { return make(String(rest.dropFirst())) }
            if rest.hasPrefix("["), rest.hasSuffix("]") {
                let inner = rest.dropFirst().dropLast()
                if inner.count >= 2, let quote = inner.first, quote == "\"" || quote == "'", inner.last == quote {
                    return make(String(inner.dropFirst().dropLast()))
                }
            }
        }
        return nil
    }

    var isLiteral: Bool {
        parts.allSatisfy { if case .text = $0 { true } else { false } }
    }

    func render(_ context: PluginContext) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .header(let name):
                if case .one(let value) = context.head.value(named: name) { out += value }
            case .query(let name): out += context.queryValues(name).first ?? ""
            case .capture(let name): out += context.uriCaptures[name] ?? ""
            }
        }
        return out
    }
}

/// A `name:value` operation of a transformer, its value a template.
struct TransformPair: Sendable {
    let name: String
    let value: TransformTemplate

    /// From `name:value`, split at the first colon (the schema made sure there is one).
    init(_ text: String) {
        let colon = text.firstIndex(of: ":") ?? text.endIndex
        name = String(text[..<colon])
        value = TransformTemplate(colon < text.endIndex ? String(text[text.index(after: colon)...]) : "")
    }
}

import Foundation
import KonnectConfig
import KonnectHTTP1

/// A value with `$(headers.x)`, `$(query_params.y)` or `$(uri_captures.z)` in it (also written
/// `$(headers["x-y"])`, and `$(uri_captures[1])` for a numbered group), filled in from the
/// request. As in Kong's Lua templates, `or` gives what to use when the request lacks a value
/// (`$(headers.x or 'none')`, `$(query_params.a or headers.b)`); without one it becomes empty.
struct TransformTemplate: Sendable {
    indirect enum Part: Sendable {
        case text(String)
        case header(String)
        case query(String)
        case capture(String)
        /// The first, or when the request lacks it, the second.
        case either(Part, Part)
    }

    let parts: [Part]
    /// The whole value when it has no references (most do not): rendered as it is.
    private let literal: String?

    init(_ text: String) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let start = rest.range(of: "$("), let end = rest[start.upperBound...].firstIndex(of: ")") {
            let after = rest.index(after: end)
            guard let reference = Self.expression(rest[start.upperBound..<end]) else {
                // Not a reference Konnect knows: kept as written; the references after it still count.
                literal += rest[..<after]
                rest = rest[after...]
                continue
            }
            literal += rest[..<start.lowerBound]
            if !literal.isEmpty { parts.append(.text(literal)) }
            literal = ""
            parts.append(reference)
            rest = rest[after...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
        switch parts.first {
        case nil: self.literal = ""
        case .text(let text)? where parts.count == 1: self.literal = text
        default: self.literal = nil
        }
    }

    /// References and quoted strings joined by `or`; nil when any of them is something else.
    private static func expression(_ text: Substring) -> Part? {
        var alternatives: [Part] = []
        for item in text.components(separatedBy: " or ") {
            let item = Substring(item.trimmingCharacters(in: .whitespaces))
            guard let part = reference(item) ?? quoted(item).map(Part.text) else { return nil }
            alternatives.append(part)
        }
        guard var result = alternatives.popLast() else { return nil }
        while let before = alternatives.popLast() { result = .either(before, result) }
        return result
    }

    /// `headers.x`, `headers["x"]` (or with single quotes), likewise `query_params` and
    /// `uri_captures`, which also takes a group's number (`uri_captures[1]`).
    private static func reference(_ text: Substring) -> Part? {
        let kinds: [(String, (String) -> Part)] = [
            ("headers", { .header($0.lowercased()) }), ("query_params", { .query($0) }), ("uri_captures", { .capture($0) }),
        ]
        for (prefix, make) in kinds where text.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count)
            if rest.hasPrefix("."), rest.count > 1 { return make(String(rest.dropFirst())) }
            if rest.hasPrefix("["), rest.hasSuffix("]") {
                let inner = rest.dropFirst().dropLast()
                if let name = quoted(inner) { return make(name) }
                if prefix == "uri_captures", let number = Int(inner), number > 0 { return make(String(number)) }
            }
        }
        return nil
    }

    /// The text between matching single or double quotes.
    private static func quoted(_ text: Substring) -> String? {
        guard text.count >= 2, let quote = text.first, quote == "\"" || quote == "'", text.last == quote else { return nil }
        return String(text.dropFirst().dropLast())
    }

    var isLiteral: Bool {
        parts.allSatisfy { if case .text = $0 { true } else { false } }
    }

    func render(_ context: PluginContext) -> String {
        if let literal { return literal }
        var out = ""
        for part in parts { out += Self.value(part, context) ?? "" }
        return out
    }

    /// A part's value, nil when the request lacks it (a header sent several times included).
    private static func value(_ part: Part, _ context: PluginContext) -> String? {
        switch part {
        case .text(let text): text
        case .header(let name): if case .one(let value) = context.head.value(named: name) { value } else { nil }
        case .query(let name): context.queryValues(name).first
        case .capture(let name): context.uriCaptures[name]
        case .either(let first, let second): value(first, context) ?? value(second, context)
        }
    }
}

/// A `name:value` operation of a transformer, its value a template.
struct TransformPair: Sendable {
    let name: String
    /// `name` lower-cased, made once (header names compare without case).
    let lowered: String
    let value: TransformTemplate

    /// From `name:value`, split at the first colon (the schema made sure there is one).
    init(_ text: String) {
        let colon = text.firstIndex(of: ":") ?? text.endIndex
        name = String(text[..<colon])
        lowered = name.lowercased()
        value = TransformTemplate(colon < text.endIndex ? String(text[text.index(after: colon)...]) : "")
    }
}

/// A transformer's operations on one kind of thing (headers, query arguments, body fields):
/// Kong's remove, rename, replace, add and append, applied in that order.
struct TransformOperations: Sendable {
    private(set) var remove: [String] = []
    /// `remove` lower-cased, for headers.
    private(set) var removedHeaderNames: [String] = []
    var rename: [TransformPair] = []
    var replace: [TransformPair] = []
    var add: [TransformPair] = []
    var append: [TransformPair] = []

    var isEmpty: Bool { remove.isEmpty && rename.isEmpty && replace.isEmpty && add.isEmpty && append.isEmpty }

    init() {}

    /// The lists named `key` in each operation's record of `config`.
    init(_ config: JSONValue, _ key: String) {
        func pairs(_ operation: String) -> [TransformPair] { (config[operation]?.texts(key) ?? []).map(TransformPair.init) }
        remove = config["remove"]?.texts(key) ?? []
        removedHeaderNames = remove.map { $0.lowercased() }
        rename = pairs("rename")
        replace = pairs("replace")
        add = pairs("add")
        append = pairs("append")
    }

    /// The header edits: names to remove (lower-cased) and fields to add, to the fields of
    /// `head` (none when nil). A header sent several times is present: rename moves every
    /// value, replace sets one in their place. (Names are compared lower-cased as made once;
    /// presence is looked up in place: a response that only gains a few lines makes no strings
    /// but theirs.)
    func headerEdits(_ context: PluginContext, head: HTTP1Head?) -> (removed: Set<String>, added: [(name: String, value: String)]) {
        var removed = Set<String>()
        var added: [(name: String, value: String)] = []
        var addedNames: [String] = []  // lower-cased, one for each of `added`
        added.reserveCapacity(replace.count + add.count + append.count)
        addedNames.reserveCapacity(added.capacity)
        func isPresent(_ lowered: String) -> Bool {
            if addedNames.contains(lowered) { return true }
            guard let head, !removed.contains(lowered) else { return false }
            return head.fields.contains { head.name(of: $0, equalsLowercased: lowered) }
        }
        /// The header's values as the edits so far leave it.
        func values(_ lowered: String) -> [String] {
            (removed.contains(lowered) ? [] : head?.values(named: lowered) ?? [])
                + zip(added, addedNames).filter { $0.1 == lowered }.map { $0.0.value }
        }
        func drop(_ lowered: String) {
            removed.insert(lowered)
            while let index = addedNames.firstIndex(of: lowered) {
                added.remove(at: index)
                addedNames.remove(at: index)
            }
        }
        func give(_ name: String, _ value: String, _ lowered: String) {
            added.append((name, value))
            addedNames.append(lowered)
        }
        for name in removedHeaderNames { drop(name) }
        for pair in rename {
            let newName = pair.value.render(context)
            let moved = values(pair.lowered)
            guard !moved.isEmpty, Self.isHeaderName(newName) else { continue }
            drop(pair.lowered)
            for value in moved { give(newName, value, newName.lowercased()) }
        }
        for pair in replace where isPresent(pair.lowered) {
            drop(pair.lowered)
            give(pair.name, pair.value.render(context), pair.lowered)
        }
        for pair in add where !isPresent(pair.lowered) { give(pair.name, pair.value.render(context), pair.lowered) }
        for pair in append { give(pair.name, pair.value.render(context), pair.lowered) }
        return (removed, added)
    }

    /// A header name a template produced: a non-empty token.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// JSON body operations, with each value already made (a template rendered, or a typed literal).
struct JSONEdits {
    var remove: [[Substring]] = []
    var rename: [(from: [Substring], to: [Substring])] = []
    var replace: [(path: [Substring], value: JSONValue)] = []
    var add: [(path: [Substring], value: JSONValue)] = []
    var append: [(path: [Substring], value: JSONValue)] = []

    /// `object` with the edits applied in Kong's order.
    func apply(to object: JSONValue) -> JSONValue {
        var json = object
        for path in remove { json.removeValue(at: path) }
        for (from, to) in rename where json.value(at: from) != nil {
            var moved = json
            guard let value = moved.removeValue(at: from), moved.setValue(value, at: to) else { continue }
            json = moved
        }
        for (path, value) in replace where json.value(at: path) != nil { json.setValue(value, at: path) }
        for (path, value) in add where json.value(at: path) == nil { json.setValue(value, at: path) }
        for (path, value) in append {
            switch json.value(at: path) {
            case .array(let items)?: json.setValue(.array(items + [value]), at: path)
            case let existing?: json.setValue(.array([existing, value]), at: path)
            case nil: json.setValue(.array([value]), at: path)
            }
        }
        return json
    }
}

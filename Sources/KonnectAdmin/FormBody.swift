import Foundation
import KonnectConfig
import KonnectStore

/// Form bodies as Kong reads them, URL-encoded (`curl -d`) or multipart (`curl -F cert=@cert.pem`):
/// `key=value` pairs, where `tags[]=a&tags[]=b` (or `tags[1]=b`) builds a list and
/// `service.id=…` a nested object.
///
/// Forms carry only text, so values are typed by the entity's fields (`FieldTypes`, from the
/// OpenAPI schema, and a plugin's `config.*` by the plugin's schema): `port=80` is a number,
/// `key=123` a string. Where no type is known (the config of a plugin without a schema) a value
/// that reads as an integer or as `true`/`false` is taken as one. An empty value means unset.
enum FormBody {
    /// Top-level field name → JSON type name ("string", "integer", "boolean", "array", "object").
    typealias FieldTypes = [String: String]

    /// Throws (400) for a field name nested deeper than any entity goes.
    static func decode(_ text: String, fieldTypes: FieldTypes = [:]) throws(EntityError) -> JSONValue {
        var pairs: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((decodeComponent(parts[0]), parts.count > 1 ? decodeComponent(parts[1]) : ""))
        }
        return try build(pairs, fieldTypes: fieldTypes)
    }

    /// A `multipart/form-data` body with `boundary`, or nil when it is not well formed.
    static func decodeMultipart(_ text: String, boundary: String, fieldTypes: FieldTypes = [:]) throws(EntityError) -> JSONValue? {
        var pairs: [(String, String)] = []
        var sections = text.components(separatedBy: "--" + boundary)
        guard sections.count >= 2 else { return nil }
        sections.removeFirst()  // the preamble
        for section in sections {
            if section.hasPrefix("--") { return try build(pairs, fieldTypes: fieldTypes) }  // the closing delimiter
            guard section.hasPrefix("\r\n"), let split = section.range(of: "\r\n\r\n") else { return nil }
            let headers = section[..<split.lowerBound].split(separator: "\r\n")
            var value = section[split.upperBound...]
            guard value.hasSuffix("\r\n") else { return nil }
            value = value.dropLast()
            guard let disposition = headers.first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                  let name = parameter("name", in: disposition)
            else { return nil }
            pairs.append((name, String(value)))
        }
        return nil  // no closing delimiter
    }

    /// The `boundary` parameter of a multipart content type.
    static func boundary(of contentType: String) -> String? {
        parameter("boundary", in: Substring(contentType)).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `name="value"` or `name=value` among the `;`-separated parameters of a header value.
    private static func parameter(_ name: String, in header: Substring) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func build(_ pairs: [(String, String)], fieldTypes: FieldTypes) throws(EntityError) -> JSONValue {
        var root = JSONValue.object([:])
        // A plugin's `config.*` values are typed by the plugin's schema, when the form names it.
        let schema = pairs.first { $0.0 == "name" }.flatMap { PluginSchema.named($0.1) }
        for (key, value) in pairs where !key.isEmpty {
            guard var steps = path(of: key) else {
                let shown = key.count > 40 ? key.prefix(40) + "…" : key[...]
                throw EntityError(status: 400, message: "the form field \(shown) is nested more than \(maximumDepth) levels deep")
            }
            guard case .key(let field)? = steps.first else { continue }
            var type = fieldTypes[field]
            if field == "config" {
                let names = steps.dropFirst().compactMap { step -> String? in
                    if case .key(let name) = step { return name } else { return nil }
                }
                type = schema?.typeName(at: names)
                if type == "array", case .key? = steps.last { steps.append(.index(nil)) }  // `config.key_names=apikey`
                if type == "array" || type == nil { type = schema == nil ? nil : "string" }
            }
            root = inserting(typed(value, as: type), at: steps[...], into: root)
        }
        return root
    }

    private enum Step {
        case key(String)
        case index(Int?)  // nil: append (`[]`)
    }

    private static func decodeComponent(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }

    /// A form value as JSON, given the field's type (nil: unknown). A value that does not fit
    /// its type stays a string, for validation to name.
    private static func typed(_ value: String, as type: String?) -> JSONValue {
        if value.isEmpty { return .null }
        let asNumber = Int(value).flatMap { String($0) == value ? JSONValue.number(Double($0)) : nil }
        let asBool: JSONValue? = value == "true" ? .bool(true) : value == "false" ? .bool(false) : nil
        switch type {
        case "integer"?, "number"?: return asNumber ?? .string(value)
        case "boolean"?: return asBool ?? .string(value)
        case nil: return asBool ?? asNumber ?? .string(value)
        default: return .string(value)
        }
    }

    /// `a.b[]` → [a, b, append]; `a[2]` → [a, 2]; nil past `maximumDepth` steps.
    private static func path(of key: String) -> [Step]? {
        var steps: [Step] = []
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var indexes: [Step] = []  // last first
            while name.hasSuffix("]"), let open = name.lastIndex(of: "[") {
                let inside = name[name.index(after: open)..<name.index(before: name.endIndex)]
                indexes.append(.index(inside.isEmpty ? nil : Int(inside)))
                name = name[..<open]
                if steps.count + indexes.count >= maximumDepth { return nil }
            }
            steps.append(.key(String(name)))
            steps += indexes.reversed()
            if steps.count > maximumDepth { return nil }
        }
        return steps
    }

    /// More levels than any entity has (a plugin's config included).
    static let maximumDepth = 32

    private static func inserting(_ value: JSONValue, at path: ArraySlice<Step>, into container: JSONValue) -> JSONValue {
        guard let step = path.first else { return value }
        let rest = path.dropFirst()
        switch step {
        case .key(let key):
            var fields: [String: JSONValue] = [:]
            if case .object(let existing) = container { fields = existing }
            fields[key] = inserting(value, at: rest, into: fields[key] ?? .null)
            return .object(fields)
        case .index(let position):
            var items: [JSONValue] = []
            if case .array(let existing) = container { items = existing }
            // Kong's form indexes start at 1; one past the end (or further) appends.
            let target = min(position.map { $0 > 1 ? $0 - 1 : 0 } ?? items.count, items.count)
            while items.count <= target { items.append(.null) }
            items[target] = inserting(value, at: rest, into: items[target])
            return .array(items)
        }
    }
}

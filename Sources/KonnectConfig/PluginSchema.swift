/// The configuration schema of a plugin Konnect implements: its fields with their types,
/// defaults and descriptions, and the rules that tie fields together.
///
/// Every plugin entity's `config` is checked against its plugin's schema when it is written
/// (Admin API, declarative file, `POST /config`) and stored with the defaults filled in, as Kong
/// stores it; plugins then read a config whose shape is known. `GET /schemas/plugins/{name}`
/// shows the schema in Kong's format. Plugins Konnect knows by name but does not implement yet
/// have no schema, and their config is kept as given.
public struct PluginSchema: Sendable {
    public let name: String
    public let fields: [PluginField]
    /// Checks across fields of the normalized config; each gives a problem or nil.
    let rules: [@Sendable ([String: JSONValue]) -> Problem?]
    /// Older flat names Kong still accepts for fields of a record (`redis_host` for
    /// `redis.host`), by flat name: read on input and stored under the record.
    let shorthands: [String: (record: String, field: String)]

    init(_ name: String, fields: [PluginField], rules: [@Sendable ([String: JSONValue]) -> Problem?] = [],
         shorthands: [String: (record: String, field: String)] = [:]) {
        self.name = name
        self.fields = fields
        self.rules = rules
        self.shorthands = shorthands
    }

    /// A config value that does not fit the schema.
    public struct Problem: Sendable, Equatable {
        /// Where, from `config` down: `["allow", "2"]` is `config.allow[2]`.
        public var path: [PathStep]
        public var expected: String

        public init(_ path: [PathStep], _ expected: String) {
            self.path = path
            self.expected = expected
        }

        /// The path as written in issues: `config.allow[2]`.
        public var dotted: String { dotted(from: "config") }

        /// The path below `root` (`deployments[1].provider` below ""; `config.allow[2]` below "config").
        public func dotted(from root: String) -> String {
            path.reduce(root) { text, step in
                switch step {
                case .key(let key): text.isEmpty ? key : "\(text).\(key)"
                case .index(let index): "\(text)[\(index)]"
                }
            }
        }
    }

    public enum PathStep: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    /// The schema of the plugin `name`, when Konnect implements it.
    public static func named(_ name: String) -> PluginSchema? { byName[name] }

    /// Names of the plugins that have a schema (those Konnect implements).
    public static var implemented: [String] { byName.keys.sorted() }

    private static let byName: [String: PluginSchema] = Dictionary(uniqueKeysWithValues: [
        keyAuth, basicAuth, jwt, oauth2Introspection, acl, ipRestriction, cors, requestSizeLimiting,
        botDetection, requestTermination, correlationID, rateLimiting, requestTransformer, responseTransformer, proxyCache,
        aiProxy, aiGateway,
    ].map { ($0.name, $0) })

    /// `config` with every field present (defaults where not given, `null` for unset optional
    /// fields), and the problems that keep it from fitting (the config is usable when there are none).
    public func normalize(_ config: JSONValue) -> (config: JSONValue, problems: [Problem]) {
        var problems: [Problem] = []
        var fields: [String: JSONValue]
        switch config {
        case .null: fields = [:]
        case .object(let given): fields = given
        default: return (config, [Problem([], "a map of the plugin's settings")])
        }
        for (flat, target) in shorthands {
            guard let value = fields.removeValue(forKey: flat), value != .null else { continue }
            guard case .object(var record) = fields[target.record] ?? .object([:]) else { continue }
            // A value given under the record's own name wins over its shorthand.
            if (record[target.field] ?? .null) == .null { record[target.field] = value }
            fields[target.record] = .object(record)
        }
        let normalized = PluginField.normalize(record: fields, fields: self.fields, at: [], problems: &problems)
        if problems.isEmpty {
            problems = rules.compactMap { $0(normalized) }
        }
        return (.object(normalized), problems)
    }

    /// The JSON type name (`string`, `integer`, `boolean`, `array` …) of the field at `path`
    /// below `config`, for typing form values; nil when there is no such field.
    public func typeName(at path: [String]) -> String? {
        if path.count == 1, let target = shorthands[path[0]] { return typeName(at: [target.record, target.field]) }
        var fields = self.fields
        var found: PluginField?
        for key in path {
            guard let field = fields.first(where: { $0.name == key }) else { return nil }
            found = field
            if case .record(let inner) = field.type { fields = inner } else { fields = [] }
        }
        return found?.type.name
    }

    /// The schema as Kong's `GET /schemas/plugins/{name}` shows it.
    public var kongJSON: JSONValue {
        let config = JSONValue.object([
            "type": .string("record"), "required": .bool(true),
            "fields": .array(fields.map { .object([$0.name: $0.kongJSON]) }),
        ])
        let protocols = JSONValue.object([
            "type": .string("set"), "required": .bool(true),
            "default": .array(["grpc", "grpcs", "http", "https"].map(JSONValue.string)),
            "elements": .object(["type": .string("string"), "one_of": .array(ConfigReader.pluginProtocols.map(JSONValue.string))]),
        ])
        func reference(_ entity: String) -> JSONValue {
            .object(["type": .string("foreign"), "reference": .string(entity), "eq": .null])
        }
        return .object(["fields": .array([
            .object(["consumer": reference("consumers")]),
            .object(["route": reference("routes")]),
            .object(["service": reference("services")]),
            .object(["protocols": protocols]),
            .object(["config": config]),
        ])])
    }
}

/// One field of a plugin's configuration.
public struct PluginField: Sendable {
    public indirect enum FieldType: Sendable {
        case string
        case boolean
        case integer
        case number
        /// A list whose elements are described by the field given (its name unused).
        case array(PluginField)
        case record([PluginField])
        /// An object with string keys and values of the field given.
        case map(PluginField)

        var name: String {
            switch self {
            case .string: "string"
            case .boolean: "boolean"
            case .integer: "integer"
            case .number: "number"
            case .array: "array"
            case .record: "record"
            case .map: "map"
            }
        }
    }

    public let name: String
    public let type: FieldType
    public let required: Bool
    public let defaultValue: JSONValue?
    public let description: String
    /// Allowed values (strings or integers).
    public let oneOf: [JSONValue]?
    /// Inclusive bounds of a number, or of a string's length.
    public let between: ClosedRange<Double>?
    /// A check of a value that already has the right type: what was expected, or nil.
    let check: (@Sendable (JSONValue) -> String?)?

    init(_ name: String, _ type: FieldType, required: Bool = false, default defaultValue: JSONValue? = nil,
         oneOf: [JSONValue]? = nil, between: ClosedRange<Double>? = nil,
         check: (@Sendable (JSONValue) -> String?)? = nil, _ description: String) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.description = description
        self.oneOf = oneOf
        self.between = between
        self.check = check
    }

    /// An element of a list: a field without a name.
    static func element(_ type: FieldType, oneOf: [JSONValue]? = nil, between: ClosedRange<Double>? = nil,
                        check: (@Sendable (JSONValue) -> String?)? = nil) -> PluginField {
        PluginField("", type, required: true, oneOf: oneOf, between: between, check: check, "")
    }

    static func strings(_ name: String, required: Bool = false, default values: [String]? = nil,
                        oneOf: [String]? = nil, check: (@Sendable (JSONValue) -> String?)? = nil,
                        _ description: String) -> PluginField {
        PluginField(name, .array(.element(.string, oneOf: oneOf.map { $0.map(JSONValue.string) }, between: 1...Double.infinity, check: check)),
                    required: required, default: values.map { .array($0.map(JSONValue.string)) }, description)
    }

    /// Fills in and checks the fields of a record; unknown keys are problems.
    static func normalize(record given: [String: JSONValue], fields: [PluginField], at path: [PluginSchema.PathStep],
                          problems: inout [PluginSchema.Problem]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        let names = fields.map(\.name)
        for key in given.keys.sorted() where !names.contains(key) {
            let hint = ConfigReader.closest(to: key, among: names).map { "did you mean \"\($0)\"?" }
                ?? "one of \(names.joined(separator: ", "))"
            problems.append(.init(path + [.key(key)], "a known field (\(hint))"))
        }
        for field in fields {
            result[field.name] = field.normalize(given[field.name] ?? .null, at: path + [.key(field.name)], problems: &problems)
        }
        return result
    }

    /// The value this field stores for `value` (the default when unset), checked.
    func normalize(_ value: JSONValue, at path: [PluginSchema.PathStep], problems: inout [PluginSchema.Problem]) -> JSONValue {
        if case .null = value {
            if let defaultValue { return defaultValue }
            if required { problems.append(.init(path, "\(expectation); the field is required")) }
            return .null
        }
        let before = problems.count
        let normalized: JSONValue
        switch (type, value) {
        case (.string, .string(let text)):
            if let between, !between.contains(Double(text.count)) {
                problems.append(.init(path, "a string \(Self.describe(between)) characters"))
            }
            normalized = value
        case (.boolean, .bool):
            normalized = value
        case (.number, .number(let number)) where number.isFinite:  // YAML can write .inf and .nan
            normalized = value
        case (.integer, .number(let number)) where number.rounded() == number && abs(number) < 1e15:
            normalized = value
        case (.array(let element), .array(let items)):
            if let between, !between.contains(Double(items.count)) {
                problems.append(.init(path, "a list \(Self.describe(between)) items"))
            }
            normalized = .array(items.enumerated().map { index, item in
                element.normalize(item, at: path + [.index(index)], problems: &problems)
            })
        case (.record(let fields), .object(let given)):
            normalized = .object(Self.normalize(record: given, fields: fields, at: path, problems: &problems))
        case (.map(let element), .object(let given)):
            normalized = .object(given.reduce(into: [:]) { result, entry in
                result[entry.key] = element.normalize(entry.value, at: path + [.key(entry.key)], problems: &problems)
            })
        default:
            problems.append(.init(path, expectation))
            return value
        }
        guard problems.count == before else { return normalized }
        if let oneOf, !oneOf.contains(normalized) {
            let choices = oneOf.map { $0.string.map { "\"\($0)\"" } ?? $0.jsonText }.joined(separator: ", ")
            problems.append(.init(path, "one of \(choices)"))
        } else if case .number(let number) = normalized, let between, !between.contains(number) {
            // (A string's or a list's length was checked above.)
            problems.append(.init(path, "\(type.name == "integer" ? "an integer" : "a number") \(Self.describe(between))"))
        } else if let check, let expected = check(normalized) {
            problems.append(.init(path, expected))
        }
        return normalized
    }

    /// What a value of this field must be, in words.
    var expectation: String {
        switch type {
        case .string: "a string"
        case .boolean: "true or false"
        case .integer: "an integer"
        case .number: "a number"
        case .array(let element): "a list of \(element.type.plural)"
        case .record: "a map"
        case .map: "a map"
        }
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        func text(_ value: Double) -> String { value.rounded() == value ? String(Int(value)) : String(value) }
        if range.upperBound == .infinity { return "of at least \(text(range.lowerBound))" }
        return "from \(text(range.lowerBound)) to \(text(range.upperBound))"
    }

    /// The field as one entry of Kong's schema `fields` list.
    public var kongJSON: JSONValue {
        var object: [String: JSONValue] = ["type": .string(type.name), "required": .bool(required)]
        if !description.isEmpty { object["description"] = .string(description) }
        if let defaultValue { object["default"] = defaultValue }
        if let oneOf { object["one_of"] = .array(oneOf) }
        if let between {
            let bounds = JSONValue.array([.number(between.lowerBound), between.upperBound == .infinity ? .null : .number(between.upperBound)])
            switch type {
            case .string, .array: object["len_min"] = .number(between.lowerBound)
            default: object["between"] = bounds
            }
        }
        switch type {
        case .array(let element): object["elements"] = element.kongJSON
        case .record(let fields): object["fields"] = .array(fields.map { .object([$0.name: $0.kongJSON]) })
        case .map(let element):
            object["keys"] = .object(["type": .string("string")])
            object["values"] = element.kongJSON
        default: break
        }
        return .object(object)
    }
}

extension PluginField {
    /// The field's values as JSON Schema (OpenAPI 3.1): type, choices, bounds, a record's fields,
    /// and `null` where the field may be left out. Checks beyond those (a URL's form) are the
    /// Admin API's to answer with a 400.
    public var jsonSchema: JSONValue {
        var schema: [String: JSONValue] = [:]
        let optional = !required || defaultValue != nil
        let typeName = switch type {
        case .record, .map: "object"
        default: type.name
        }
        schema["type"] = optional ? .array([.string(typeName), "null"]) : .string(typeName)
        if !description.isEmpty { schema["description"] = .string(description) }
        if let defaultValue { schema["default"] = defaultValue }
        if let oneOf { schema["enum"] = .array(optional ? oneOf + [.null] : oneOf) }
        if let between {
            let (low, high) = switch type {
            case .string: ("minLength", "maxLength")
            case .array: ("minItems", "maxItems")
            default: ("minimum", "maximum")
            }
            schema[low] = .number(between.lowerBound)
            if between.upperBound != .infinity { schema[high] = .number(between.upperBound) }
        }
        switch type {
        case .array(let element):
            schema["items"] = element.jsonSchema
        case .record(let fields):
            schema["properties"] = .object(Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.jsonSchema) }))
            let required = fields.filter { $0.required && $0.defaultValue == nil }.map { JSONValue.string($0.name) }
            if !required.isEmpty { schema["required"] = .array(required) }
            schema["additionalProperties"] = false
        case .map(let element):
            schema["additionalProperties"] = element.jsonSchema
        default:
            break
        }
        return .object(schema)
    }
}

extension PluginField.FieldType {
    var plural: String {
        switch self {
        case .string: "strings"
        case .boolean: "booleans"
        case .integer: "integers"
        case .number: "numbers"
        case .array: "lists"
        case .record, .map: "maps"
        }
    }
}

/// Literals for schema defaults.
extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
}

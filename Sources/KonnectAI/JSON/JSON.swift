/// A JSON value as it travels between AI clients and providers.
///
/// Objects keep their fields in the order they were written: a tool's parameter schema reaches
/// the model in the order its author chose, and what Konnect writes reads the way providers
/// write it.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The value of `key` in an object; nil for a missing key or when this is not an object.
    public subscript(key: String) -> JSON? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A number with no fractional part, as an `Int`.
    public var integer: Int? {
        guard case .number(let value) = self, value == value.rounded(), abs(value) < 9.2e18 else { return nil }
        return Int(value)
    }

    /// A provider's token count: a whole number, 0 for a negative one and at most 2^40 (more
    /// than any answer holds), so that the sums made of counts cannot overflow.
    public var tokenCount: Int? {
        integer.map { min(max($0, 0), 1 << 40) }
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var array: [JSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var object: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The JSON type's name, for error messages (`"string"`, `"object"` …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object's fields in their order. Lookups are linear: the objects of chat requests and
/// responses have a handful of fields, where a scan beats hashing.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var fields: [(key: String, value: JSON)]

    public init(_ fields: [(key: String, value: JSON)] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        fields = elements.map { (key: $0.0, value: $0.1) }
    }

    /// The value of `key`. Setting nil removes the field; setting a new key appends it.
    public subscript(key: String) -> JSON? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    public var keys: [String] { fields.map(\.key) }
    public var isEmpty: Bool { fields.isEmpty }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}

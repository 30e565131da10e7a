import Foundation
import Yams

/// JSON text that could not be read.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONValue {
    /// Parses JSON text, strictly (no YAML-isms, no trailing commas).
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw JSONSyntaxError(description: "\(error)")
        }
    }

    /// The value for `key` of an object; nil for a missing key and for anything not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    /// The text of a string value; nil for anything else.
    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// Compact JSON text, object keys sorted so that the same value always reads the same.
    public var jsonText: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// JSON text indented by two spaces per level, keys sorted: for files people read and diff.
    public var prettyJSONText: String {
        var text = ""
        writePretty(to: &text, indent: "")
        return text + "\n"
    }

    private func writePretty(to text: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let items) where !items.isEmpty:
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += inner
                item.writePretty(to: &text, indent: inner)
                text += index + 1 < items.count ? ",\n" : "\n"
            }
            text += indent + "]"
        case .object(let fields) where !fields.isEmpty:
            text += "{\n"
            for (index, key) in fields.keys.sorted().enumerated() {
                text += inner
                Self.writeString(key, to: &text)
                text += ": "
                fields[key]!.writePretty(to: &text, indent: inner)
                text += index + 1 < fields.count ? ",\n" : "\n"
            }
            text += indent + "}"
        default:
            write(to: &text)
        }
    }

    private func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 9.0e15 {
                text += String(Int64(value))
            } else if value.isFinite {
                text += "\(value)"
            } else {
                text += "null"
            }
        case .string(let value): Self.writeString(value, to: &text)
        case .array(let items):
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += "," }
                item.write(to: &text)
            }
            text += "]"
        case .object(let fields):
            text += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                Self.writeString(key, to: &text)
                text += ":"
                fields[key]!.write(to: &text)
            }
            text += "}"
        }
    }

    private static func writeString(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// The value as a YAML node with explicit tags, so that `ConfigReader` sees strings as
    /// strings and numbers as numbers, exactly as they were in the JSON.
    var yamlNode: Node {
        switch self {
        case .null:
            return .scalar(.init("null", Tag(.null)))
        case .bool(let value):
            return .scalar(.init(value ? "true" : "false", Tag(.bool)))
        case .number(let value):
            if value.rounded() == value, abs(value) < 9.0e15 {
                return .scalar(.init(String(Int64(value)), Tag(.int)))
            }
            return .scalar(.init("\(value)", Tag(.float)))
        case .string(let value):
            return .scalar(.init(value, Tag(.str), .doubleQuoted))
        case .array(let items):
            return .sequence(.init(items.map(\.yamlNode), Tag(.seq)))
        case .object(let fields):
            let pairs = fields.keys.sorted().map { key in
                (Node.scalar(.init(key, Tag(.str), .doubleQuoted)), fields[key]!.yamlNode)
            }
            return .mapping(.init(pairs, Tag(.map)))
        }
    }
}

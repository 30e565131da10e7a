import Foundation
import KonnectConfig

/// `application/x-www-form-urlencoded` bodies as Kong reads them: `key=value` pairs, where
/// `tags[]=a&tags[]=b` (or `tags[1]=b`) builds a list and `service.id=…` a nested object.
///
/// Forms carry only text, so a value that reads as an integer or as `true`/`false` is taken as
/// one (Kong converts form values by its schema; `port=80` must reach the port as a number). An
/// empty value means unset.
enum FormBody {
    static func decode(_ text: String) -> JSONValue {
        var root = JSONValue.object([:])
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decodeComponent(parts[0])
            let value = parts.count > 1 ? decodeComponent(parts[1]) : ""
            guard !key.isEmpty else { continue }
            root = inserting(typed(value), at: path(of: key)[...], into: root)
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

    private static func typed(_ value: String) -> JSONValue {
        if value.isEmpty { return .null }
        if value == "true" { return .bool(true) }
        if value == "false" { return .bool(false) }
        if let number = Int(value), String(number) == value { return .number(Double(number)) }
        return .string(value)
    }

    /// `a.b[]` → [a, b, append]; `a[2]` → [a, 2].
    private static func path(of key: String) -> [Step] {
        var steps: [Step] = []
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var indexes: [Step] = []
            while name.hasSuffix("]"), let open = name.lastIndex(of: "[") {
                let inside = name[name.index(after: open)..<name.index(before: name.endIndex)]
                indexes.insert(.index(inside.isEmpty ? nil : Int(inside)), at: 0)
                name = name[..<open]
            }
            steps.append(.key(String(name)))
            steps += indexes
        }
        return steps
    }

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
            let target = position.map { max(0, $0 - 1) } ?? items.count  // Kong's form indexes start at 1
            while items.count <= target { items.append(.null) }
            items[target] = inserting(value, at: rest, into: items[target])
            return .array(items)
        }
    }
}

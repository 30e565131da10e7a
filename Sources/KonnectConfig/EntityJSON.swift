/// Entities as Kong's Admin API shows them: every field present, `null` where unset, and
/// references as `{"id": …}`.
///
/// The same objects are what the store keeps, and reading one back with `EntityInput` gives the
/// entity again.
extension Entity {
    public func json(createdAt: Int, updatedAt: Int) -> JSONValue {
        var fields = value.jsonFields
        fields["id"] = .string(id)
        fields["created_at"] = .number(Double(createdAt))
        fields["updated_at"] = .number(Double(updatedAt))
        return .object(fields)
    }
}

/// Helpers for writing entity fields the way Kong shows them.
enum EntityField {
    static func text(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    static func number(_ value: Int) -> JSONValue {
        .number(Double(value))
    }

    /// A list, or `null` when empty (as Kong shows unset lists).
    static func list(_ values: [String]) -> JSONValue {
        values.isEmpty ? .null : .array(values.map(JSONValue.string))
    }

    static func reference(_ id: String?) -> JSONValue {
        id.map { .object(["id": .string($0)]) } ?? .null
    }
}

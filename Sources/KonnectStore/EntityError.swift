import KonnectConfig

/// Why a change to the configuration was refused, as Kong's Admin API reports it: an HTTP
/// status and a JSON body with Kong's error `code` and `name` where Kong has them.
public struct EntityError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var body: JSONValue

    public init(status: Int, body: JSONValue) {
        self.status = status
        self.body = body
    }

    public init(status: Int, message: String) {
        self.init(status: status, body: .object(["message": .string(message)]))
    }

    public var description: String {
        if case .string(let message)? = body["message"] { return "\(status) \(message)" }
        return "\(status)"
    }

    /// Kong's error codes (`kong.db.errors`).
    enum Code: Int {
        case schemaViolation = 2, primaryKeyViolation = 3, foreignKeyViolation = 4, uniqueViolation = 5,
             invalidOffset = 7, databaseError = 8, invalidSize = 9, operationUnsupported = 12
    }

    static func coded(_ status: Int, _ code: Code, name: String, message: String, fields: JSONValue? = nil) -> EntityError {
        var body: [String: JSONValue] = [
            "code": .number(Double(code.rawValue)), "name": .string(name), "message": .string(message),
        ]
        if let fields { body["fields"] = fields }
        return EntityError(status: status, body: .object(body))
    }

    /// 400 naming every bad field: `fields` holds each message where the field is, e.g.
    /// `{"host": "…", "paths": [null, "…"]}`; problems with the entity as a whole go under
    /// `@entity`.
    public static func schemaViolation(_ issues: [ConfigIssue]) -> EntityError {
        var fields = JSONValue.object([:])
        var summaries: [String] = []
        for issue in issues {
            var message = "expected \(issue.expected)"
            if let value = issue.value { message += ", got \(value)" }
            let components = pathComponents(issue.path)
            if components.isEmpty {
                var entity: [JSONValue] = []
                if case .array(let existing)? = fields["@entity"] { entity = existing }
                entity.append(.string(message))
                fields = fields.setting(["@entity"], to: .array(entity))
                summaries.append(message)
            } else {
                fields = fields.setting(components, to: .string(message))
                summaries.append("\(issue.path): \(message)")
            }
        }
        let message = summaries.count == 1
            ? "schema violation (\(summaries[0]))"
            : "\(summaries.count) schema violations (\(summaries.joined(separator: "; ")))"
        return coded(400, .schemaViolation, name: "schema violation", message: message, fields: fields)
    }

    /// A list's `size` outside 1...1000.
    public static func invalidSize() -> EntityError {
        coded(400, .invalidSize, name: "invalid size", message: "size must be an integer between 1 and 1000")
    }

    static func notFound() -> EntityError {
        EntityError(status: 404, message: "Not found")
    }

    static func uniqueViolation(field: String, value: String) -> EntityError {
        coded(409, .uniqueViolation, name: "unique constraint violation",
              message: "UNIQUE violation detected on '{\(field)=\"\(value)\"}'",
              fields: .object([field: .string(value)]))
    }

    static func primaryKeyViolation(id: String) -> EntityError {
        coded(400, .primaryKeyViolation, name: "primary key violation",
              message: "primary key violation on key '{id=\"\(id)\"}'", fields: .object(["id": .string(id)]))
    }

    static func missingReference(_ field: EntityReferenceField, key: EntityKey) -> EntityError {
        let keyName: String
        switch key {
        case .id: keyName = "id"
        case .name, .idOrName: keyName = field.kind.uniqueField ?? "id"
        }
        return coded(400, .foreignKeyViolation, name: "foreign key violation",
                     message: "the foreign key '{\(keyName)=\"\(key)\"}' does not reference an existing '\(field.kind.rawValue)' entity.",
                     fields: .object([field.rawValue: .object([keyName: .string(key.description)])]))
    }

    static func referencedBy(_ child: EntityKind, parent: EntityKind) -> EntityError {
        coded(400, .foreignKeyViolation, name: "foreign key violation",
              message: "an existing '\(child.rawValue)' entity references this '\(parent.rawValue)' entity",
              fields: .object(["@referenced_by": .string(child.rawValue)]))
    }

    static func readOnly(_ kind: EntityKind, verb: String) -> EntityError {
        coded(405, .operationUnsupported, name: "operation unsupported",
              message: "cannot \(verb) '\(kind.rawValue)' entities when not using a database")
    }

    static func storeFailed(_ error: any Error) -> EntityError {
        coded(500, .databaseError, name: "database error", message: "the change was not stored: \(error)")
    }

    /// `paths[1]` → ["paths", 1]; `service.id` → ["service", "id"]. An index no list in a body
    /// has (a field named `a[-1]` or `a[99999999]`) stays part of the key, so that placing the
    /// message neither traps nor pads a list with millions of nulls.
    static func pathComponents(_ path: String) -> [PathComponent] {
        var components: [PathComponent] = []
        var current = ""
        var index = path.startIndex
        while index < path.endIndex {
            let character = path[index]
            if character == "." {
                if !current.isEmpty { components.append(.key(current)) }
                current = ""
            } else if character == "[", let close = path[index...].firstIndex(of: "]"),
                      let position = Int(path[path.index(after: index)..<close]), (0...maximumIndex).contains(position) {
                if !current.isEmpty { components.append(.key(current)) }
                current = ""
                components.append(.index(position))
                index = close
            } else {
                current.append(character)
            }
            index = path.index(after: index)
        }
        if !current.isEmpty { components.append(.key(current)) }
        return components
    }

    static let maximumIndex = 100_000

    enum PathComponent {
        case key(String)
        case index(Int)
    }
}

extension JSONValue {
    /// A copy with `value` placed at `path`, creating objects and arrays (padded with nulls) on
    /// the way; a message already there is kept.
    fileprivate func setting(_ path: ArraySlice<EntityError.PathComponent>, to value: JSONValue) -> JSONValue {
        guard let first = path.first else {
            if case .string = self { return self }
            return value
        }
        switch first {
        case .key(let key):
            var fields: [String: JSONValue] = [:]
            if case .object(let existing) = self { fields = existing }
            fields[key] = (fields[key] ?? .null).setting(path.dropFirst(), to: value)
            return .object(fields)
        case .index(let position):
            var items: [JSONValue] = []
            if case .array(let existing) = self { items = existing }
            while items.count <= position { items.append(.null) }
            items[position] = items[position].setting(path.dropFirst(), to: value)
            return .array(items)
        }
    }

    fileprivate func setting(_ path: [EntityError.PathComponent], to value: JSONValue) -> JSONValue {
        setting(path[...], to: value)
    }

    fileprivate func setting(_ keys: [String], to value: JSONValue) -> JSONValue {
        setting(keys.map { EntityError.PathComponent.key($0) }, to: value)
    }
}

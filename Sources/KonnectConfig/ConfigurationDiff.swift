/// What changes between two configurations, entity by entity (matched by id).
public struct ConfigurationDiff: Sendable {
    /// One line per change: `create service orders (5f1c…)`, in declarative order.
    public private(set) var lines: [String] = []
    public private(set) var created = 0
    public private(set) var updated = 0
    public private(set) var deleted = 0

    public var isEmpty: Bool { created + updated + deleted == 0 }

    public init(from current: Configuration, to wanted: Configuration) {
        let before = Dictionary(current.entities.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(wanted.entities.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for entity in wanted.entities {
            if let old = before[entity.id] {
                if old != entity {
                    updated += 1
                    lines.append("update \(Self.describe(entity))")
                }
            } else {
                created += 1
                lines.append("create \(Self.describe(entity))")
            }
        }
        for entity in current.entities where after[entity.id] == nil {
            deleted += 1
            lines.append("delete \(Self.describe(entity))")
        }
    }

    private static func describe(_ entity: Entity) -> String {
        // A key-auth key is a secret; its id names it well enough.
        let name = entity.kind == .keyAuthCredentials ? "" : entity.uniqueName.map { " \($0)" } ?? ""
        return "\(entity.kind.noun)\(name) (\(entity.id))"
    }
}

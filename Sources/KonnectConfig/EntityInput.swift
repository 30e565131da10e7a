import Yams

/// How an entity names another it refers to, as written in an Admin API body.
public enum EntityKey: Sendable, Hashable, CustomStringConvertible {
    /// A bare string: an id when one matches, otherwise a name.
    case idOrName(String)
    case id(String)
    case name(String)

    public var description: String {
        switch self {
        case .idOrName(let text), .id(let text), .name(let text): text
        }
    }
}

/// One entity read from an Admin API body, alone, with the same rules as a declarative file.
///
/// Field problems come back as issues whose paths are relative to the entity (`host`,
/// `paths[1]`). References to other entities are returned as written, for the caller to resolve
/// against what is stored; the entity's own reference fields are left empty until then.
public struct EntityInput: Sendable {
    /// The entity read; its id is the given one or empty. Nil when `issues` is not empty.
    public var entity: Entity?
    public var issues: [ConfigIssue]
    /// Whether the body gave an id.
    public var hasGivenID: Bool
    public var references: [EntityReferenceField: EntityKey]

    /// Fields that only the store sets; a body may carry them (a PATCH of what a GET returned)
    /// and they are ignored.
    static let storeFields: Set<String> = ["created_at", "updated_at"]

    /// Reads an entity of `kind` from `object`, a JSON object as decoded from a request body.
    public static func read(_ kind: EntityKind, from object: JSONValue) -> EntityInput {
        guard case .object(var fields) = object else {
            return EntityInput(entity: nil, issues: [ConfigIssue(path: "", expected: "a JSON object")],
                               hasGivenID: false, references: [:])
        }
        for key in storeFields { fields[key] = nil }
        var issues: [ConfigIssue] = []
        // Nested entities belong to their own endpoints here (Kong refuses them too).
        for key in nestedCollections(of: kind) where fields[key] != nil {
            issues.append(ConfigIssue(path: key, expected: "no \(key) here: create them at their own endpoint"))
            fields[key] = nil
        }
        let reader = ConfigReader()
        let node = JSONValue.object(fields).yamlNode
        var references: [EntityReferenceField: Reference] = [:]
        var entity: Entity?
        switch kind {
        case .services:
            reader.readService(node, at: "", index: 0)
            entity = reader.services.first.map { .service($0.service) }
        case .routes:
            reader.readRoute(node, at: "", index: 0, service: nil)
            entity = reader.routes.first.map { .route($0.route) }
            references[.service] = reader.routes.first?.serviceReference
        case .upstreams:
            reader.readUpstream(node, at: "", index: 0)
            entity = reader.upstreams.first.map { .upstream($0.upstream) }
        case .targets:
            reader.readTarget(node, at: "", index: 0, upstream: nil)
            entity = reader.targets.first.map { .target($0.target) }
            references[.upstream] = reader.targets.first?.upstreamReference
        case .consumers:
            reader.readConsumer(node, at: "", index: 0)
            entity = reader.consumers.first.map { .consumer($0.consumer) }
        case .plugins:
            reader.readPlugin(node, at: "", index: 0, parent: nil)
            entity = reader.plugins.first.map { .plugin($0.plugin) }
            references[.service] = reader.plugins.first?.serviceReference
            references[.route] = reader.plugins.first?.routeReference
            references[.consumer] = reader.plugins.first?.consumerReference
        }
        issues += reader.issues
        let infos = reader.services.map(\.info) + reader.routes.map(\.info) + reader.upstreams.map(\.info)
            + reader.targets.map(\.info) + reader.consumers.map(\.info) + reader.plugins.map(\.info)
        let givenID = infos.first?.givenID?.value
        if let givenID, var read = entity {
            read.id = givenID
            entity = read
        }
        return EntityInput(
            entity: issues.isEmpty ? entity : nil,
            issues: issues,
            hasGivenID: givenID != nil,
            references: references.mapValues { reference in
                switch reference.key {
                case .idOrName(let text): .idOrName(text)
                case .id(let id): .id(id)
                case .name(let name): .name(name)
                }
            }
        )
    }

    private static func nestedCollections(of kind: EntityKind) -> [String] {
        switch kind {
        case .services: ["routes", "plugins"]
        case .routes: ["plugins"]
        case .upstreams: ["targets"]
        case .consumers: ["plugins"] + ConfigReader.credentialLists
        case .targets, .plugins: []
        }
    }
}

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

    /// The names a certificate body lists in `snis` (Kong's short form, which sets the
    /// certificate's SNIs), or nil when it has no `snis` field.
    public var sniNames: [String]?

    /// Reads an entity of `kind` from `object`, a JSON object as decoded from a request body.
    /// A key-auth key, or a JWT credential's key and secret, that the body leaves out is generated.
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
        let generated: [String] = switch kind {
        case .keyAuthCredentials: ["key"]
        case .jwtSecrets: ["key", "secret"]
        default: []
        }
        for key in generated where fields[key] == nil || fields[key] == .null {
            fields[key] = .string(randomKey())
        }
        let reader = ConfigReader()
        let node = JSONValue.object(fields).yamlNode
        var references: [EntityReferenceField: Reference] = [:]
        var entity: Entity?
        var info: DraftInfo?
        var sniNames: [String]?
        var givenMembershipID: Located<String>?
        switch kind {
        case .services:
            reader.readService(node, at: "", index: 0)
            entity = reader.services.first.map { .service($0.service) }
            info = reader.services.first?.info
            references[.clientCertificate] = reader.services.first?.clientCertificateReference
        case .routes:
            reader.readRoute(node, at: "", index: 0, service: nil)
            entity = reader.routes.first.map { .route($0.route) }
            info = reader.routes.first?.info
            references[.service] = reader.routes.first?.serviceReference
        case .upstreams:
            reader.readUpstream(node, at: "", index: 0)
            entity = reader.upstreams.first.map { .upstream($0.upstream) }
            info = reader.upstreams.first?.info
        case .targets:
            reader.readTarget(node, at: "", index: 0, upstream: nil)
            entity = reader.targets.first.map { .target($0.target) }
            info = reader.targets.first?.info
            references[.upstream] = reader.targets.first?.upstreamReference
        case .consumers:
            reader.readConsumer(node, at: "", index: 0)
            entity = reader.consumers.first.map { .consumer($0.consumer) }
            info = reader.consumers.first?.info
        case .plugins:
            reader.readPlugin(node, at: "", index: 0, parent: nil)
            entity = reader.plugins.first.map { .plugin($0.plugin) }
            info = reader.plugins.first?.info
            references[.service] = reader.plugins.first?.serviceReference
            references[.route] = reader.plugins.first?.routeReference
            references[.consumer] = reader.plugins.first?.consumerReference
            references[.consumerGroup] = reader.plugins.first?.consumerGroupReference
        case .consumerGroupConsumers:
            reader.readMembership(node, at: "", index: 0)
            let draft = reader.memberships.first
            entity = draft.map { _ in .consumerGroupMembership(ConsumerGroupMembership(id: "", groupID: "", consumerID: "")) }
            givenMembershipID = draft?.givenID
            references[.consumerGroup] = draft?.group
            references[.consumer] = draft?.consumer
        case .keyAuthCredentials, .basicAuthCredentials, .jwtSecrets, .acls, .certificates, .snis, .caCertificates,
             .aiModels, .consumerGroups:
            reader.readDraft(kind, node, at: "", index: 0, parent: nil)
            let draft = reader.drafts[kind]?.first
            entity = draft?.entity
            info = draft?.info
            if let field = kind.referenceFields.first { references[field] = draft?.parentReference }
            if kind == .certificates, fields["snis"] != nil, fields["snis"] != .null {
                sniNames = reader.drafts[.snis, default: []].map { draft in
                    if case .sni(let sni) = draft.entity { sni.name } else { "" }
                }
            }
        }
        issues += reader.issues
        let givenID = (info?.givenID ?? givenMembershipID)?.value
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
            },
            sniNames: sniNames
        )
    }

    /// 32 lower-case hex digits from the system's secure random source, as Kong generates keys.
    static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return NameBasedUUID.hex((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    private static func nestedCollections(of kind: EntityKind) -> [String] {
        switch kind {
        case .services: ["routes", "plugins"]
        case .routes: ["plugins"]
        case .upstreams: ["targets"]
        case .consumers: ["plugins", "groups"] + ConfigReader.credentialLists
        case .consumerGroups: ["plugins"]
        default: []
        }
    }
}

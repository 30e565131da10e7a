/// The kinds of entity a configuration holds, by their Kong collection (table) names, each
/// after the kinds its entities refer to (services may refer to certificates).
public enum EntityKind: String, Sendable, CaseIterable, Hashable {
    case certificates
    case caCertificates = "ca_certificates"
    case snis
    case services, routes, upstreams, targets, consumers
    case consumerGroups = "consumer_groups"
    case consumerGroupConsumers = "consumer_group_consumers"
    case plugins
    case keyAuthCredentials = "keyauth_credentials"
    case basicAuthCredentials = "basicauth_credentials"
    case jwtSecrets = "jwt_secrets"
    case acls
    case aiModels = "ai_models"

    /// "service", "route", … for messages.
    public var noun: String {
        switch self {
        case .services: "service"
        case .routes: "route"
        case .upstreams: "upstream"
        case .targets: "target"
        case .consumers: "consumer"
        case .consumerGroups: "consumer group"
        case .consumerGroupConsumers: "consumer group membership"
        case .plugins: "plugin"
        case .keyAuthCredentials: "key-auth credential"
        case .basicAuthCredentials: "basic-auth credential"
        case .jwtSecrets: "JWT credential"
        case .acls: "ACL group"
        case .certificates: "certificate"
        case .snis: "SNI"
        case .caCertificates: "CA certificate"
        case .aiModels: "AI model"
        }
    }

    /// The Admin API's top-level collection (`/key-auths` for key-auth credentials, as Kong
    /// names it; `/ai-models`, in the same style); the table name for the rest.
    public var adminPath: String {
        switch self {
        case .keyAuthCredentials: "key-auths"
        case .basicAuthCredentials: "basic-auths"
        case .jwtSecrets: "jwts"
        case .aiModels: "ai-models"
        default: rawValue
        }
    }

    /// The field that names an entity uniquely among its kind, when there is one (`name`,
    /// `username`, a key-auth `key`); Admin API paths accept it in place of the id.
    public var uniqueField: String? {
        switch self {
        case .services, .routes, .upstreams, .snis, .aiModels, .consumerGroups: "name"
        case .consumers, .basicAuthCredentials: "username"
        case .keyAuthCredentials, .jwtSecrets: "key"
        case .targets, .plugins, .acls, .certificates, .caCertificates, .consumerGroupConsumers: nil
        }
    }

    /// The fields through which entities of this kind refer to others (one column each in the store).
    public var referenceFields: [EntityReferenceField] {
        switch self {
        case .services: [.clientCertificate]
        case .routes: [.service]
        case .targets: [.upstream]
        case .plugins: [.service, .route, .consumer, .consumerGroup]
        case .keyAuthCredentials, .basicAuthCredentials, .jwtSecrets, .acls: [.consumer]
        case .consumerGroupConsumers: [.consumerGroup, .consumer]
        case .snis: [.certificate]
        case .upstreams, .consumers, .certificates, .caCertificates, .aiModels, .consumerGroups: []
        }
    }

    /// What happens to entities of this kind when the one they refer to through `field` is
    /// deleted, as in Kong: they go with it (a service's plugins, a consumer's credentials), or,
    /// for a route's service and a service's client certificate, the deletion is refused.
    public func goesWithParent(through field: EntityReferenceField) -> Bool {
        !(self == .routes && field == .service) && !(self == .services && field == .clientCertificate)
    }

    /// The references an entity of this kind cannot be without (a target's upstream, a
    /// credential's consumer, an SNI's certificate, a membership's group and consumer).
    public var requiredReferences: [EntityReferenceField] {
        switch self {
        case .targets: [.upstream]
        case .keyAuthCredentials, .basicAuthCredentials, .jwtSecrets, .acls: [.consumer]
        case .snis: [.certificate]
        case .consumerGroupConsumers: [.consumerGroup, .consumer]
        default: []
        }
    }

    /// The Swift type that holds entities of this kind.
    public var valueType: any EntityValue.Type {
        switch self {
        case .services: Service.self
        case .routes: Route.self
        case .upstreams: Upstream.self
        case .targets: Target.self
        case .consumers: Consumer.self
        case .consumerGroups: ConsumerGroup.self
        case .consumerGroupConsumers: ConsumerGroupMembership.self
        case .plugins: Plugin.self
        case .keyAuthCredentials: KeyAuthCredential.self
        case .basicAuthCredentials: BasicAuthCredential.self
        case .jwtSecrets: JWTSecret.self
        case .acls: ACLGroup.self
        case .certificates: TLSCertificate.self
        case .snis: SNI.self
        case .caCertificates: CACertificate.self
        case .aiModels: AIGatewayModel.self
        }
    }
}

/// What every entity type shares: an id, tags, its place in a `Configuration`, its references
/// and its Admin API fields.
public protocol EntityValue: Sendable, Hashable {
    static var kind: EntityKind { get }
    /// Where a configuration keeps the entities of this type.
    static var list: WritableKeyPath<Configuration, [Self]> { get }
    var id: String { get set }
    var tags: [String] { get }
    /// The value of the kind's unique field (`EntityKind.uniqueField`), when set.
    var uniqueName: String? { get }
    /// Ids of the entities this one refers to, by field.
    var references: [EntityReferenceField: String] { get }
    /// Sets every reference field from `ids`; a field missing from `ids` is cleared.
    mutating func setReferences(_ ids: [EntityReferenceField: String])
    /// Every field as the Admin API shows it, except id and times (`Entity.json`).
    var jsonFields: [String: JSONValue] { get }
    var entity: Entity { get }
}

extension EntityValue {
    public var uniqueName: String? { nil }
    public var references: [EntityReferenceField: String] { [:] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) {}
}

/// One entity of any kind.
public enum Entity: Sendable, Hashable {
    case service(Service)
    case route(Route)
    case upstream(Upstream)
    case target(Target)
    case consumer(Consumer)
    case consumerGroup(ConsumerGroup)
    case consumerGroupMembership(ConsumerGroupMembership)
    case plugin(Plugin)
    case keyAuthCredential(KeyAuthCredential)
    case basicAuthCredential(BasicAuthCredential)
    case jwtSecret(JWTSecret)
    case acl(ACLGroup)
    case certificate(TLSCertificate)
    case sni(SNI)
    case caCertificate(CACertificate)
    case aiModel(AIGatewayModel)

    /// The entity's value, for what every kind shares.
    public var value: any EntityValue {
        switch self {
        case .service(let value): value
        case .route(let value): value
        case .upstream(let value): value
        case .target(let value): value
        case .consumer(let value): value
        case .consumerGroup(let value): value
        case .consumerGroupMembership(let value): value
        case .plugin(let value): value
        case .keyAuthCredential(let value): value
        case .basicAuthCredential(let value): value
        case .jwtSecret(let value): value
        case .acl(let value): value
        case .certificate(let value): value
        case .sni(let value): value
        case .caCertificate(let value): value
        case .aiModel(let value): value
        }
    }

    public var kind: EntityKind { type(of: value).kind }

    public var id: String {
        get { value.id }
        set {
            var changed = value
            changed.id = newValue
            self = changed.entity
        }
    }

    /// The value of the kind's unique field (`EntityKind.uniqueField`), when set.
    public var uniqueName: String? { value.uniqueName }

    public var tags: [String] { value.tags }

    /// The entities this one refers to, by field: `service` of a route, `upstream` of a target,
    /// `service`/`route`/`consumer`/`consumer_group` of a plugin, `consumer` of a credential, `certificate` of an SNI.
    public var references: [EntityReferenceField: String] { value.references }

    /// The entity with its reference fields set from `ids` (a field missing from `ids` is cleared).
    public func settingReferences(_ ids: [EntityReferenceField: String]) -> Entity {
        var changed = value
        changed.setReferences(ids)
        return changed.entity
    }

    /// Values that must not repeat among entities of the kind, besides the id and the unique
    /// name: a consumer's `custom_id`, a consumer's ACL group, a CA certificate's digest, a
    /// plugin's name within its scope, a consumer's membership of a group. Each
    /// is the field to name in an error and the value compared.
    public var otherUniqueValues: [(field: String, value: String)] {
        switch self {
        case .consumer(let consumer): consumer.customID.map { [("custom_id", $0)] } ?? []
        case .acl(let acl): [("group", "\(acl.consumerID) \(acl.group)")]
        case .consumerGroupMembership(let membership): [("consumer", "\(membership.groupID) \(membership.consumerID)")]
        case .caCertificate(let ca): [("cert_digest", ca.certDigest)]
        // One plugin of a name per scope, as Kong's cache key makes it.
        case .plugin(let plugin): [("name", plugin.scopeKey)]
        default: []
        }
    }
}

/// A field through which one entity refers to another.
public enum EntityReferenceField: String, Sendable, Hashable, CaseIterable {
    case service, route, upstream, consumer, certificate
    case clientCertificate = "client_certificate"
    case consumerGroup = "consumer_group"

    /// The kind of entity the field refers to.
    public var kind: EntityKind {
        switch self {
        case .clientCertificate: .certificates
        case .service: .services
        case .route: .routes
        case .upstream: .upstreams
        case .consumer: .consumers
        case .certificate: .certificates
        case .consumerGroup: .consumerGroups
        }
    }
}

extension Configuration {
    /// Every entity, kind by kind in `EntityKind` order (parents first), each kind in its order.
    public var entities: [Entity] {
        EntityKind.allCases.flatMap { entities(of: $0) }
    }

    /// The entities of one kind, in order.
    public func entities(of kind: EntityKind) -> [Entity] {
        func all<Value: EntityValue>(_ type: Value.Type) -> [Entity] { self[keyPath: Value.list].map(\.entity) }
        return all(kind.valueType)
    }

    /// The ids of the entities of one kind, in order.
    public func ids(of kind: EntityKind) -> [String] {
        func ids<Value: EntityValue>(_ type: Value.Type) -> [String] { self[keyPath: Value.list].map(\.id) }
        return ids(kind.valueType)
    }

    /// How many entities of `kind` there are.
    public func count(of kind: EntityKind) -> Int {
        func count<Value: EntityValue>(_ type: Value.Type) -> Int { self[keyPath: Value.list].count }
        return count(kind.valueType)
    }

    /// The entity of `kind` at `position` in its list.
    public func entity(_ kind: EntityKind, at position: Int) -> Entity {
        func get<Value: EntityValue>(_ type: Value.Type) -> Entity { self[keyPath: Value.list][position].entity }
        return get(kind.valueType)
    }

    /// Puts `entity` at `position` in its list (replacing what is there), or at the end when
    /// `position` is nil; returns where it went.
    @discardableResult
    public mutating func put(_ entity: Entity, at position: Int? = nil) -> Int {
        func put<Value: EntityValue>(_ value: Value) -> Int {
            if let position {
                self[keyPath: Value.list][position] = value
                return position
            }
            self[keyPath: Value.list].append(value)
            return self[keyPath: Value.list].count - 1
        }
        return put(entity.value)
    }

    /// Removes the entity of `kind` at `position`, moving up those after it.
    public mutating func remove(_ kind: EntityKind, at position: Int) {
        func remove<Value: EntityValue>(_ type: Value.Type) { self[keyPath: Value.list].remove(at: position) }
        remove(kind.valueType)
    }

    /// A configuration holding `entities`, each kind in the order given.
    public init(entities: some Sequence<Entity>) {
        self.init()
        for entity in entities { put(entity) }
    }
}

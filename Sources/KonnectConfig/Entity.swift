/// The kinds of entity a configuration holds, by their Kong collection names.
public enum EntityKind: String, Sendable, CaseIterable, Hashable {
    case services, routes, upstreams, targets, consumers, plugins

    /// "service", "route", … for messages.
    public var noun: String {
        switch self {
        case .services: "service"
        case .routes: "route"
        case .upstreams: "upstream"
        case .targets: "target"
        case .consumers: "consumer"
        case .plugins: "plugin"
        }
    }

    /// The field that names an entity uniquely among its kind, when there is one (`name`,
    /// `username`); Admin API paths accept it in place of the id.
    public var uniqueField: String? {
        switch self {
        case .services, .routes, .upstreams: "name"
        case .consumers: "username"
        case .targets, .plugins: nil
        }
    }
}

/// One entity of any kind.
public enum Entity: Sendable, Hashable {
    case service(Service)
    case route(Route)
    case upstream(Upstream)
    case target(Target)
    case consumer(Consumer)
    case plugin(Plugin)

    public var kind: EntityKind {
        switch self {
        case .service: .services
        case .route: .routes
        case .upstream: .upstreams
        case .target: .targets
        case .consumer: .consumers
        case .plugin: .plugins
        }
    }

    public var id: String {
        get {
            switch self {
            case .service(let value): value.id
            case .route(let value): value.id
            case .upstream(let value): value.id
            case .target(let value): value.id
            case .consumer(let value): value.id
            case .plugin(let value): value.id
            }
        }
        set {
            switch self {
            case .service(var value): value.id = newValue; self = .service(value)
            case .route(var value): value.id = newValue; self = .route(value)
            case .upstream(var value): value.id = newValue; self = .upstream(value)
            case .target(var value): value.id = newValue; self = .target(value)
            case .consumer(var value): value.id = newValue; self = .consumer(value)
            case .plugin(var value): value.id = newValue; self = .plugin(value)
            }
        }
    }

    /// The value of the kind's unique field (`EntityKind.uniqueField`), when set.
    public var uniqueName: String? {
        switch self {
        case .service(let value): value.name
        case .route(let value): value.name
        case .upstream(let value): value.name
        case .consumer(let value): value.username
        case .target, .plugin: nil
        }
    }

    public var tags: [String] {
        switch self {
        case .service(let value): value.tags
        case .route(let value): value.tags
        case .upstream(let value): value.tags
        case .target(let value): value.tags
        case .consumer(let value): value.tags
        case .plugin(let value): value.tags
        }
    }

    /// The entities this one refers to, by field: `service` of a route, `upstream` of a target,
    /// `service`/`route`/`consumer` of a plugin.
    public var references: [EntityReferenceField: String] {
        var result: [EntityReferenceField: String] = [:]
        switch self {
        case .route(let value): result[.service] = value.serviceID
        case .target(let value): result[.upstream] = value.upstreamID
        case .plugin(let value):
            result[.service] = value.serviceID
            result[.route] = value.routeID
            result[.consumer] = value.consumerID
        case .service, .upstream, .consumer: break
        }
        return result
    }
}

/// A field through which one entity refers to another.
public enum EntityReferenceField: String, Sendable, Hashable, CaseIterable {
    case service, route, upstream, consumer

    /// The kind of entity the field refers to.
    public var kind: EntityKind {
        switch self {
        case .service: .services
        case .route: .routes
        case .upstream: .upstreams
        case .consumer: .consumers
        }
    }
}

extension Configuration {
    /// Every entity, services first, in the order a declarative file would list them.
    public var entities: [Entity] {
        services.map(Entity.service) + routes.map(Entity.route) + upstreams.map(Entity.upstream)
            + targets.map(Entity.target) + consumers.map(Entity.consumer) + plugins.map(Entity.plugin)
    }

    /// A configuration holding `entities`, each kind in the order given.
    public init(entities: some Sequence<Entity>) {
        self.init()
        for entity in entities {
            switch entity {
            case .service(let value): services.append(value)
            case .route(let value): routes.append(value)
            case .upstream(let value): upstreams.append(value)
            case .target(let value): targets.append(value)
            case .consumer(let value): consumers.append(value)
            case .plugin(let value): plugins.append(value)
            }
        }
    }
}

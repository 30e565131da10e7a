/// The entities of a Konnect configuration, in Kong's 3.x data model.
///
/// Every entity carries a stable `id`: taken from the file when given, otherwise derived
/// from the entity's kind and name (or its position under its parent), so that reloading
/// the same file yields the same ids. References between entities are by id after loading.

/// A backend that routes send traffic to.
public struct Service: Sendable, Hashable {
    public var id: String
    public var name: String?
    /// `http` or `https` (`grpc`, `grpcs`, `tcp`, `tls` parse but are proxied in later work).
    public var `protocol`: String
    /// A host name, an IP address, or the name of an `Upstream`.
    public var host: String
    public var port: Int
    /// Path prefix prepended to the upstream request path; `nil` when unset.
    public var path: String?
    public var retries: Int
    /// Milliseconds.
    public var connectTimeout: Int
    public var writeTimeout: Int
    public var readTimeout: Int
    public var enabled: Bool
    public var tags: [String]
    /// The certificate presented to the upstream when it asks for one (https services).
    public var clientCertificateID: String?
    /// Whether the upstream's certificate is verified; nil leaves it to the node's default.
    public var tlsVerify: Bool?
    public var tlsVerifyDepth: Int?
    /// CA certificates the upstream's certificate is verified against.
    public var caCertificateIDs: [String] = []

    public init(
        id: String, name: String? = nil, protocol: String = "http", host: String, port: Int = 80,
        path: String? = nil, retries: Int = 5, connectTimeout: Int = 60_000,
        writeTimeout: Int = 60_000, readTimeout: Int = 60_000, enabled: Bool = true, tags: [String] = []
    ) {
        self.id = id
        self.name = name
        self.protocol = `protocol`
        self.host = host
        self.port = port
        self.path = path
        self.retries = retries
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
        self.readTimeout = readTimeout
        self.enabled = enabled
        self.tags = tags
    }
}

/// How a route's path is joined with its service's path (Kong's `path_handling`).
public enum PathHandling: String, Sendable, Hashable {
    case v0, v1
}

/// Rules that select requests and the service they go to.
public struct Route: Sendable, Hashable {
    public var id: String
    public var name: String?
    /// Prefixes, or regexes when starting with `~`.
    public var paths: [String]
    /// Host names, optionally with a leading or trailing `*` and an optional `:port`.
    public var hosts: [String]
    /// Upper-case method names.
    public var methods: [String]
    /// Header name (lower-cased) to accepted values; a value starting with `~*` is a regex.
    public var headers: [String: [String]]
    public var protocols: [String]
    public var stripPath: Bool
    public var preserveHost: Bool
    public var regexPriority: Int
    public var pathHandling: PathHandling
    /// The id of the service, or `nil` for a route without one.
    public var serviceID: String?
    public var httpsRedirectStatusCode: Int
    public var tags: [String]

    public init(
        id: String, name: String? = nil, paths: [String] = [], hosts: [String] = [],
        methods: [String] = [], headers: [String: [String]] = [:], protocols: [String] = ["http", "https"],
        stripPath: Bool = true, preserveHost: Bool = false, regexPriority: Int = 0,
        pathHandling: PathHandling = .v0, serviceID: String? = nil, httpsRedirectStatusCode: Int = 426,
        tags: [String] = []
    ) {
        self.id = id
        self.name = name
        self.paths = paths
        self.hosts = hosts
        self.methods = methods
        self.headers = headers
        self.protocols = protocols
        self.stripPath = stripPath
        self.preserveHost = preserveHost
        self.regexPriority = regexPriority
        self.pathHandling = pathHandling
        self.serviceID = serviceID
        self.httpsRedirectStatusCode = httpsRedirectStatusCode
        self.tags = tags
    }
}

/// Load-balancing algorithm of an upstream (Kong's `algorithm`).
public enum BalancerAlgorithm: String, Sendable, Hashable {
    case roundRobin = "round-robin"
    case leastConnections = "least-connections"
    case consistentHashing = "consistent-hashing"
    case latency
}

/// What a consistent-hashing upstream hashes on (Kong's `hash_on` / `hash_fallback`).
public enum HashOn: Sendable, Hashable {
    case none
    case consumer
    case ip
    case header(String)
    case cookie(name: String, path: String)
    case path
    case queryArg(String)
    case uriCapture(String)
}

/// A virtual host name that balances across targets.
public struct Upstream: Sendable, Hashable {
    public var id: String
    public var name: String
    public var algorithm: BalancerAlgorithm
    public var hashOn: HashOn
    public var hashFallback: HashOn
    public var slots: Int
    public var tags: [String]

    public init(
        id: String, name: String, algorithm: BalancerAlgorithm = .roundRobin, hashOn: HashOn = .none,
        hashFallback: HashOn = .none, slots: Int = 10_000, tags: [String] = []
    ) {
        self.id = id
        self.name = name
        self.algorithm = algorithm
        self.hashOn = hashOn
        self.hashFallback = hashFallback
        self.slots = slots
        self.tags = tags
    }
}

/// One backend address of an upstream.
public struct Target: Sendable, Hashable {
    public var id: String
    public var upstreamID: String
    public var host: String
    public var port: Int
    /// 0 disables the target.
    public var weight: Int
    public var tags: [String]

    public init(id: String, upstreamID: String, host: String, port: Int = 8000, weight: Int = 100, tags: [String] = []) {
        self.id = id
        self.upstreamID = upstreamID
        self.host = host
        self.port = port
        self.weight = weight
        self.tags = tags
    }
}

/// A user of the proxied services, identified by the authentication plugins through its credentials.
public struct Consumer: Sendable, Hashable {
    public var id: String
    public var username: String?
    public var customID: String?
    public var tags: [String]

    public init(id: String, username: String? = nil, customID: String? = nil, tags: [String] = []) {
        self.id = id
        self.username = username
        self.customID = customID
        self.tags = tags
    }
}

/// A plugin instance, global or scoped to a service, route and/or consumer.
public struct Plugin: Sendable, Hashable {
    public var id: String
    public var name: String
    public var config: JSONValue
    public var enabled: Bool
    public var serviceID: String?
    public var routeID: String?
    public var consumerID: String?
    /// The consumer group the plugin applies to (its consumers' requests), when it is scoped to one.
    public var consumerGroupID: String?
    public var protocols: [String]
    public var tags: [String]

    public init(
        id: String, name: String, config: JSONValue = .object([:]), enabled: Bool = true,
        serviceID: String? = nil, routeID: String? = nil, consumerID: String? = nil, consumerGroupID: String? = nil,
        protocols: [String] = ["grpc", "grpcs", "http", "https"], tags: [String] = []
    ) {
        self.id = id
        self.name = name
        self.config = config
        self.enabled = enabled
        self.serviceID = serviceID
        self.routeID = routeID
        self.consumerID = consumerID
        self.consumerGroupID = consumerGroupID
        self.protocols = protocols
        self.tags = tags
    }
}

/// A JSON-shaped value, used for plugin configuration until each plugin gets its own schema.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

/// A complete, validated configuration: what one snapshot of the data plane is built from.
public struct Configuration: Sendable, Hashable {
    public var formatVersion: String
    public var services: [Service]
    public var routes: [Route]
    public var upstreams: [Upstream]
    public var targets: [Target]
    public var consumers: [Consumer]
    public var plugins: [Plugin]
    public var keyAuthCredentials: [KeyAuthCredential] = []
    public var basicAuthCredentials: [BasicAuthCredential] = []
    public var jwtSecrets: [JWTSecret] = []
    public var acls: [ACLGroup] = []
    public var certificates: [TLSCertificate] = []
    public var snis: [SNI] = []
    public var caCertificates: [CACertificate] = []
    public var aiModels: [AIGatewayModel] = []
    public var consumerGroups: [ConsumerGroup] = []
    public var consumerGroupConsumers: [ConsumerGroupMembership] = []

    public init(
        formatVersion: String = "3.0", services: [Service] = [], routes: [Route] = [],
        upstreams: [Upstream] = [], targets: [Target] = [], consumers: [Consumer] = [], plugins: [Plugin] = []
    ) {
        self.formatVersion = formatVersion
        self.services = services
        self.routes = routes
        self.upstreams = upstreams
        self.targets = targets
        self.consumers = consumers
        self.plugins = plugins
    }

    /// The configuration with nothing in it: every request gets the no-route 404.
    public static let empty = Configuration()
}

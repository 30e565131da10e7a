/// What every entity read from a file carries until ids and references are settled.
struct DraftInfo {
    /// The entity's own path, e.g. `services[0].routes[1]`.
    var path: String
    var location: TextLocation
    var givenID: Located<String>?
    /// The name that must be unique among entities of the same kind, when there is one.
    var name: Located<String>?
    /// Position in the list that holds it (the top-level list, or its parent's nested list).
    var index: Int

    init(_ fields: Fields, index: Int, givenID: Located<String>?, name: Located<String>?) {
        self.path = fields.path
        self.location = fields.location
        self.givenID = givenID
        self.name = name
        self.index = index
    }
}

struct ServiceDraft {
    var service: Service
    var info: DraftInfo
    var clientCertificateReference: Reference?
    /// The ids in `ca_certificates`, where they were written.
    var caCertificates: [Located<String>] = []
}

struct RouteDraft {
    var route: Route
    var info: DraftInfo
    var serviceReference: Reference?
    /// Index into the service drafts when the route is nested under a service.
    var parentService: Int?
}

struct UpstreamDraft {
    var upstream: Upstream
    var info: DraftInfo
}

struct TargetDraft {
    var target: Target
    var info: DraftInfo
    /// The target written as `host:port`, with the default port filled in.
    var address: Located<String>?
    var upstreamReference: Reference?
    /// Index into the upstream drafts when the target is nested under an upstream.
    var parentUpstream: Int?
}

struct ConsumerDraft {
    var consumer: Consumer
    var info: DraftInfo
    var username: Located<String>?
    var customID: Located<String>?
}

/// The entity a plugin is nested under, which scopes it.
enum PluginParent {
    case service(Int)
    case route(Int)
    case consumer(Int)
    case consumerGroup(Int)
}

struct PluginDraft {
    var plugin: Plugin
    var info: DraftInfo
    var instanceName: Located<String>?
    var serviceReference: Reference?
    var routeReference: Reference?
    var consumerReference: Reference?
    var consumerGroupReference: Reference?
    var parent: PluginParent?
}

import KonnectConfig
import KonnectHTTP1
import NIOCore
import Synchronization

/// A configuration's plugins, built once per snapshot: one plugin object per enabled plugin
/// entity, and the chain of plugins for each route.
public final class PluginSet: Sendable {
    private let scopes: PluginScopes
    private let instances: [String: any ProxyPlugin]
    /// Global plugins that take part in the rewrite phase (before a route is matched).
    public let rewrite: [any ProxyPlugin]
    /// Plugins whose configuration cannot be used (each refuses its requests with 500), with why.
    public let problems: [String]

    /// `custom` builds plugins compiled into an embedding program; it is asked first, and a nil
    /// answer leaves the plugin to Konnect's own.
    public init(_ configuration: Configuration, custom: CustomPlugins? = nil) {
        scopes = PluginScopes(plugins: configuration.plugins)
        let credentials = CredentialIndex(configuration)
        var instances: [String: any ProxyPlugin] = [:]
        for plugin in configuration.plugins where plugin.enabled {
            instances[plugin.id] = custom?(plugin)
                ?? ProxyPlugins.make(plugin, configuration: configuration, credentials: credentials)
        }
        self.instances = instances
        rewrite = scopes.applicable(route: nil, service: nil, consumer: nil)
            .compactMap { instances[$0.id] }.filter { $0.phases.contains(.rewrite) }
        problems = instances.values.compactMap { $0 as? MisconfiguredPlugin }.sorted { $0.pluginID < $1.pluginID }
            .map { "\($0.name) plugin \($0.pluginID): \($0.problem); requests it applies to are refused with 500" }
    }

    /// The chain for requests on `route` of `service`, before any consumer is known.
    public func chain(route: String, service: String?) -> PluginChain {
        PluginChain(plugins: plugins(route: route, service: service, consumer: nil), route: route, service: service,
                    consumerScoped: scopes.hasConsumerScopes ? self : nil)
    }

    /// What of an identified consumer decides its plugins: the consumer, if some plugin names it,
    /// and those of its groups some plugin names.
    func scopesNamed(by identity: Identity) -> (consumer: String?, groups: [String]) {
        let consumer = identity.consumer.id
        let groups = identity.consumerGroupIDs
        let withPlugins = scopes.groupsWithPlugins
        let named = { (group: String) in withPlugins.contains(group) }
        // The identity's own list when every group in it is named (no array made per request).
        return (scopes.consumersWithPlugins.contains(consumer) ? consumer : nil,
                groups.allSatisfy(named) ? groups : groups.filter(named))
    }

    func plugins(route: String, service: String?, consumer: String?, groups: [String] = []) -> [any ProxyPlugin] {
        scopes.applicable(route: route, service: service, consumer: consumer, groups: groups).compactMap { instances[$0.id] }
    }
}

/// Builds the plugins an embedding program adds to Konnect's, from their plugin entities.
public typealias CustomPlugins = @Sendable (Plugin) -> (any ProxyPlugin)?

/// The plugins of one route, in the order they run. Immutable and shared by the route's requests.
public final class PluginChain: Sendable {
    let plugins: [any ProxyPlugin]
    public let route: String
    public let service: String?
    /// `route:service` (the service part empty when there is none), and its hash: made once, for
    /// plugins that keep state per route.
    public let scope: String
    public let scopeHash: Int
    /// Where to look for plugins configured for the consumer a plugin identifies (or for its
    /// groups); nil when no plugin is configured for any consumer or group.
    let consumerScoped: PluginSet?
    /// The phases any of the plugins takes part in.
    let phases: PluginPhases
    /// The plugins, when all of them only read the request (`ReadOnlyAccess`); nil otherwise.
    private let readOnly: [any ReadOnlyAccess]?
    /// The plugins that follow an identifying plugin, by what decides them (the consumer if a
    /// plugin names it, its groups that a plugin names): worked out once, not per request
    /// (`advance`). As many as such scopes in the configuration; emptied if ever too many.
    private let laterPlugins = Mutex<[LaterKey: LaterPlugins]>([:])
    static let laterPluginsLimit = 16_384

    private struct LaterKey: Hashable {
        var consumer: String?
        var groups: [String]
        /// The plugin that identified the consumer: only plugins that run after it are added.
        var identifiedBy: String
    }

    private struct LaterPlugins {
        var plugins: [any ProxyPlugin]
        var phases: PluginPhases
        /// The whole list when the identifying plugin is in the chain's own list: the chain's
        /// plugins up to it, then `plugins`.
        var whole: [any ProxyPlugin]
        var wholePhases: PluginPhases

        /// Kong's precedence for the consumer and its groups, keeping the plugins that run after
        /// the one that identified the consumer.
        init(_ set: PluginSet, _ key: LaterKey, chain: PluginChain) {
            plugins = set.plugins(route: chain.route, service: chain.service, consumer: key.consumer, groups: key.groups)
                .filter { PluginPriority.runsBefore(key.identifiedBy, $0.name) }
            phases = PluginChain.phases(of: plugins)
            let own = chain.plugins.firstIndex { $0.name == key.identifiedBy }.map { chain.plugins[...$0] } ?? []
            whole = Array(own) + plugins
            wholePhases = PluginChain.phases(of: whole)
        }
    }

    init(plugins: [any ProxyPlugin], route: String, service: String?, consumerScoped: PluginSet?) {
        self.plugins = plugins
        self.route = route
        self.service = service
        scope = Self.scope(route: route, service: service)
        scopeHash = scope.hashValue
        self.consumerScoped = consumerScoped
        phases = Self.phases(of: plugins)
        let readOnly = plugins.compactMap { $0 as? any ReadOnlyAccess }
        // Never for an empty chain: the handler reads `readsOnly` as "there are plugins to run".
        self.readOnly = !plugins.isEmpty && readOnly.count == plugins.count && readOnly.allSatisfy { $0.readsOnly }
            ? readOnly : nil
    }

    public var isEmpty: Bool { plugins.isEmpty }

    /// Whether the access phase can run without a context: every plugin only reads the request.
    public var readsOnly: Bool { readOnly != nil }

    /// The access phase of a chain that `readsOnly`: `.proceed`, or the first plugin's answer.
    public func access(_ head: HTTP1Head, path: String, clientIP: String, memory: inout ConnectionMemory,
                       responseLines: inout ByteBuffer) -> AccessResult {
        for plugin in readOnly ?? [] {
            switch plugin.access(head, path: path, clientIP: clientIP, chain: self, memory: &memory,
                                  responseLines: &responseLines) {
            case .proceed: continue
            case .wait, .readBody:
                return .respond(status: 500, message: "An unexpected error occurred (\(plugin.name) cannot wait without a context)")
            case let answer: return answer
            }
        }
        return .proceed
    }

    public static func phases(of plugins: some Sequence<any ProxyPlugin>) -> PluginPhases {
        plugins.reduce(into: PluginPhases()) { $0.formUnion($1.phases) }
    }

    /// What `scope` is for a route and service.
    public static func scope(route: String?, service: String?) -> String {
        "\(route ?? ""):\(service ?? "")"
    }

    /// Runs the access phase. When a plugin identifies a consumer, the plugins after it are those
    /// that apply to that consumer (Kong's precedence), so consumer-scoped plugins take part.
    /// The plugins that applied are left in `context.plugins` for the later phases. On `.wait`,
    /// call `resume` with the plugin's decision once it is complete; on `.readBody`, call
    /// `resumeWithBody` once `context.requestBody` is set.
    public func access(_ context: PluginContext) -> AccessResult {
        context.chain = self
        context.plugins = plugins
        context.phases = phases
        context.position = 0
        return run(context)
    }

    /// Carries on after the plugin that asked to wait has decided.
    public func resume(_ context: PluginContext, with result: AccessResult) -> AccessResult {
        guard case .proceed = result else { return refused(context, result) }
        advance(context)
        return run(context)
    }

    /// Runs the plugin that asked for the request body again, now that it is in the context.
    public func resumeWithBody(_ context: PluginContext) -> AccessResult {
        run(context)
    }

    private func run(_ context: PluginContext) -> AccessResult {
        // Read from the context each time (no copy of the list to keep): `advance` may change it.
        while context.position < context.plugins.count {
            if consumerScoped != nil { context.identityBefore = context.identity.map(ObjectIdentifier.init) }
            let plugin = context.plugins[context.position]
            if plugin.phases.contains(.access) {
                let result = plugin.access(context)
                switch result {
                case .proceed: break
                case .wait, .readBody: return result
                default: return refused(context, result)
                }
            }
            advance(context)
        }
        return .proceed
    }

    /// Moves past the plugin at `context.position`, taking in the plugins of a consumer it
    /// identified.
    private func advance(_ context: PluginContext) {
        defer { context.position += 1 }
        guard let consumerScoped, let identity = context.identity,
              ObjectIdentifier(identity) != context.identityBefore else { return }
        // Usually the list is still the chain's own (the same storage).
        let chainsOwn = context.plugins.withUnsafeBufferPointer({ $0.baseAddress }) == plugins.withUnsafeBufferPointer({ $0.baseAddress })
        let (consumer, groups) = consumerScoped.scopesNamed(by: identity)
        // No plugin names the consumer or its groups: the chain's plugins are its plugins.
        if chainsOwn, consumer == nil, groups.isEmpty { return }
        let key = LaterKey(consumer: consumer, groups: groups, identifiedBy: context.plugins[context.position].name)
        let later = laterPlugins.withLock { $0[key] } ?? {
            let made = LaterPlugins(consumerScoped, key, chain: self)
            laterPlugins.withLock { cache in
                if cache.count >= Self.laterPluginsLimit { cache.removeAll() }
                cache[key] = made
            }
            return made
        }()
        // From the chain's own list the whole new list is ready made; after an earlier consumer's
        // plugins were taken in (an anonymous one's), it is built here.
        if chainsOwn {
            context.plugins = later.whole
            context.phases = later.wholePhases
        } else {
            context.plugins = Array(context.plugins[...context.position]) + later.plugins
            context.phases = Self.phases(of: context.plugins[...context.position]).union(later.phases)
        }
    }

    /// A refusal: the later phases run only the plugins that ran.
    private func refused(_ context: PluginContext, _ result: AccessResult) -> AccessResult {
        context.plugins = Array(context.plugins[...min(context.position, context.plugins.count - 1)])
        return result
    }
}

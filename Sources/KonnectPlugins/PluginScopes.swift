import KonnectConfig

/// Which plugin instances apply to a request, from where each is configured.
///
/// A plugin may be configured several times for different scopes (global, a service, a route, a
/// consumer, or combinations of them). For a request, each plugin name applies once: the enabled
/// instance of the most specific scope that matches, in Kong's order of precedence
/// (`Scope.precedence`). Disabled instances are not considered, so a disabled route-level
/// instance does not hide a global one, as in Kong.
public struct PluginScopes: Sendable {
    /// The scope an instance is configured for: which of route, service and consumer it names.
    public struct Scope: Hashable, Sendable {
        public var route: Bool
        public var service: Bool
        public var consumer: Bool

        /// Kong's precedence, most specific first (consumer groups aside).
        public static let precedence: [Scope] = [
            Scope(route: true, service: true, consumer: true),
            Scope(route: true, service: false, consumer: true),
            Scope(route: false, service: true, consumer: true),
            Scope(route: true, service: true, consumer: false),
            Scope(route: false, service: false, consumer: true),
            Scope(route: true, service: false, consumer: false),
            Scope(route: false, service: true, consumer: false),
            Scope(route: false, service: false, consumer: false),
        ]
    }

    /// Instances by the key of the scope they are configured for.
    private let instances: [Key: [Plugin]]
    /// Whether any instance names a consumer (when none does, the answer before authentication
    /// is the final one).
    public let hasConsumerScopes: Bool

    private struct Key: Hashable {
        var route: String?
        var service: String?
        var consumer: String?
    }

    public init(plugins: [Plugin]) {
        var instances: [Key: [Plugin]] = [:]
        for plugin in plugins where plugin.enabled {
            instances[Key(route: plugin.routeID, service: plugin.serviceID, consumer: plugin.consumerID), default: []].append(plugin)
        }
        self.instances = instances
        hasConsumerScopes = plugins.contains { $0.enabled && $0.consumerID != nil }
    }

    /// The instances that apply to a request on `route` of `service` from `consumer` (any may
    /// be nil), one per plugin name, in the order they run (`PluginPriority`).
    public func applicable(route: String?, service: String?, consumer: String?) -> [Plugin] {
        var chosen: [String: Plugin] = [:]
        for scope in Scope.precedence {
            if scope.route && route == nil || scope.service && service == nil || scope.consumer && consumer == nil {
                continue
            }
            let key = Key(route: scope.route ? route : nil, service: scope.service ? service : nil,
                          consumer: scope.consumer ? consumer : nil)
            for plugin in instances[key] ?? [] where chosen[plugin.name] == nil {
                chosen[plugin.name] = plugin
            }
        }
        return chosen.values.sorted { PluginPriority.runsBefore($0.name, $1.name) }
    }
}

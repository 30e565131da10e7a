import KonnectConfig

/// Which plugin instances apply to a request, from where each is configured.
///
/// A plugin may be configured several times for different scopes (global, a service, a route, a
/// consumer or a consumer group, or combinations of them). For a request, each plugin name
/// applies once: the enabled instance of the most specific scope that matches, in Kong's order
/// of precedence (`Scope.precedence`). Disabled instances are not considered, so a disabled
/// route-level instance does not hide a global one, as in Kong.
public struct PluginScopes: Sendable {
    /// The scope an instance is configured for: which of route, service, consumer and consumer
    /// group it names (never both of the last two).
    public struct Scope: Hashable, Sendable {
        public var route: Bool
        public var service: Bool
        public var consumer: Bool
        public var group: Bool

        init(route: Bool = false, service: Bool = false, consumer: Bool = false, group: Bool = false) {
            self.route = route
            self.service = service
            self.consumer = consumer
            self.group = group
        }

        /// Kong's precedence, most specific first: a consumer and a route beat a group and a
        /// route, which beat a route alone; a consumer or a group alone comes after route and
        /// service together.
        public static let precedence: [Scope] = [
            Scope(route: true, service: true, consumer: true),
            Scope(route: true, service: true, group: true),
            Scope(route: true, consumer: true),
            Scope(service: true, consumer: true),
            Scope(route: true, group: true),
            Scope(service: true, group: true),
            Scope(route: true, service: true),
            Scope(consumer: true),
            Scope(group: true),
            Scope(route: true),
            Scope(service: true),
            Scope(),
        ]
    }

    /// Instances by the key of the scope they are configured for.
    private let instances: [Key: [Plugin]]
    /// Whether any instance names a consumer or a consumer group (when none does, the answer
    /// before authentication is the final one).
    public let hasConsumerScopes: Bool
    /// The consumers and the consumer groups some instance names: for anyone else the answer
    /// is the same as for nobody.
    let consumersWithPlugins: Set<String>
    let groupsWithPlugins: Set<String>

    private struct Key: Hashable {
        var route: String?
        var service: String?
        var consumer: String?
        var group: String?
    }

    public init(plugins: [Plugin]) {
        var instances: [Key: [Plugin]] = [:]
        for plugin in plugins where plugin.enabled {
            let key = Key(route: plugin.routeID, service: plugin.serviceID, consumer: plugin.consumerID, group: plugin.consumerGroupID)
            instances[key, default: []].append(plugin)
        }
        self.instances = instances
        consumersWithPlugins = Set(plugins.filter(\.enabled).compactMap(\.consumerID))
        groupsWithPlugins = Set(plugins.filter(\.enabled).compactMap(\.consumerGroupID))
        hasConsumerScopes = !consumersWithPlugins.isEmpty || !groupsWithPlugins.isEmpty
    }

    /// The instances that apply to a request on `route` of `service` from `consumer` (any may
    /// be nil), a member of `groups` (ids, in the order of the groups' names), one per plugin
    /// name, in the order they run (`PluginPriority`). Of a consumer's groups, the first by name
    /// that has an instance of a plugin at a level gives it.
    public func applicable(route: String?, service: String?, consumer: String?, groups: [String] = []) -> [Plugin] {
        var chosen: [String: Plugin] = [:]
        for scope in Scope.precedence {
            if scope.route && route == nil || scope.service && service == nil || scope.consumer && consumer == nil
                || scope.group && groups.isEmpty {
                continue
            }
            var key = Key(route: scope.route ? route : nil, service: scope.service ? service : nil,
                          consumer: scope.consumer ? consumer : nil)
            func choose() {
                for plugin in instances[key] ?? [] where chosen[plugin.name] == nil {
                    chosen[plugin.name] = plugin
                }
            }
            guard scope.group else {
                choose()
                continue
            }
            for group in groups {
                key.group = group
                choose()
            }
        }
        return chosen.values.sorted { PluginPriority.runsBefore($0.name, $1.name) }
    }
}

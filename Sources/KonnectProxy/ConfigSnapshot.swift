import KonnectConfig
import KonnectPlugins
import KonnectRouter
import NIOCore

/// Everything a request needs from the configuration, compiled once and never changed.
///
/// A new configuration builds a new snapshot off the event loops; the loops then swap it in.
/// Requests keep the snapshot they started with until they finish.
public final class ConfigSnapshot: Sendable {
    public let version: Int
    public let configuration: Configuration
    let router: Router
    /// Balancing plan for each selectable route, by `RouteTarget.index` (nil without a service).
    private let plansByRoute: [UpstreamPlan?]
    /// The configuration's plugins, and the chain of each route by `RouteTarget.index`.
    let plugins: PluginSet
    private let chainsByRoute: [PluginChain]
    /// Plugins whose configuration cannot be used (each refuses its requests with 500), with why.
    public var pluginProblems: [String] { plugins.problems }

    /// Compiles `configuration` for a data plane with `loopCount` event loops.
    public init(configuration: Configuration, version: Int, loopCount: Int, customPlugins: CustomPlugins? = nil) {
        self.version = version
        self.configuration = configuration
        self.router = Router(configuration: configuration)

        var upstreamsByName: [String: Upstream] = [:]
        for upstream in configuration.upstreams { upstreamsByName[upstream.name.lowercased()] = upstream }
        var targetsByUpstream: [String: [Target]] = [:]
        for target in configuration.targets { targetsByUpstream[target.upstreamID, default: []].append(target) }

        var upstreamPlans: [String: UpstreamPlan] = [:]
        var plans: [String: UpstreamPlan] = [:]
        for service in configuration.services where service.enabled {
            let defaultPort = service.protocol == "https" || service.protocol == "grpcs" ? 443 : 80
            if let upstream = upstreamsByName[service.host.lowercased()] {
                if let plan = upstreamPlans[upstream.id] {
                    plans[service.id] = plan
                    continue
                }
                let targets = (targetsByUpstream[upstream.id] ?? [])
                    .filter { $0.weight > 0 }
                    .map { TargetAddress(host: $0.host, port: $0.port, weight: $0.weight, defaultPort: defaultPort) }
                let plan = UpstreamPlan(
                    name: upstream.name, algorithm: upstream.algorithm, hashOn: upstream.hashOn,
                    hashFallback: upstream.hashFallback, targets: targets, slots: upstream.slots, loopCount: loopCount)
                upstreamPlans[upstream.id] = plan
                plans[service.id] = plan
            } else {
                let target = TargetAddress(host: service.host, port: service.port, weight: 100, defaultPort: defaultPort)
                plans[service.id] = UpstreamPlan(
                    name: service.host, algorithm: .roundRobin, hashOn: .none, hashFallback: .none,
                    targets: [target], slots: 0, loopCount: loopCount)
            }
        }
        self.plansByRoute = router.targets.map { target in target.service.flatMap { plans[$0.id] } }

        plugins = PluginSet(configuration, custom: customPlugins)
        chainsByRoute = router.targets.map { [plugins] target in plugins.chain(route: target.route.id, service: target.service?.id) }
    }

    func plan(forRoute index: Int) -> UpstreamPlan? { plansByRoute[index] }

    func plugins(forRoute index: Int) -> PluginChain { chainsByRoute[index] }
}

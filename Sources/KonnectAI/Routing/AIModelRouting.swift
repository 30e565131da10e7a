import NIOConcurrencyHelpers

/// One model name clients ask for, served by one or more deployments.
public struct AIModel: Sendable {
    public enum Routing: String, Sendable {
        /// In the configured order; the next one when one fails.
        case fallback
        /// Split by weight (smooth weighted round-robin); the others in order when it fails.
        case weighted
        /// The one whose answers begin soonest (an average of recent times to first byte).
        case leastLatency = "least-latency"
        /// The cheapest by the price table; the next cheapest when it fails.
        case lowestCost = "lowest-cost"
    }

    public var name: String
    public var routing: Routing
    public var deployments: [Deployment]
    /// Seconds a failing deployment is passed over (unless the provider said how long to wait).
    public var cooldown: Double

    public struct Deployment: Sendable {
        public var target: AIDeployment
        public var weight: Int
        /// Milliseconds to wait for the provider.
        public var timeoutMilliseconds: Int
        /// Further attempts on this deployment before the next one is tried.
        public var retries: Int
        public var price: Price?

        public init(target: AIDeployment, weight: Int = 1, timeoutMilliseconds: Int = 60_000, retries: Int = 0,
                    price: Price? = nil) {
            self.target = target
            self.weight = weight
            self.timeoutMilliseconds = timeoutMilliseconds
            self.retries = retries
            self.price = price
        }
    }

    public init(name: String, routing: Routing, deployments: [Deployment], cooldown: Double = 30) {
        self.name = name
        self.routing = routing
        self.deployments = deployments
        self.cooldown = cooldown
    }
}

/// Prices per million tokens, in US dollars.
public struct Price: Sendable, Equatable {
    public var input: Double
    public var output: Double
    /// For prompt tokens read from the provider's cache; the input price when not given.
    public var cachedInput: Double?
    /// For prompt tokens written to the provider's cache (Anthropic bills them apart); the input
    /// price when not given.
    public var cacheWrite: Double?

    public init(input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
    }

    /// What `usage` costs.
    public func cost(of usage: Usage) -> Double {
        let plain = max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens)
        return (Double(plain) * input + Double(usage.cachedInputTokens) * (cachedInput ?? input)
            + Double(usage.cacheCreationInputTokens) * (cacheWrite ?? input)
            + Double(usage.outputTokens) * output) / 1_000_000
    }

    /// For ordering by cost: a typical request's mix of input and output.
    var rank: Double { input * 3 + output }
}

/// What a model's routing has learned, shared by every event loop: deployments cooling down
/// after failures, the average time to first byte of each, the weighted split's position.
///
/// A pure state machine over an explicit clock (seconds), so routing is tested without time
/// passing; the lock is held only to read or update a few numbers.
public final class AIModelRouter: Sendable {
    public let model: AIModel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var coolUntil: [Double]
        /// Milliseconds; nil until a first answer.
        var latency: [Double?]
        var current: [Int]
    }

    /// The weight of a new measurement in the latency average.
    static let smoothing = 0.3

    public init(_ model: AIModel) {
        self.model = model
        let count = model.deployments.count
        state = NIOLockedValueBox(State(coolUntil: Array(repeating: 0, count: count),
                                        latency: Array(repeating: nil, count: count),
                                        current: Array(repeating: 0, count: count)))
    }

    /// The deployments to try for one request, in order: those cooling down come last (tried
    /// only when every other has failed), each group ordered by the model's routing.
    public func plan(now: Double) -> [Int] {
        state.withLockedValue { state in
            let all = Array(model.deployments.indices)
            var order: [Int]
            switch model.routing {
            case .fallback:
                order = all
            case .weighted:
                order = all
                let healthy = all.filter { state.coolUntil[$0] <= now && model.deployments[$0].weight > 0 }
                if !healthy.isEmpty {
                    // Smooth weighted round-robin (nginx's): each step, every healthy deployment
                    // gains its weight; the one ahead is chosen and pays back the total.
                    let total = healthy.reduce(0) { $0 + model.deployments[$1].weight }
                    for index in healthy { state.current[index] += model.deployments[index].weight }
                    let chosen = healthy.max { state.current[$0] < state.current[$1] }!
                    state.current[chosen] -= total
                    order = [chosen] + all.filter { $0 != chosen }
                }
            case .leastLatency:
                // Unmeasured deployments first, so each gets measured.
                order = all.sorted { (state.latency[$0] ?? -1, $0) < (state.latency[$1] ?? -1, $1) }
            case .lowestCost:
                order = all.sorted {
                    (model.deployments[$0].price?.rank ?? .infinity, $0) < (model.deployments[$1].price?.rank ?? .infinity, $1)
                }
            }
            let cooling = order.filter { state.coolUntil[$0] > now }
            return order.filter { state.coolUntil[$0] <= now } + cooling
        }
    }

    /// Deployment `index` answered; its first byte came after `milliseconds`.
    public func succeeded(_ index: Int, milliseconds: Double) {
        state.withLockedValue { state in
            state.coolUntil[index] = 0
            let previous = state.latency[index] ?? milliseconds
            state.latency[index] = previous + Self.smoothing * (milliseconds - previous)
        }
    }

    /// Deployment `index` failed in a way another may not: it is passed over for the model's
    /// cool-down, or as long as the provider asked.
    public func failed(_ index: Int, now: Double, retryAfter: Double?) {
        state.withLockedValue { state in
            state.coolUntil[index] = now + (retryAfter ?? model.cooldown)
        }
    }

    /// The average time to first byte of each deployment, milliseconds (nil: none yet).
    public var latencies: [Double?] { state.withLockedValue { $0.latency } }

    /// The router for `model`, shared by every route that serves the same model and kept across
    /// configuration changes: what it learnt (cool-downs, latencies) survives an unrelated change.
    /// A model whose routing or deployments changed gets a new one.
    public static func shared(for model: AIModel) -> AIModelRouter {
        let signature = model.signature
        return registry.withLockedValue { routers in
            if let router = routers[signature] { return router }
            // Models come and go with configurations; a registry grown this large is mostly
            // models no longer served, so it starts again.
            if routers.count >= maximumShared { routers.removeAll() }
            let router = AIModelRouter(model)
            routers[signature] = router
            return router
        }
    }

    private static let registry = NIOLockedValueBox<[String: AIModelRouter]>([:])
    static let maximumShared = 10_000
}

extension AIModel {
    /// What makes two models route alike: their name, routing, cool-down and deployments.
    var signature: String {
        var text = "\(name)\u{0}\(routing.rawValue)\u{0}\(cooldown)"
        for deployment in deployments {
            let target = deployment.target
            text += "\u{0}\(target.provider)\u{1}\(target.model)\u{1}\(target.baseURL ?? "")\u{1}\(deployment.weight)"
                + "\u{1}\(deployment.price.map { "\($0.input)/\($0.output)" } ?? "")"
        }
        return text
    }
}

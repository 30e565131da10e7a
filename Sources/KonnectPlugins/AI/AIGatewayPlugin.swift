import KonnectAI
import KonnectConfig
import NIOCore

/// The AI gateway on a route: clients name a model (`chat-default`), Konnect picks one of its
/// deployments by the model's routing and falls back to the next when one fails, translating
/// to and from whichever provider answers. Speaks OpenAI's chat completions and, on
/// `…/v1/messages`, Anthropic's Messages.
struct AIGatewayPlugin: ProxyPlugin {
    let name = "ai-gateway"
    var phases: PluginPhases { .access }

    /// By the name clients use.
    let models: [String: Route]
    /// In configuration order, for model lists.
    let listed: [(name: String, provider: String)]
    let streaming: String
    let maxRequestBodySize: Int64

    /// One served model: its router and a candidate per deployment.
    struct Route: Sendable {
        let router: AIModelRouter
        let candidates: [AIExchange.Candidate]
    }

    init(config: JSONValue) throws(PluginConfigProblem) {
        var models: [String: Route] = [:]
        var listed: [(name: String, provider: String)] = []
        guard case .array(let entries)? = config["models"] else {
            throw PluginConfigProblem(description: "models: at least one model is required")
        }
        for (position, entry) in entries.enumerated() {
            let path = "models[\(position)]"
            guard let name = entry.text("name") else { throw PluginConfigProblem(description: "\(path).name is required") }
            guard models[name] == nil else { throw PluginConfigProblem(description: "\(path).name: \(name) is declared twice") }
            guard case .array(let deploymentEntries)? = entry["deployments"], !deploymentEntries.isEmpty else {
                throw PluginConfigProblem(description: "\(path).deployments: at least one deployment is required")
            }
            var deployments: [AIModel.Deployment] = []
            var candidates: [AIExchange.Candidate] = []
            for (index, item) in deploymentEntries.enumerated() {
                let itemPath = "\(path).deployments[\(index)]"
                let providerName = item.text("provider") ?? ""
                guard let provider = AIProviders.named(providerName) else {
                    throw PluginConfigProblem(description: "\(itemPath).provider: \(providerName) is not supported (supported: \(AIProviders.all.keys.sorted().joined(separator: ", ")))")
                }
                var options: [String: String] = [:]
                if case .object(let fields)? = item["options"] {
                    for (key, value) in fields { if case .string(let text) = value { options[key] = text } }
                }
                let key = try item["auth"]?.text("header_value").map { value throws(PluginConfigProblem) in
                    try AIIntake.secret(value, field: "\(itemPath).auth.header_value")
                }
                let target = AIDeployment(provider: providerName, model: item.text("model") ?? "", baseURL: item.text("base_url"),
                                          apiKey: key, defaultMaxTokens: item.number("max_tokens").map { Int($0) }, options: options)
                var price: Price?
                if let record = item["price"], let input = record.number("input"), let output = record.number("output") {
                    price = Price(input: input, output: output, cachedInput: record.number("cached_input"),
                                  cacheWrite: record.number("cache_write"))
                }
                let timeout = Int(item.number("timeout") ?? 60_000)
                let retries = Int(item.number("retries") ?? 0)
                deployments.append(AIModel.Deployment(target: target, weight: Int(item.number("weight") ?? 1),
                                                      timeoutMilliseconds: timeout, retries: retries, price: price))
                candidates.append(AIExchange.Candidate(provider: provider, deployment: target, timeout: .milliseconds(Int64(timeout)),
                                                       retries: retries, index: index,
                                                       price: price ?? PriceTable.price(of: target.model)))
            }
            let routing = AIModel.Routing(rawValue: entry.text("routing") ?? "fallback") ?? .fallback
            let model = AIModel(name: name, routing: routing, deployments: deployments, cooldown: entry.number("cooldown") ?? 30)
            models[name] = Route(router: AIModelRouter(model), candidates: candidates)
            listed.append((name, deployments[0].target.provider))
        }
        self.models = models
        self.listed = listed
        streaming = config.text("response_streaming") ?? "allow"
        maxRequestBodySize = Int64(config.number("max_request_body_size") ?? Double(8 << 20))
    }

    func access(_ context: PluginContext) -> AccessResult {
        switch AIIntake.read(context, maximumBodySize: maxRequestBodySize, models: listed) {
        case .decided(let result):
            return result
        case .chat(var request, let format):
            guard let route = models[request.model] else {
                let known = listed.map(\.name).joined(separator: ", ")
                return AIIntake.answer(AIError(.invalidRequest, "model: \(request.model) is not served here (models: \(known))",
                                               param: "model", code: "model_not_found"), format)
            }
            if streaming == "deny", request.stream {
                return AIIntake.answer(.invalid("stream", "streaming is turned off on this route"), format)
            }
            if streaming == "always" { request.stream = true }
            let order = route.router.plan(now: AIExchange.now())
            return AIExchange(format: format, request: request, candidates: order.map { route.candidates[$0] },
                              router: route.router, eventLoop: context.eventLoop).start()
        }
    }
}

import KonnectAI
import KonnectConfig
import NIOCore

/// The AI gateway on a route: clients name a model (`chat-default`), Konnect picks one of its
/// deployments by the model's routing and falls back to the next when one fails, translating
/// to and from whichever provider answers. Speaks OpenAI's chat completions and, on
/// `…/v1/messages`, Anthropic's Messages.
///
/// It serves every `ai_models` entity of the configuration and the models of its own
/// `config.models`; a model of its own wins over an entity of the same name.
final class AIGatewayPlugin: ProxyPlugin {
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

    init(config: JSONValue, configuration: Configuration) throws(PluginConfigProblem) {
        var models: [String: Route] = [:]
        var listed: [(name: String, provider: String)] = []
        // Its own models first, then the entities it does not override. Entities are checked
        // again, as plugin configs are, for a configuration built in code.
        var entries: [(path: String, model: JSONValue)] = []
        if case .array(let own)? = config["models"] {
            entries = own.enumerated().map { ("config.models[\($0)]", $1) }
        }
        let ownNames = Set(entries.compactMap { $0.model.text("name") })
        for entity in configuration.aiModels where !ownNames.contains(entity.name) {
            let path = "ai_models \"\(entity.name)\""
            let (model, problems) = PluginSchema.normalizeAIModel(entity.modelConfig)
            if let problem = problems.first {
                throw PluginConfigProblem(description: "\(path).\(problem.dotted(from: "")) must be \(problem.expected)")
            }
            entries.append((path, model))
        }
        guard !entries.isEmpty else {
            throw PluginConfigProblem(description: "no models to serve: declare ai_models, or models in the plugin's config")
        }
        for (path, entry) in entries {
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
            models[name] = Route(router: AIModelRouter.shared(for: model), candidates: candidates)
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
        case .embeddings(let request):
            guard let route = models[request.model] else { return unknownModel(request.model, .openAI) }
            return AIExchange(format: .openAI, operation: .embeddings(request), attribution: .init(context),
                              candidates: route.router.plan(now: AIExchange.now()).map { route.candidates[$0] },
                              router: route.router, eventLoop: context.eventLoop).start()
        case .chat(var request, let format):
            guard let route = models[request.model] else { return unknownModel(request.model, format) }
            if streaming == "deny", request.stream {
                return AIIntake.answer(.invalid("stream", "streaming is turned off on this route"), format)
            }
            if streaming == "always" { request.stream = true }
            let order = route.router.plan(now: AIExchange.now())
            return AIExchange(format: format, operation: .chat(request), attribution: .init(context), candidates: order.map { route.candidates[$0] },
                              router: route.router, eventLoop: context.eventLoop).start()
        }
    }

    private func unknownModel(_ model: String, _ format: AIClientFormat) -> AccessResult {
        let known = listed.map(\.name).joined(separator: ", ")
        return AIIntake.answer(AIError(.invalidRequest, "model: \(model) is not served here (models: \(known))",
                                       param: "model", code: "model_not_found"), format)
    }
}

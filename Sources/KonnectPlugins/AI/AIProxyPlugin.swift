import KonnectAI
import KonnectConfig
import NIOCore

/// Kong's `ai-proxy`: the route answers OpenAI-format chat requests (and Anthropic-format ones on
/// `…/v1/messages`) from one configured model at one provider, translating requests, answers,
/// streams and errors both ways.
final class AIProxyPlugin: ProxyPlugin {
    let name = "ai-proxy"
    var phases: PluginPhases { .access }

    let candidate: AIExchange.Candidate
    /// Defaults from `model.options`, for requests that do not set them.
    let temperature: Double?
    let topP: Double?
    let topK: Int?
    let maxTokens: Int?
    /// `response_streaming`: allow, deny or always.
    let streaming: String
    let maxRequestBodySize: Int64

    init(config: JSONValue) throws(PluginConfigProblem) {
        let model = config["model"] ?? .object([:])
        let providerName = model.text("provider") ?? "openai"
        guard let provider = AIProviders.named(providerName) else {
            throw PluginConfigProblem(description: "model.provider \(providerName) is not supported yet (supported: \(AIProviders.all.keys.sorted().joined(separator: ", ")))")
        }
        let options = model["options"] ?? .object([:])
        var providerOptions: [String: String] = [:]
        if case .object(let fields) = options {
            for (key, value) in fields { if case .string(let text) = value { providerOptions[key] = text } }
        }
        let key = try (config["auth"] ?? .object([:])).text("header_value").map { value throws(PluginConfigProblem) in
            Self.keyAlone(try AIIntake.secret(value, field: "auth.header_value"))
        }
        let deployment = AIDeployment(
            provider: providerName, model: model.text("name") ?? "", apiKey: key,
            defaultMaxTokens: options.number("max_tokens").map { Int($0) }, options: providerOptions)
        var price = PriceTable.price(of: deployment.model)
        if let input = options.number("input_cost"), let output = options.number("output_cost") {
            price = Price(input: input, output: output)
        }
        candidate = AIExchange.Candidate(provider: provider, deployment: deployment, upstreamURL: options.text("upstream_url"),
                                         timeout: .milliseconds(Int64(config.number("timeout") ?? 60_000)), price: price)
        temperature = options.number("temperature")
        topP = options.number("top_p")
        topK = options.number("top_k").map { Int($0) }
        maxTokens = options.number("max_tokens").map { Int($0) }
        streaming = config.text("response_streaming") ?? "allow"
        maxRequestBodySize = Int64(config.number("max_request_body_size") ?? Double(8 << 20))
    }

    /// Kong's `header_value` may carry the scheme (`Bearer sk-…`); providers want the key alone.
    static func keyAlone(_ value: String) -> String {
        value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst(7)) : value
    }

    func access(_ context: PluginContext) -> AccessResult {
        let served = candidate.deployment.model
        switch AIIntake.read(context, maximumBodySize: maxRequestBodySize, models: [(served, candidate.deployment.provider)]) {
        case .decided(let result):
            return result
        case .embeddings(let request):
            if !served.isEmpty, request.model != served {
                return AIIntake.answer(.invalid("model", "this route serves \(served), not \(request.model)"), .openAI)
            }
            return AIExchange(format: .openAI, operation: .embeddings(request), attribution: .init(context), candidates: [candidate], router: nil,
                              eventLoop: context.eventLoop).start()
        case .chat(var request, let format):
            if !served.isEmpty, request.model != served {
                return AIIntake.answer(.invalid("model", "this route serves \(served), not \(request.model)"), format)
            }
            if streaming == "deny", request.stream {
                return AIIntake.answer(.invalid("stream", "streaming is turned off on this route"), format)
            }
            if streaming == "always" { request.stream = true }
            if request.temperature == nil { request.temperature = temperature }
            if request.topP == nil { request.topP = topP }
            if request.topK == nil { request.topK = topK }
            if request.maxTokens == nil { request.maxTokens = maxTokens }
            return AIExchange(format: format, operation: .chat(request), attribution: .init(context), candidates: [candidate], router: nil,
                              eventLoop: context.eventLoop).start()
        }
    }
}

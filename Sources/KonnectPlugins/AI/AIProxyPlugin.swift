import KonnectAI
import KonnectConfig
import NIOCore

/// Kong's `ai-proxy`: the route answers OpenAI-format chat requests (and Anthropic-format ones on
/// `…/v1/messages`) from one configured model at one provider, translating requests, answers,
/// streams and errors both ways.
struct AIProxyPlugin: ProxyPlugin {
    let name = "ai-proxy"
    var phases: PluginPhases { .access }

    let provider: any AIProvider
    let deployment: AIDeployment
    /// Kong's `model.options.upstream_url`: the provider endpoint's whole URL.
    let upstreamURL: String?
    /// Defaults from `model.options`, for requests that do not set them.
    let temperature: Double?
    let topP: Double?
    let topK: Int?
    let maxTokens: Int?
    /// `response_streaming`: allow, deny or always.
    let streaming: String
    let maxRequestBodySize: Int64
    let timeout: TimeAmount

    init(config: JSONValue) throws(PluginConfigProblem) {
        let model = config["model"] ?? .object([:])
        let providerName = model.text("provider") ?? "openai"
        guard let provider = AIProviders.named(providerName) else {
            throw PluginConfigProblem(description: "model.provider \(providerName) is not supported yet (supported: \(AIProviders.all.keys.sorted().joined(separator: ", ")))")
        }
        self.provider = provider
        let options = model["options"] ?? .object([:])
        var providerOptions: [String: String] = [:]
        if case .object(let fields) = options {
            for (key, value) in fields { if case .string(let text) = value { providerOptions[key] = text } }
        }
        let auth = config["auth"] ?? .object([:])
        deployment = AIDeployment(
            provider: providerName, model: model.text("name") ?? "",
            baseURL: nil, apiKey: auth.text("header_value").map(Self.keyAlone),
            defaultMaxTokens: options.number("max_tokens").map { Int($0) }, options: providerOptions)
        upstreamURL = options.text("upstream_url")
        temperature = options.number("temperature")
        topP = options.number("top_p")
        topK = options.number("top_k").map { Int($0) }
        maxTokens = options.number("max_tokens").map { Int($0) }
        streaming = config.text("response_streaming") ?? "allow"
        maxRequestBodySize = Int64(config.number("max_request_body_size") ?? Double(8 << 20))
        timeout = .milliseconds(Int64(config.number("timeout") ?? 60_000))
    }

    /// Kong's `header_value` may carry the scheme (`Bearer sk-…`); providers want the key alone.
    static func keyAlone(_ value: String) -> String {
        value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst(7)) : value
    }

    func access(_ context: PluginContext) -> AccessResult {
        let format = AIClientFormat(path: context.path)
        if context.path.hasSuffix("/messages/count_tokens") {
            return Self.answer(AIError(.notFound, "Token counting is not offered on this route"), .anthropic)
        }
        if context.method == "GET", context.path.hasSuffix("/models") {
            // Anthropic's SDK sends its version header; OpenAI's does not.
            if case .none = context.head.value(named: "anthropic-version") { return modelList(anthropic: false) }
            return modelList(anthropic: true)
        }
        guard context.method == "POST" else {
            return Self.answer(AIError(.invalidRequest, status: 405, "Only POST is accepted here"), format)
        }
        guard let body = context.requestBody else {
            context.bodyLimit = maxRequestBodySize
            return .readBody
        }
        var request: ChatRequest
        do throws(AIError) {
            let json: JSON
            do {
                json = try JSON.parse(body)
            } catch {
                throw AIError(.invalidRequest, "The body is not valid JSON: \(error)", param: "body")
            }
            request = try format.request(from: json)
            if !deployment.model.isEmpty, request.model != deployment.model {
                throw AIError.invalid("model", "this route serves \(deployment.model), not \(request.model)")
            }
            if streaming == "deny", request.stream { throw AIError.invalid("stream", "streaming is turned off on this route") }
            if streaming == "always" { request.stream = true }
            if request.temperature == nil { request.temperature = temperature }
            if request.topP == nil { request.topP = topP }
            if request.topK == nil { request.topK = topK }
            if request.maxTokens == nil { request.maxTokens = maxTokens }
            var upstream = try provider.chatRequest(request, deployment: deployment)
            if let upstreamURL { upstream.url = upstreamURL }
            let exchange = AIExchange(provider: provider, format: format, request: request,
                                      deployment: deployment, eventLoop: context.eventLoop, timeout: timeout)
            return exchange.start(upstream)
        } catch {
            return Self.answer(error, format)
        }
    }

    /// The one model this route serves, as the client's SDK lists models.
    private func modelList(anthropic: Bool) -> AccessResult {
        let body: JSON = anthropic
            ? ["data": [["type": "model", "id": .string(deployment.model), "display_name": .string(deployment.model),
                         "created_at": "1970-01-01T00:00:00Z"]],
               "has_more": false, "first_id": .string(deployment.model), "last_id": .string(deployment.model)]
            : ["object": "list",
               "data": [["id": .string(deployment.model), "object": "model", "created": 0, "owned_by": .string(deployment.provider)]]]
        return .respondStored(status: 200, headers: [.init("Content-Type", "application/json")], body: body.buffer)
    }

    /// `error` in the client's format.
    static func answer(_ error: AIError, _ format: AIClientFormat) -> AccessResult {
        let (status, body) = format.errorBody(error)
        var headers = [AccessResult.Header("Content-Type", "application/json")]
        if let retryAfter = error.retryAfter { headers.append(.init("Retry-After", String(Int(retryAfter.rounded(.up))))) }
        return .respondStored(status: status, headers: headers, body: body.buffer)
    }
}

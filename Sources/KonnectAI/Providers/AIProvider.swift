import NIOCore

/// One model provider's wire format: how a chat request is written for it, and how its answers,
/// streams and errors read. Pure translation: sending is someone else's job, so every provider is
/// tested with plain bytes. One file per provider; `AIProviders` lists them.
public protocol AIProvider: Sendable {
    /// The name configurations use (`openai`, `anthropic` …).
    var name: String { get }

    /// The HTTP request that asks `deployment` for `request`'s answer. Fails, naming the field,
    /// when the request asks for something this provider cannot do.
    func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest

    /// Reads a successful (2xx) answer.
    func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse

    /// Reads a failure: the provider's status and body.
    func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError

    /// A reader for the body of a streamed answer.
    func streamDecoder() -> any ChatStreamDecoder

    /// What the content type of a streamed answer contains when the stream is the answer (and not
    /// an error page): `event-stream` for server-sent events, `ndjson` for Ollama's lines of JSON.
    var streamContentType: String { get }

    /// The HTTP request for `request`'s embeddings; providers without embeddings refuse it.
    func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest

    /// Reads a successful embeddings answer.
    func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse

    /// The most texts one embeddings request to `deployment` may carry; nil when there is no
    /// limit. A client's request for more is sent as several, in turn, and answered as one.
    func embeddingsBatchLimit(for deployment: AIDeployment) -> Int?
}

extension AIProvider {
    public var streamContentType: String { "event-stream" }

    public func embeddingsBatchLimit(for deployment: AIDeployment) -> Int? { nil }

    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        throw AIError.invalid("model", "\(deployment.model) at \(name) offers no embeddings through Konnect")
    }

    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        throw AIError(.server, "\(name) offers no embeddings through Konnect")
    }
}

/// Turns the bytes of a provider's streamed answer into events, as they arrive.
public protocol ChatStreamDecoder: Sendable {
    /// Events completed by `bytes` (bytes may split an event anywhere).
    mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent]
    /// The stream's body has ended: the events still pending, or an error when it ended early.
    mutating func finish() throws(AIError) -> [ChatStreamEvent]
}

/// An HTTP request for a provider.
public struct ProviderRequest: Sendable {
    public var method = "POST"
    public var url: String
    public var headers: [(String, String)]
    public var body: ByteBuffer

    public init(url: String, headers: [(String, String)], body: ByteBuffer) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// One place a model is served: the provider, its model name there, how to reach and pay for it.
public struct AIDeployment: Sendable, Equatable {
    public var provider: String
    /// The provider's name for the model.
    public var model: String
    /// Replaces the provider's endpoint (a regional endpoint, a proxy, a self-hosted server).
    public var baseURL: String?
    /// The provider's key alone; each provider puts it where its API expects it.
    public var apiKey: String?
    /// Used when a request gives no `max_tokens` and the provider requires one.
    public var defaultMaxTokens: Int?
    /// Provider-specific settings (`api_version`, `region` …), by Kong's `model.options` names.
    public var options: [String: String]

    public init(provider: String, model: String, baseURL: String? = nil, apiKey: String? = nil,
                defaultMaxTokens: Int? = nil, options: [String: String] = [:]) {
        self.provider = provider
        self.model = model
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.defaultMaxTokens = defaultMaxTokens
        self.options = options
    }

    /// `baseURL` without a trailing slash, or `standard`.
    func base(or standard: String) -> String {
        guard var base = baseURL, !base.isEmpty else { return standard }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}

/// The providers Konnect speaks to, by name.
public enum AIProviders {
    public static let all: [String: any AIProvider] = [
        "openai": OpenAIProvider(),
        "anthropic": AnthropicProvider(),
        "azure": AzureOpenAIProvider(),
        "mistral": MistralProvider(),
        "ollama": OllamaProvider(),
        "gemini": GeminiProvider(),
        "bedrock": BedrockProvider(),
        "cohere": CohereProvider(),
    ]

    public static func named(_ name: String) -> (any AIProvider)? { all[name] }
}

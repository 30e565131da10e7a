import NIOCore

/// Cohere's Chat API v2: `POST {base}/v2/chat` with the key in `Authorization: Bearer`; the
/// answer streams as server-sent events when the body says `stream: true`. Embeddings:
/// `POST {base}/v2/embed`.
public struct CohereProvider: AIProvider {
    public let name = "cohere"
    public static let baseURL = "https://api.cohere.com"

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let model = deployment.model.isEmpty ? request.model : deployment.model
        let body = try CohereChat.requestBody(request, model: model)
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        return ProviderRequest(url: deployment.base(or: Self.baseURL) + "/v2/chat", headers: headers, body: body.buffer)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try CohereChat.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        CohereChat.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    public func streamDecoder() -> any ChatStreamDecoder { CohereChatStreamDecoder() }

    /// The `input_type`s Cohere's embed models take for texts.
    static let embedInputTypes = ["search_document", "search_query", "classification", "clustering"]

    /// The `input_type` a deployment's `model.options.input_type` chooses: `search_document`
    /// when it names none (LiteLLM's default too), for texts stored and searched later; `search_query`
    /// for the queries run against them; `classification`, `clustering`. `provider` names the
    /// deployment's provider in a misconfiguration's message (Bedrock serves Cohere's models too).
    static func embedInputType(_ deployment: AIDeployment, provider: String) throws(AIError) -> String {
        guard let value = deployment.options["input_type"], !value.isEmpty else { return "search_document" }
        guard embedInputTypes.contains(value) else {
            throw AIError(.server, status: 500,
                          "model.options.input_type: \(value) is not an input type of \(provider)'s embed models (\(embedInputTypes.joined(separator: ", ")))",
                          param: "model.options.input_type")
        }
        return value
    }

    /// Cohere's embed API takes up to 96 texts a call.
    public func embeddingsBatchLimit(for deployment: AIDeployment) -> Int? { 96 }

    /// `POST {base}/v2/embed` with float vectors asked for (`embedding_types: ["float"]`).
    /// `dimensions` is `output_dimension`, which only embed-v4.0 and newer take: for the v3 and
    /// older models (`embed-english-…`, `embed-multilingual-…`), whose vectors have one size, it
    /// is refused here. A client's `user` has no Cohere counterpart and does not change the
    /// vectors, so it is not sent.
    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try request.refuseOtherFields(provider: name)
        let model = deployment.model.isEmpty ? request.model : deployment.model
        var body: JSONObject = [
            "model": .string(model), "texts": .array(request.inputs.map(JSON.string)),
            "input_type": .string(try Self.embedInputType(deployment, provider: name)), "embedding_types": ["float"],
        ]
        if let dimensions = request.dimensions {
            if model.hasPrefix("embed-english") || model.hasPrefix("embed-multilingual") {
                throw AIError.invalid("dimensions", "\(model) gives vectors of one size; only Cohere's embed-v4.0 and newer take dimensions")
            }
            body["output_dimension"] = .number(Double(dimensions))
        }
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        return ProviderRequest(url: deployment.base(or: Self.baseURL) + "/v2/embed", headers: headers, body: JSON.object(body).buffer)
    }

    /// `{"id", "embeddings": {"float": [[…], …]}, "texts", "meta": {"billed_units": {"input_tokens"}}}`:
    /// the float vectors, and the billed input tokens (estimated by the exchange when absent).
    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        let json = try JSON.answer(body)
        guard let embeddings = json["embeddings"] else { throw AIError(.server, "The provider's answer has no embeddings") }
        guard let floats = embeddings["float"] else { throw AIError(.server, "The provider's answer has no float embeddings") }
        let vectors = try EmbeddingValues.vectors(floats, at: "embeddings.float")
        let tokens = json["meta"]?["billed_units"]?["input_tokens"]?.tokenCount
        return EmbeddingsResponse(model: "", vectors: vectors,
                                  usage: Usage(inputTokens: tokens ?? 0, outputTokens: 0, estimated: tokens == nil))
    }
}

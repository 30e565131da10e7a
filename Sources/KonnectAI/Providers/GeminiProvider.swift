import NIOCore

/// Google's Gemini API (AI Studio): `POST {base}/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse` for streams, and `:batchEmbedContents` for embeddings, with
/// the key in `x-goog-api-key`.
public struct GeminiProvider: AIProvider {
    public let name = "gemini"
    public static let baseURL = "https://generativelanguage.googleapis.com"

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let body = try GeminiGenerate.requestBody(request)
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("x-goog-api-key", key)) }
        let model = deployment.model.isEmpty ? request.model : deployment.model
        // `gemini-2.5-flash` is `models/gemini-2.5-flash`; a name with its collection
        // (`models/…`, `tunedModels/…`) is used as it is.
        let resource = model.contains("/") ? model : "models/" + model
        let method = request.stream ? ":streamGenerateContent?alt=sse" : ":generateContent"
        return ProviderRequest(url: deployment.base(or: Self.baseURL) + "/v1beta/" + resource + method,
                               headers: headers, body: body.buffer)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try GeminiGenerate.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        GeminiGenerate.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    public func streamDecoder() -> any ChatStreamDecoder { GeminiGenerateStreamDecoder() }

    /// A batch of Gemini's embed requests holds at most 100.
    public func embeddingsBatchLimit(for deployment: AIDeployment) -> Int? { 100 }

    /// `POST {base}/v1beta/models/{model}:batchEmbedContents`: one embed request per input, each
    /// naming the URL's model (Gemini refuses a batch whose requests name another), `dimensions`
    /// as each request's `outputDimensionality`. A client's `user` has no Gemini counterpart and
    /// does not change the vectors, so it is not sent.
    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try request.refuseOtherFields(provider: name)
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("x-goog-api-key", key)) }
        let model = deployment.model.isEmpty ? request.model : deployment.model
        let resource = model.contains("/") ? model : "models/" + model
        let requests: [JSON] = request.inputs.map { text in
            var item: JSONObject = ["model": .string(resource), "content": ["parts": [["text": .string(text)]]]]
            if let dimensions = request.dimensions { item["outputDimensionality"] = .number(Double(dimensions)) }
            return .object(item)
        }
        let body: JSON = ["requests": .array(requests)]
        return ProviderRequest(url: deployment.base(or: Self.baseURL) + "/v1beta/" + resource + ":batchEmbedContents",
                               headers: headers, body: body.buffer)
    }

    /// `{"embeddings": [{"values": […]}, …]}`, in the order of the requests. Gemini counts no
    /// tokens for embeddings: the usage is zero and marked estimated, and the exchange estimates
    /// it from the inputs it sent.
    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        let json = try JSON.answer(body)
        guard let embeddings = json["embeddings"]?.array else { throw AIError(.server, "The provider's answer has no embeddings") }
        var vectors: [[Float]] = []
        for (index, embedding) in embeddings.enumerated() {
            vectors.append(try EmbeddingValues.vector(embedding["values"], at: "embeddings[\(index)].values"))
        }
        return EmbeddingsResponse(model: "", vectors: vectors, usage: Usage(inputTokens: 0, outputTokens: 0, estimated: true))
    }
}

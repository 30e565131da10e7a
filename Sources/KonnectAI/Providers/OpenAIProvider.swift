import NIOCore

/// OpenAI's API, and any server that speaks its chat completions format (vLLM, llama.cpp,
/// LM Studio, Groq, Together, DeepSeek …) when given that server's `base_url`.
public struct OpenAIProvider: AIProvider {
    public let name = "openai"

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        let base = deployment.base(or: "https://api.openai.com/v1")
        // OpenAI's own API takes max_completion_tokens (its reasoning models refuse max_tokens);
        // servers that copy its format know max_tokens.
        let maxTokensField = deployment.baseURL == nil ? "max_completion_tokens" : "max_tokens"
        return ProviderRequest(url: base + "/chat/completions", headers: headers,
                               body: OpenAIChat.requestBody(request, model: deployment.model, maxTokensField: maxTokensField).buffer)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try OpenAIChat.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        OpenAIChat.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    public func streamDecoder() -> any ChatStreamDecoder { OpenAIChatStreamDecoder() }

    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        return ProviderRequest(url: deployment.base(or: "https://api.openai.com/v1") + "/embeddings", headers: headers,
                               body: OpenAIChat.embeddingsBody(request, model: deployment.model).buffer)
    }

    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        let json = try JSON.answer(body)
        return try OpenAIChat.embeddingsResponse(from: json)
    }
}

/// The wait a provider asked for: `retry-after-ms`, else `retry-after` in seconds.
enum RetryAfter {
    static func seconds(in headers: [(String, String)]) -> Double? {
        func value(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name }?.1.filter { $0 != " " }
        }
        if let seconds = sane(value("retry-after-ms").flatMap(Double.init).map { $0 / 1000 }) { return seconds }
        return sane(value("retry-after").flatMap(Double.init))
    }

    /// `seconds` when it is a wait at all (`Double` reads `nan`, `inf`, `-5` and `1e300` too),
    /// at most a day: a provider's answer decides how long a deployment rests.
    static func sane(_ seconds: Double?) -> Double? {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return nil }
        return min(seconds, 86_400)
    }
}

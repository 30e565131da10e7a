import NIOCore

/// Anthropic's Messages API: the key in `x-api-key`, the API version in `anthropic-version`.
public struct AnthropicProvider: AIProvider {
    public let name = "anthropic"
    /// The API version sent when the deployment's options name none.
    public static let apiVersion = "2023-06-01"
    /// `max_tokens` is required by Anthropic; this is used when neither the request nor the
    /// deployment gives one.
    public static let defaultMaxTokens = 4096

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let body = try AnthropicMessages.requestBody(
            request, model: deployment.model, defaultMaxTokens: deployment.defaultMaxTokens ?? Self.defaultMaxTokens)
        var headers = [
            ("Content-Type", "application/json"),
            ("anthropic-version", deployment.options["anthropic_version"] ?? Self.apiVersion),
        ]
        if let key = deployment.apiKey { headers.append(("x-api-key", key)) }
        return ProviderRequest(url: deployment.base(or: "https://api.anthropic.com") + "/v1/messages",
                               headers: headers, body: body.buffer)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try AnthropicMessages.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        AnthropicMessages.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    public func streamDecoder() -> any ChatStreamDecoder { AnthropicMessagesStreamDecoder() }
}

import NIOCore

/// Cohere's Chat API v2: `POST {base}/v2/chat` with the key in `Authorization: Bearer`; the
/// answer streams as server-sent events when the body says `stream: true`.
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
}

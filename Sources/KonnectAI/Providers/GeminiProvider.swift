import NIOCore

/// Google's Gemini API (AI Studio): `POST {base}/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse` for streams, with the key in `x-goog-api-key`.
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
}

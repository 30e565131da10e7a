import NIOCore

/// The API a client speaks to Konnect's AI endpoints: OpenAI's chat completions (the default) or
/// Anthropic's Messages (`…/v1/messages`, for Anthropic's SDK).
public enum AIClientFormat: Sendable {
    case openAI, anthropic

    /// The format a request path asks for.
    public init(path: String) {
        self = path.hasSuffix("/messages") ? .anthropic : .openAI
    }

    public func request(from body: JSON) throws(AIError) -> ChatRequest {
        switch self {
        case .openAI: try OpenAIChat.request(from: body)
        case .anthropic: try AnthropicMessages.request(from: body)
        }
    }

    public func responseBody(_ response: ChatResponse) -> JSON {
        switch self {
        case .openAI: OpenAIChat.responseBody(response)
        case .anthropic: AnthropicMessages.responseBody(response)
        }
    }

    /// `error` in this format's error shape, with the status to send it with.
    public func errorBody(_ error: AIError) -> (status: Int, body: JSON) {
        switch self {
        case .openAI: OpenAIChat.errorBody(error)
        case .anthropic: AnthropicMessages.errorBody(error)
        }
    }

    public func streamEncoder(for request: ChatRequest, created: Int) -> AIStreamEncoder {
        switch self {
        case .openAI: .openAI(OpenAIChatStreamEncoder(includeUsage: request.streamUsage, created: created))
        case .anthropic: .anthropic(AnthropicMessagesStreamEncoder())
        }
    }
}

/// A client format's stream writer.
public enum AIStreamEncoder: Sendable {
    case openAI(OpenAIChatStreamEncoder)
    case anthropic(AnthropicMessagesStreamEncoder)

    public mutating func encode(_ event: ChatStreamEvent, into out: inout ByteBuffer) {
        switch self {
        case .openAI(var encoder):
            encoder.encode(event, into: &out)
            self = .openAI(encoder)
        case .anthropic(var encoder):
            encoder.encode(event, into: &out)
            self = .anthropic(encoder)
        }
    }

    public mutating func finish(into out: inout ByteBuffer) {
        switch self {
        case .openAI(var encoder):
            encoder.finish(into: &out)
            self = .openAI(encoder)
        case .anthropic(var encoder):
            encoder.finish(into: &out)
            self = .anthropic(encoder)
        }
    }
}

/// A chat request in Konnect's own terms: what a client format reads a request into and what a
/// provider writes its request from. Modelled on OpenAI's chat completions (the format most
/// clients speak), with room for what other providers carry (top-k, stop reasons, cache counts).
public struct ChatRequest: Sendable, Equatable {
    /// The model name the client sent (the gateway's name for it, not the provider's).
    public var model: String
    /// In conversation order; system messages may appear anywhere, as in OpenAI's format
    /// (providers that take one system prompt gather them).
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition] = []
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stop: [String] = []
    public var seed: Int?
    /// Choices wanted (OpenAI's `n`); nil is one.
    public var choices: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var responseFormat: ResponseFormat?
    public var stream = false
    /// Whether the client asked for usage in the stream (OpenAI's `stream_options.include_usage`).
    /// Providers are always asked for usage; this says whether the client sees it.
    public var streamUsage = false
    /// An end-user id (OpenAI's `user`, Anthropic's `metadata.user_id`).
    public var user: String?
    /// Fields Konnect does not model, by the client's name for them. Providers that speak
    /// OpenAI's format pass them on; the others refuse a request that has any, naming the field.
    public var otherFields = JSONObject()

    public init(model: String, messages: [ChatMessage]) {
        self.model = model
        self.messages = messages
    }
}

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant, tool
    }

    public var role: Role
    public var content: [ContentPart]
    /// The calls an assistant message makes.
    public var toolCalls: [ToolCall] = []
    /// For a tool message: the call it answers.
    public var toolCallID: String?
    /// For a tool message: whether the tool failed (Anthropic's `is_error`).
    public var isError = false
    /// A participant's name (OpenAI's `name`).
    public var name: String?

    public init(role: Role, content: [ContentPart], toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public init(role: Role, text: String) {
        self.init(role: role, content: [.text(text)])
    }

    /// The message's text parts joined.
    public var text: String {
        content.reduce(into: "") { text, part in
            if case .text(let piece) = part { text += piece }
        }
    }
}

/// A part of a message's content.
public enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An image by URL: `https:` or a `data:<media type>;base64,…` URL.
    case image(url: String, detail: String?)
    /// A model's visible reasoning (Anthropic's `thinking` block with its signature).
    case thinking(String, signature: String?)

    /// The media type and base64 data of an image a provider takes only inline (it does not fetch
    /// URLs): an http(s) URL, or anything but a base64 `data:` URL, is refused, naming `path`.
    static func inlineImage(_ url: String, at path: String, provider: String) throws(AIError) -> (mediaType: String, data: Substring) {
        if let inline = dataURL(url) { return inline }
        if url.hasPrefix("https://") || url.hasPrefix("http://") {
            throw AIError.invalid(path, "\(provider) does not fetch image URLs; send the image inline as a base64 data: URL")
        }
        throw AIError.invalid(path, "expected a base64 data: URL")
    }

    /// The media type and base64 data of a `data:` URL image.
    public static func dataURL(_ url: String) -> (mediaType: String, data: Substring)? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","),
              url[..<comma].hasSuffix(";base64")
        else { return nil }
        let mediaType = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(7)
        return (String(mediaType), url[url.index(after: comma)...])
    }
}

/// A function the model may call.
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the arguments.
    public var parameters: JSON?
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: JSON? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

public enum ToolChoice: Sendable, Equatable {
    case auto, none, required
    case function(String)
}

/// A call the model made: its arguments as JSON text, as OpenAI carries them.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public enum ResponseFormat: Sendable, Equatable {
    case text
    case jsonObject
    case jsonSchema(name: String, schema: JSON, strict: Bool?)
}

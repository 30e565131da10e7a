/// A whole chat answer in Konnect's own terms.
public struct ChatResponse: Sendable, Equatable {
    public var id: String
    /// The model that answered, as the provider named it.
    public var model: String
    /// Seconds since 1970.
    public var created: Int
    public var choices: [ChatChoice]
    public var usage: Usage?

    public init(id: String, model: String, created: Int, choices: [ChatChoice], usage: Usage?) {
        self.id = id
        self.model = model
        self.created = created
        self.choices = choices
        self.usage = usage
    }
}

public struct ChatChoice: Sendable, Equatable {
    public var index: Int
    /// An assistant message: text, reasoning, tool calls.
    public var message: ChatMessage
    public var finishReason: FinishReason?

    public init(index: Int, message: ChatMessage, finishReason: FinishReason?) {
        self.index = index
        self.message = message
        self.finishReason = finishReason
    }
}

/// Why the model stopped, kept as precise as the provider said it: each client format maps it
/// to its own words, and a reason neither knows is passed on as the provider wrote it.
public enum FinishReason: Sendable, Equatable {
    /// The model finished its turn.
    case stop
    /// A stop sequence matched (which one, when the provider says).
    case stopSequence(String?)
    /// The token limit was reached.
    case length
    /// The conversation filled the model's context window (Anthropic's
    /// `model_context_window_exceeded`; a length stop to OpenAI clients).
    case contextWindowExceeded
    case toolCalls
    case contentFilter
    /// Anthropic's `pause_turn`: a long-running turn paused, to be continued.
    case pauseTurn
    /// A reason Konnect has no mapping for, as the provider wrote it (lower-cased).
    case other(String)

    /// OpenAI's word for it.
    public var openAI: String {
        switch self {
        case .stop, .stopSequence, .pauseTurn: "stop"
        case .length, .contextWindowExceeded: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        case .other(let reason): reason
        }
    }

    /// Anthropic's word for it.
    public var anthropic: String {
        switch self {
        case .stop: "end_turn"
        case .stopSequence: "stop_sequence"
        case .length: "max_tokens"
        case .contextWindowExceeded: "model_context_window_exceeded"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .pauseTurn: "pause_turn"
        case .other(let reason): reason
        }
    }

    /// Reads OpenAI's word (and the words of servers that speak its format).
    public init(openAI reason: String) {
        switch reason {
        case "stop": self = .stop
        case "length": self = .length
        case "tool_calls", "function_call": self = .toolCalls
        case "content_filter": self = .contentFilter
        default: self = .other(reason)
        }
    }
}

/// Tokens one request used.
public struct Usage: Sendable, Equatable {
    /// Every prompt token, cached or not (OpenAI's `prompt_tokens`).
    public var inputTokens: Int
    public var outputTokens: Int
    /// Prompt tokens read from the provider's cache (part of `inputTokens`).
    public var cachedInputTokens = 0
    /// Prompt tokens written to the provider's cache (part of `inputTokens`; Anthropic bills them apart).
    public var cacheCreationInputTokens = 0
    /// Output tokens spent on reasoning (part of `outputTokens`).
    public var reasoningTokens = 0
    /// True when the provider reported no usage and Konnect counted it itself.
    public var estimated = false

    public init(inputTokens: Int, outputTokens: Int, cachedInputTokens: Int = 0,
                cacheCreationInputTokens: Int = 0, reasoningTokens: Int = 0, estimated: Bool = false) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.reasoningTokens = reasoningTokens
        self.estimated = estimated
    }

    public var totalTokens: Int { inputTokens + outputTokens }
}

/// One step of a streamed chat answer in Konnect's own terms. A provider's stream decoder turns
/// the provider's events into these as bytes arrive; a client format's stream encoder turns them
/// into the client's events. Only the first choice is streamed.
public enum ChatStreamEvent: Sendable, Equatable {
    /// The answer has begun: its id, the model that answers, and (where the provider says it
    /// this early) the prompt's usage.
    case start(id: String, model: String, usage: Usage?)
    case text(String)
    /// Reasoning text, and a reasoning block's signature when it ends (Anthropic's thinking).
    case thinking(String)
    case thinkingSignature(String)
    /// A tool call begins: its position among this answer's calls, its id and the function.
    case toolCallStart(index: Int, id: String, name: String)
    /// A piece of a tool call's argument text.
    case toolCallArguments(index: Int, fragment: String)
    case finish(FinishReason)
    /// The request's usage so far; a later one replaces an earlier one.
    case usage(Usage)
    /// The provider failed after the stream began.
    case error(AIError)
}

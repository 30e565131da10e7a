extension Usage {
    /// A rough count for a provider that reports none: about four characters a token (what
    /// OpenAI's tokenizers average on English text), marked as estimated.
    public static func estimated(promptCharacters: Int, answerCharacters: Int) -> Usage {
        Usage(inputTokens: (promptCharacters + 3) / 4, outputTokens: (answerCharacters + 3) / 4, estimated: true)
    }
}

extension ChatRequest {
    /// The characters of every message's text and tool calls, and of the tools offered.
    public var promptCharacters: Int {
        var count = 0
        for message in messages {
            count += message.text.count
            for call in message.toolCalls { count += call.name.count + call.arguments.count }
        }
        for tool in tools { count += tool.name.count + (tool.description?.count ?? 0) + (tool.parameters?.text.count ?? 0) }
        return count
    }
}

extension ChatResponse {
    /// The characters of the answer's text, reasoning and tool calls.
    public var answerCharacters: Int {
        choices.reduce(0) { count, choice in
            choice.message.content.reduce(count) { count, part in
                switch part {
                case .text(let text), .thinking(let text, _): count + text.count
                case .image: count
                }
            } + choice.message.toolCalls.reduce(0) { $0 + $1.name.count + $1.arguments.count }
        }
    }
}

extension ChatStreamEvent {
    /// The characters of answer this event carries.
    public var answerCharacters: Int {
        switch self {
        case .text(let text), .thinking(let text): text.count
        case .toolCallArguments(_, let fragment): fragment.count
        case .toolCallStart(_, _, let name): name.count
        default: 0
        }
    }
}

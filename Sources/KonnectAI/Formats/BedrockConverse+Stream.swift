import NIOCore

/// Reads ConverseStream's answer: binary event-stream messages whose `:event-type` header names
/// the event and whose payload is its JSON: `messageStart`, `contentBlockStart` (a tool call's
/// id and name), `contentBlockDelta` (text, a tool call's input as text fragments, reasoning),
/// `contentBlockStop`, `messageStop` (the stop reason), `metadata` (usage). An exception
/// (`:message-type` `exception`) ends the stream as an error of its kind.
public struct BedrockConverseStreamDecoder: ChatStreamDecoder {
    private var frames = AWSEventStreamDecoder()
    /// The model named at the start (ConverseStream names none).
    private let model: String
    private var started = false
    private var finished = false
    /// An exception ended the stream.
    private var failed = false
    /// The tool-call index of each tool-use block, by Bedrock's `contentBlockIndex`.
    private var toolCalls: [Int: Int] = [:]
    private var usage: Usage?

    public init(model: String = "") {
        self.model = model
    }

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for message in try frames.decode(bytes) where !failed {
            try read(message, into: &events)
        }
        return events
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        try frames.finish()
        guard finished || failed else { throw AIError(.server, "The provider's stream ended before the answer was complete") }
        return []
    }

    private mutating func read(_ message: AWSEventStreamMessage, into events: inout [ChatStreamEvent]) throws(AIError) {
        switch message.string(":message-type") {
        case "exception"?:
            failed = true
            events.append(.error(BedrockConverse.streamError(type: message.string(":exception-type") ?? "exception",
                                                             payload: message.payload)))
            return
        case "error"?:
            failed = true
            let code = message.string(":error-code")
            events.append(.error(AIError(.server, message.string(":error-message") ?? "The provider's stream failed", code: code)))
            return
        case "event"?, nil:
            break
        default:
            return
        }
        guard let type = message.string(":event-type") else { return }
        guard let event = try? JSON.parse(message.payload), event.object != nil else {
            throw AIError(.server, "The provider sent a \(type) event that is not a JSON object")
        }
        switch type {
        case "messageStart":
            start(into: &events)
        case "contentBlockStart":
            start(into: &events)
            if let use = event["start"]?["toolUse"], use.object != nil {
                let call = toolCalls.count
                toolCalls[event["contentBlockIndex"]?.integer ?? 0] = call
                events.append(.toolCallStart(index: call, id: use["toolUseId"]?.string ?? "", name: use["name"]?.string ?? ""))
            }
        case "contentBlockDelta":
            start(into: &events)
            guard let delta = event["delta"] else { return }
            if let text = delta["text"]?.string {
                if !text.isEmpty { events.append(.text(text)) }
            } else if let input = delta["toolUse"]?["input"]?.string {
                let block = event["contentBlockIndex"]?.integer ?? 0
                guard let call = toolCalls[block] else {
                    throw AIError(.server, "The provider sent tool input for content block \(block), which started no tool call")
                }
                if !input.isEmpty { events.append(.toolCallArguments(index: call, fragment: input)) }
            } else if let reasoning = delta["reasoningContent"] {
                if let text = reasoning["text"]?.string, !text.isEmpty { events.append(.thinking(text)) }
                if let signature = reasoning["signature"]?.string { events.append(.thinkingSignature(signature)) }
            }
        case "messageStop":
            start(into: &events)
            if !finished, let reason = event["stopReason"]?.string {
                finished = true
                events.append(.finish(BedrockConverse.finishReason(
                    reason, stopSequence: event["additionalModelResponseFields"]?["stop_sequence"]?.string)))
            }
        case "metadata":
            if let latest = BedrockConverse.usage(event["usage"]), latest != usage {
                usage = latest
                events.append(.usage(latest))
            }
        default:
            break  // contentBlockStop, and events Konnect does not know yet
        }
    }

    private mutating func start(into events: inout [ChatStreamEvent]) {
        guard !started else { return }
        started = true
        events.append(.start(id: BedrockConverse.generatedID(), model: model, usage: nil))
    }
}

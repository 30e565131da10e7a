import NIOCore

/// Reads Cohere's `/v2/chat` stream: server-sent events whose data carries its `type`
/// (`message-start`, `content-start`/`-delta`/`-end`, `tool-plan-delta`, `tool-call-start`/
/// `-delta`/`-end`, `citation-start`/`-end`, `message-end`). The answer is complete at
/// `message-end`, which holds the finish reason and the usage; a stream without it is cut.
/// Reasoning (`thinking` deltas and the `tool_plan`) streams as thinking.
public struct CohereChatStreamDecoder: ChatStreamDecoder {
    private var parser = ServerSentEventParser()
    /// Cohere's stream names no model: this one is reported at the start.
    private let model: String
    private var started = false
    /// `message-end` arrived.
    private var finished = false
    /// An error ended the stream.
    private var failed = false
    /// Konnect's index of each of Cohere's tool-call indexes, and the call begun last.
    private var callIndexes: [Int: Int] = [:]
    private var currentCall: Int?
    /// Calls whose argument text has not yet had a fragment.
    private var callsWithoutArguments: Set<Int> = []

    public init(model: String = "") {
        self.model = model
    }

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for event in try parser.parse(bytes) where !failed && !finished {
            if event.data == "[DONE]" { continue }
            guard let chunk = try? JSON.parse(event.data), chunk.object != nil else {
                throw AIError(.server, "The provider sent a stream event that is not a JSON object")
            }
            guard let type = chunk["type"]?.string ?? event.name else {
                // Not an event of the answer: an error object, or something unknown.
                if let message = chunk["message"]?.string {
                    events.append(.error(AIError(.server, message)))
                    failed = true
                }
                continue
            }
            if !started {
                started = true
                events.append(.start(id: (type == "message-start" ? chunk["id"]?.string : nil) ?? CohereChat.generatedID(),
                                     model: model, usage: nil))
            }
            let delta = chunk["delta"]?["message"]
            // One call, as an object (or, defensively, the first of an array).
            let callValue = delta?["tool_calls"]
            let call = callValue?.array?.first ?? callValue
            switch type {
            case "content-start", "content-delta":
                let content = delta?["content"]
                if let thinking = content?["thinking"]?.string, !thinking.isEmpty { events.append(.thinking(thinking)) }
                if let text = content?["text"]?.string, !text.isEmpty { events.append(.text(text)) }
            case "tool-plan-delta":
                if let plan = delta?["tool_plan"]?.string, !plan.isEmpty { events.append(.thinking(plan)) }
            case "tool-call-start":
                let index = callIndexes.count
                callIndexes[chunk["index"]?.integer ?? index] = index
                currentCall = index
                events.append(.toolCallStart(index: index, id: call?["id"]?.string ?? "",
                                             name: call?["function"]?["name"]?.string ?? ""))
                if let arguments = call?["function"]?["arguments"]?.string, !arguments.isEmpty {
                    events.append(.toolCallArguments(index: index, fragment: arguments))
                } else {
                    callsWithoutArguments.insert(index)
                }
            case "tool-call-delta":
                guard let index = chunk["index"]?.integer.flatMap({ callIndexes[$0] }) ?? currentCall,
                      let fragment = call?["function"]?["arguments"]?.string, !fragment.isEmpty
                else { continue }
                callsWithoutArguments.remove(index)
                events.append(.toolCallArguments(index: index, fragment: fragment))
            case "tool-call-end":
                // A function without parameters still gets an arguments object.
                guard let index = chunk["index"]?.integer.flatMap({ callIndexes[$0] }) ?? currentCall,
                      callsWithoutArguments.remove(index) != nil
                else { continue }
                events.append(.toolCallArguments(index: index, fragment: "{}"))
            case "message-end":
                finished = true
                let end = chunk["delta"]
                let usage = CohereChat.usage(end?["usage"])
                if let message = end?["error"]?.string {
                    // A generation that failed (finish_reason ERROR or none): the client's stream
                    // ends with its error event, not with a finish that looks like an answer.
                    if let usage { events.append(.usage(usage)) }
                    events.append(.error(AIError(.server, message)))
                    failed = true
                } else {
                    if let reason = end?["finish_reason"]?.string { events.append(.finish(CohereChat.finishReason(reason))) }
                    if let usage { events.append(.usage(usage)) }
                }
            default:
                continue  // content-end, citations, and event types added later
            }
        }
        return events
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        _ = parser.finish()
        guard finished || failed else { throw AIError(.server, "The provider's stream ended before the answer was complete") }
        return []
    }
}

import NIOCore

/// Reads Gemini's `streamGenerateContent?alt=sse` stream. Every event is a whole
/// `GenerateContentResponse` holding the next parts; there is no `[DONE]`: the answer is
/// complete once a candidate has a finish reason. Usage comes with the chunks (each restates it
/// so far; the last one counts). Only the first candidate is streamed.
public struct GeminiGenerateStreamDecoder: ChatStreamDecoder {
    private var parser = ServerSentEventParser()
    /// The model named at the start when Gemini's chunks name none.
    private let model: String
    private var responseID: String?
    private var started = false
    private var finished = false
    /// An error event ended the stream.
    private var failed = false
    private var calls = 0
    private var usage: Usage?

    public init(model: String = "") {
        self.model = model
    }

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for event in try parser.parse(bytes) where !failed {
            guard let chunk = try? JSON.parse(event.data), chunk.object != nil else {
                throw AIError(.server, "The provider sent a stream event that is not a JSON object")
            }
            if let error = chunk["error"], error.object != nil {
                let status = error["code"]?.integer ?? GeminiGenerate.httpStatus(ofStatus: error["status"]?.string)
                events.append(.error(GeminiGenerate.error(error, status: status, retryAfter: nil)))
                failed = true
                break
            }
            if !started {
                started = true
                responseID = chunk["responseId"]?.string
                events.append(.start(id: responseID ?? GeminiGenerate.generatedID(),
                                     model: chunk["modelVersion"]?.string ?? model, usage: nil))
            }
            let candidates = chunk["candidates"]?.array ?? []
            let candidate = candidates.first { ($0["index"]?.integer ?? 0) == 0 }
            for part in candidate?["content"]?["parts"]?.array ?? [] {
                if let call = part["functionCall"] {
                    if let signature = part["thoughtSignature"]?.string { events.append(.thinkingSignature(signature)) }
                    let toolCall = GeminiGenerate.toolCall(call, part: part, number: calls, responseID: responseID)
                    events.append(.toolCallStart(index: calls, id: toolCall.id, name: toolCall.name))
                    events.append(.toolCallArguments(index: calls, fragment: toolCall.arguments))
                    calls += 1
                } else if let text = part["text"]?.string {
                    if part["thought"]?.bool == true {
                        if !text.isEmpty { events.append(.thinking(text)) }
                        if let signature = part["thoughtSignature"]?.string { events.append(.thinkingSignature(signature)) }
                    } else if !text.isEmpty {
                        events.append(.text(text))
                    }
                }
            }
            if !finished {
                if let reason = candidate?["finishReason"]?.string {
                    finished = true
                    events.append(.finish(GeminiGenerate.finishReason(reason, calledFunctions: calls > 0)))
                } else if candidates.isEmpty, chunk["promptFeedback"]?["blockReason"]?.string != nil {
                    finished = true
                    events.append(.finish(.contentFilter))
                }
            }
            if let latest = GeminiGenerate.usage(chunk["usageMetadata"]), latest != usage {
                usage = latest
                events.append(.usage(latest))
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

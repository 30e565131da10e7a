import NIOCore

/// Writes a stream of events as Anthropic's Messages stream: `message_start`, content blocks
/// (`content_block_start`, `…_delta`, `…_stop`), `message_delta` with the stop reason and usage,
/// `message_stop`.
///
/// Blocks follow one another, each started, filled and stopped before the next, as Anthropic's
/// own streams go (some clients forget a block at its stop). OpenAI's format lets a provider
/// interleave the argument fragments of parallel calls, so a call that begins while another's
/// block is open is held back, whole, until that block stops: its block then goes out at once.
public struct AnthropicMessagesStreamEncoder: Sendable {
    private var usage: Usage?
    private var finishReason: FinishReason?
    private var nextBlock = 0
    /// The open block: its index and what it holds.
    private var openBlock: (index: Int, kind: BlockKind)?
    /// The call whose block is open, by the event's tool-call index.
    private var openCall: Int?
    /// Calls begun while another call's block was open: their start and arguments so far.
    private var heldCalls: [(call: Int, id: String, name: String, arguments: String)] = []

    private enum BlockKind: Equatable { case text, thinking, toolUse }
    /// An error event ends the stream: nothing follows it.
    private var failed = false

    public init() {}

    public mutating func encode(_ event: ChatStreamEvent, into out: inout ByteBuffer) {
        guard !failed else { return }
        switch event {
        case .start(let id, let model, let usage):
            self.usage = usage
            var reported = usage ?? Usage(inputTokens: 0, outputTokens: 0)
            reported.outputTokens = min(reported.outputTokens, 1)
            write("message_start", ["type": "message_start", "message": [
                "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                "content": [], "stop_reason": .null, "stop_sequence": .null,
                "usage": AnthropicMessages.usageJSON(reported),
            ]], into: &out)
        case .text(let text):
            let index = contentBlock(thinking: false, into: &out)
            write("content_block_delta", ["type": "content_block_delta", "index": .number(Double(index)),
                                          "delta": ["type": "text_delta", "text": .string(text)]], into: &out)
        case .thinking(let text):
            let index = contentBlock(thinking: true, into: &out)
            write("content_block_delta", ["type": "content_block_delta", "index": .number(Double(index)),
                                          "delta": ["type": "thinking_delta", "thinking": .string(text)]], into: &out)
        case .thinkingSignature(let signature):
            let index = contentBlock(thinking: true, into: &out)
            write("content_block_delta", ["type": "content_block_delta", "index": .number(Double(index)),
                                          "delta": ["type": "signature_delta", "signature": .string(signature)]], into: &out)
        case .toolCallStart(let call, let id, let name):
            if openCall != nil {
                heldCalls.append((call, id, name, ""))
                return
            }
            closeOpenBlock(into: &out)
            startToolBlock(call: call, id: id, name: name, into: &out)
        case .toolCallArguments(let call, let fragment):
            if call == openCall, let open = openBlock {
                writeArguments(fragment, block: open.index, into: &out)
            } else if let held = heldCalls.firstIndex(where: { $0.call == call }) {
                heldCalls[held].arguments += fragment
            }
        case .finish(let reason):
            finishReason = reason
        case .usage(let usage):
            self.usage = usage
        case .error(let error):
            write("error", AnthropicMessages.errorBody(error).body, into: &out)
            failed = true
        }
    }

    /// The end of the answer: open blocks stop, then `message_delta` and `message_stop`.
    public mutating func finish(into out: inout ByteBuffer) {
        guard !failed else { return }
        closeOpenBlock(into: &out)
        var stopSequence: JSON = .null
        if case .stopSequence(let sequence)? = finishReason { stopSequence = sequence.map(JSON.string) ?? .null }
        write("message_delta", [
            "type": "message_delta",
            "delta": ["stop_reason": finishReason.map { .string($0.anthropic) } ?? .null, "stop_sequence": stopSequence],
            "usage": AnthropicMessages.usageJSON(usage ?? Usage(inputTokens: 0, outputTokens: 0)),
        ], into: &out)
        write("message_stop", ["type": "message_stop"], into: &out)
    }

    private mutating func startToolBlock(call: Int, id: String, name: String, into out: inout ByteBuffer) {
        let index = nextBlock
        nextBlock += 1
        openBlock = (index, .toolUse)
        openCall = call
        write("content_block_start", ["type": "content_block_start", "index": .number(Double(index)),
                                      "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name),
                                                        "input": [:]]], into: &out)
    }

    private func writeArguments(_ fragment: String, block: Int, into out: inout ByteBuffer) {
        write("content_block_delta", ["type": "content_block_delta", "index": .number(Double(block)),
                                      "delta": ["type": "input_json_delta", "partial_json": .string(fragment)]], into: &out)
    }

    /// The index of the open text (or thinking) block, starting one when needed.
    private mutating func contentBlock(thinking: Bool, into out: inout ByteBuffer) -> Int {
        let kind: BlockKind = thinking ? .thinking : .text
        if let open = openBlock, open.kind == kind { return open.index }
        closeOpenBlock(into: &out)
        let index = nextBlock
        nextBlock += 1
        openBlock = (index, kind)
        let block: JSON = thinking
            ? ["type": "thinking", "thinking": "", "signature": ""]
            : ["type": "text", "text": ""]
        write("content_block_start", ["type": "content_block_start", "index": .number(Double(index)),
                                      "content_block": block], into: &out)
        return index
    }

    /// Stops the open block; after a tool call's block, the calls held back go out, one whole
    /// block each.
    private mutating func closeOpenBlock(into out: inout ByteBuffer) {
        guard let open = openBlock else { return }
        openBlock = nil
        openCall = nil
        write("content_block_stop", ["type": "content_block_stop", "index": .number(Double(open.index))], into: &out)
        let held = heldCalls
        heldCalls = []
        for call in held {
            startToolBlock(call: call.call, id: call.id, name: call.name, into: &out)
            if !call.arguments.isEmpty { writeArguments(call.arguments, block: nextBlock - 1, into: &out) }
            openBlock = nil
            openCall = nil
            write("content_block_stop", ["type": "content_block_stop", "index": .number(Double(nextBlock - 1))], into: &out)
        }
    }

    private func write(_ name: String, _ data: JSON, into out: inout ByteBuffer) {
        out.writeServerSentEvent(name: name, json: data)
    }
}

/// Reads Anthropic's Messages stream.
public struct AnthropicMessagesStreamDecoder: ChatStreamDecoder {
    private var parser = ServerSentEventParser()
    private var usage: Usage?
    /// The tool-call index of each tool-use block, by Anthropic's block index.
    private var toolCalls: [Int: Int] = [:]
    private var done = false

    public init() {}

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for event in try parser.parse(bytes) where !done {
            guard let data = try? JSON.parse(event.data) else {
                throw AIError(.server, "The provider sent a stream event that is not JSON")
            }
            switch data["type"]?.string ?? event.name {
            case "message_start":
                let message = data["message"]
                usage = AnthropicMessages.usage(message?["usage"])
                events.append(.start(id: message?["id"]?.string ?? "", model: message?["model"]?.string ?? "", usage: usage))
            case "content_block_start":
                let block = data["content_block"]
                let index = data["index"]?.integer ?? 0
                switch block?["type"]?.string {
                case "tool_use":
                    let call = toolCalls.count
                    toolCalls[index] = call
                    events.append(.toolCallStart(index: call, id: block?["id"]?.string ?? "", name: block?["name"]?.string ?? ""))
                    if let input = block?["input"], input.object?.isEmpty == false {
                        events.append(.toolCallArguments(index: call, fragment: input.text))
                    }
                case "text":
                    if let text = block?["text"]?.string, !text.isEmpty { events.append(.text(text)) }
                case "thinking":
                    if let text = block?["thinking"]?.string, !text.isEmpty { events.append(.thinking(text)) }
                default:
                    break
                }
            case "content_block_delta":
                let delta = data["delta"]
                switch delta?["type"]?.string {
                case "text_delta": events.append(.text(delta?["text"]?.string ?? ""))
                case "input_json_delta":
                    if let call = toolCalls[data["index"]?.integer ?? -1], let fragment = delta?["partial_json"]?.string,
                       !fragment.isEmpty {
                        events.append(.toolCallArguments(index: call, fragment: fragment))
                    }
                case "thinking_delta": events.append(.thinking(delta?["thinking"]?.string ?? ""))
                case "signature_delta": events.append(.thinkingSignature(delta?["signature"]?.string ?? ""))
                default: break
                }
            case "message_delta":
                if let reason = data["delta"]?["stop_reason"]?.string {
                    events.append(.finish(AnthropicMessages.finishReason(reason, stopSequence: data["delta"]?["stop_sequence"]?.string)))
                }
                if let latest = AnthropicMessages.usage(data["usage"], previous: usage) {
                    usage = latest
                    events.append(.usage(latest))
                }
            case "message_stop":
                done = true
            case "error":
                let error = data["error"]
                let kind = AnthropicMessages.kind(ofErrorType: error?["type"]?.string) ?? .server
                events.append(.error(AIError(kind, error?["message"]?.string ?? "The provider failed mid-stream",
                                             code: error?["type"]?.string)))
                done = true
            default:
                break  // ping, and event types added later
            }
        }
        return events
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        _ = parser.finish()
        guard done else { throw AIError(.server, "The provider's stream ended before the answer was complete") }
        return []
    }
}

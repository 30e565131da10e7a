/// Cohere's Chat API v2 (`POST /v2/chat`), as Konnect speaks it to Cohere: requests written from
/// Konnect's chat model; answers, streams and errors read back into it.
public enum CohereChat {}

extension CohereChat {
    /// Fields of Cohere's own that a client may add; they pass on as they are.
    static let cohereFields: Set<String> = ["safety_mode", "documents", "citation_options", "strict_tools"]

    /// The `/v2/chat` body for `request`, asking `model`, or an error naming the first field
    /// Cohere cannot honour: several choices, one call at a time, a named tool to call, fields
    /// it does not know.
    ///
    /// Messages keep their order and roles (Cohere takes system messages as messages). An
    /// assistant turn's reasoning goes back as the `tool_plan` of its tool calls, which is where
    /// Cohere's answers put it; tool arguments stay JSON text, as in OpenAI's format.
    public static func requestBody(_ request: ChatRequest, model: String) throws(AIError) -> JSON {
        if let choices = request.choices, choices > 1 { throw AIError.invalid("n", "cohere answers with one choice only") }
        if request.parallelToolCalls == false {
            throw AIError.invalid("parallel_tool_calls", "cohere cannot be limited to one tool call per turn")
        }
        if let field = request.otherFields.keys.first(where: { !cohereFields.contains($0) && $0 != "thinking" }) {
            throw AIError.invalid(field, "is not supported by cohere")
        }
        var body: JSONObject = ["model": .string(model)]
        var messages: [JSON] = []
        for (index, message) in request.messages.enumerated() {
            if let written = try self.message(message, at: "messages[\(index)]") { messages.append(written) }
        }
        body["messages"] = .array(messages)
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(tool))
            // Cohere's strictness is one switch for every tool.
            if request.tools.allSatisfy({ $0.strict == true }) { body["strict_tools"] = true }
        }
        switch request.toolChoice {
        case nil, .auto?: break
        case ToolChoice.none?: if !request.tools.isEmpty { body["tool_choice"] = "NONE" }
        case .required?: if !request.tools.isEmpty { body["tool_choice"] = "REQUIRED" }
        case .function?:
            throw AIError.invalid("tool_choice", "cohere cannot be made to call one named tool; use auto, required or none")
        }
        switch request.responseFormat {
        case nil, .text?: break
        case .jsonObject?: body["response_format"] = ["type": "json_object"]
        case .jsonSchema(_, let schema, _)?: body["response_format"] = ["type": "json_object", "json_schema": schema]
        }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let topP = request.topP { body["p"] = .number(topP) }
        if let topK = request.topK { body["k"] = .number(Double(topK)) }
        if let seed = request.seed { body["seed"] = .number(Double(seed)) }
        if !request.stop.isEmpty { body["stop_sequences"] = .array(request.stop.map(JSON.string)) }
        if let penalty = request.frequencyPenalty { body["frequency_penalty"] = .number(penalty) }
        if let penalty = request.presencePenalty { body["presence_penalty"] = .number(penalty) }
        if let thinking = request.otherFields["thinking"] { body["thinking"] = try self.thinking(thinking) }
        for field in request.otherFields.fields where cohereFields.contains(field.key) { body[field.key] = field.value }
        // Cohere has no end-user field; the id does not change the answer. Usage always comes
        // in a stream's `message-end`, so `streamUsage` needs nothing either.
        body["stream"] = .bool(request.stream)
        return .object(body)
    }

    /// One message in Cohere's shape, or nil for an assistant turn with nothing to say.
    static func message(_ message: ChatMessage, at path: String) throws(AIError) -> JSON? {
        if message.name != nil, message.role != .tool {
            throw AIError.invalid("\(path).name", "cohere takes no participant names")
        }
        switch message.role {
        case .system:
            return ["role": "system", "content": try content(message.content, at: path, imagesIn: nil)]
        case .user:
            return ["role": "user", "content": try content(message.content, at: path, imagesIn: "user")]
        case .assistant:
            return try assistantMessage(message, at: path)
        case .tool:
            guard let id = message.toolCallID, !id.isEmpty else {
                throw AIError.invalid("\(path).tool_call_id", "cohere needs the id of the tool call a result answers")
            }
            for (index, part) in message.content.enumerated() {
                if case .image = part { throw AIError.invalid("\(path).content[\(index)]", "cohere takes text tool results only") }
            }
            // Cohere has no failure flag for a tool result: the tool's text says it, as in OpenAI's format.
            return ["role": "tool", "tool_call_id": .string(id), "content": try content(message.content, at: path, imagesIn: nil)]
        }
    }

    /// A message's content: one string when it is one text, else Cohere's content blocks.
    /// Images are taken (as `image_url` blocks, by URL or `data:` URL) only where `imagesIn`
    /// names the role that may carry them.
    static func content(_ parts: [ContentPart], at path: String, imagesIn role: String?) throws(AIError) -> JSON {
        var blocks: [JSON] = []
        var onlyText = true
        for (index, part) in parts.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty:
                blocks.append(["type": "text", "text": .string(text)])
            case .text, .thinking:
                continue
            case .image(let url, let detail):
                guard role != nil else {
                    throw AIError.invalid("\(path).content[\(index)]", "cohere takes images in user messages only")
                }
                var image: JSONObject = ["url": .string(url)]
                if let detail { image["detail"] = .string(detail) }
                blocks.append(["type": "image_url", "image_url": .object(image)])
                onlyText = false
            }
        }
        if onlyText, blocks.count <= 1 { return .string(blocks.first?["text"]?.string ?? "") }
        return .array(blocks)
    }

    /// An assistant turn: its text, and its tool calls with the reasoning that led to them as
    /// the `tool_plan`. Reasoning without calls has no place in Cohere's request and is left out.
    static func assistantMessage(_ message: ChatMessage, at path: String) throws(AIError) -> JSON? {
        var object: JSONObject = ["role": "assistant"]
        let text = try content(message.content, at: path, imagesIn: nil)
        if text != "" { object["content"] = text }
        if !message.toolCalls.isEmpty {
            let plan = message.content.reduce(into: "") { plan, part in
                if case .thinking(let text, _) = part { plan += text }
            }
            if !plan.isEmpty { object["tool_plan"] = .string(plan) }
            object["tool_calls"] = .array(message.toolCalls.map { call in
                ["id": .string(call.id), "type": "function",
                 "function": ["name": .string(call.name), "arguments": .string(call.arguments.isEmpty ? "{}" : call.arguments)]]
            })
        }
        // Without text or calls the turn carries nothing for Cohere.
        return object.fields.count > 1 ? .object(object) : nil
    }

    /// A tool as Cohere declares it: OpenAI's function shape, with parameters required (an
    /// object without properties for a function that takes none).
    static func tool(_ tool: ToolDefinition) -> JSON {
        var function: JSONObject = ["name": .string(tool.name)]
        if let description = tool.description { function["description"] = .string(description) }
        function["parameters"] = tool.parameters ?? ["type": "object", "properties": [:]]
        return ["type": "function", "function": .object(function)]
    }

    /// Cohere's `thinking` from a client's: Cohere's own `{type, token_budget}`, or Anthropic's
    /// `{type, budget_tokens}` (an Anthropic client asking Command A Reasoning to think).
    static func thinking(_ value: JSON) throws(AIError) -> JSON {
        guard value.object != nil else { throw AIError.invalid("thinking", "expected an object") }
        guard let type = value["type"]?.string, type == "enabled" || type == "disabled" else {
            throw AIError.invalid("thinking.type", "cohere takes enabled or disabled")
        }
        var thinking: JSONObject = ["type": .string(type)]
        if type == "enabled", let budget = value["token_budget"] ?? value["budget_tokens"] {
            guard budget.integer != nil else { throw AIError.invalid("thinking.token_budget", "expected an integer") }
            thinking["token_budget"] = budget
        }
        return .object(thinking)
    }
}

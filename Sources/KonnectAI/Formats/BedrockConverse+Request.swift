/// Amazon Bedrock's Converse API (`/model/{modelId}/converse` and `/converse-stream`), as
/// Konnect speaks it to Bedrock: requests written from Konnect's chat model; answers, event
/// streams and errors read back into it.
public enum BedrockConverse {}

extension BedrockConverse {
    /// The Converse body for `request`, or an error naming the first field Bedrock cannot honour.
    ///
    /// System messages, wherever they are, become `system`; consecutive turns of one role become
    /// one (Bedrock wants user and assistant turns to alternate; tool results are a user turn).
    /// Images go inline as bytes (Bedrock fetches no URLs). Converse has no `none` tool choice:
    /// with `tool_choice: none` the tools are not offered, which Bedrock allows only while the
    /// conversation holds no tool calls.
    public static func requestBody(_ request: ChatRequest) throws(AIError) -> JSON {
        if let field = request.otherFields.keys.first { throw AIError.invalid(field, "is not supported by bedrock") }
        if request.topK != nil {
            throw AIError.invalid("top_k", "is not supported by bedrock's Converse API (it has no top_k in inferenceConfig)")
        }
        if request.seed != nil { throw AIError.invalid("seed", "is not supported by bedrock's Converse API") }
        if let choices = request.choices, choices != 1 { throw AIError.invalid("n", "bedrock gives one choice per request") }
        if request.presencePenalty != nil { throw AIError.invalid("presence_penalty", "is not supported by bedrock's Converse API") }
        if request.frequencyPenalty != nil { throw AIError.invalid("frequency_penalty", "is not supported by bedrock's Converse API") }
        switch request.responseFormat {
        case nil, .text?: break
        case .jsonObject?, .jsonSchema?:
            throw AIError.invalid("response_format", "bedrock's Converse API has no JSON output mode; describe the format in the prompt or use a tool")
        }

        var system: [JSON] = []
        var messages = ProviderTurns()
        var usesTools = false
        for (index, message) in request.messages.enumerated() {
            let path = "messages[\(index)]"
            let role: String
            let content: [JSON]
            switch message.role {
            case .system:
                system += try message.systemTextParts(at: path, what: "bedrock's system prompt")
                continue
            case .user:
                role = "user"
                content = try message.textAndImageParts(at: path, image: image)
            case .assistant:
                role = "assistant"
                content = try assistantContent(message, at: path)
                usesTools = usesTools || !message.toolCalls.isEmpty
            case .tool:
                role = "user"
                content = [try toolResult(message, at: path)]
                usesTools = true
            }
            guard !content.isEmpty else { continue }  // Bedrock refuses a message without content
            messages.append(role, content)
        }
        guard !messages.isEmpty else {
            throw AIError.invalid("messages", "bedrock needs at least one user or assistant message with content")
        }

        var body = JSONObject()
        body["messages"] = messages.json(partsKey: "content")
        if !system.isEmpty { body["system"] = .array(system) }
        let inference = inferenceConfig(request)
        if !inference.isEmpty { body["inferenceConfig"] = .object(inference) }
        if !request.tools.isEmpty {
            if request.toolChoice == ToolChoice.none {
                if usesTools {
                    throw AIError.invalid("tool_choice", "bedrock has no `none` tool choice, and a conversation with tool calls must offer its tools")
                }
            } else {
                body["toolConfig"] = toolConfig(request.tools, choice: request.toolChoice)
            }
        }
        return .object(body)
    }

    static func inferenceConfig(_ request: ChatRequest) -> JSONObject {
        var config = JSONObject()
        if let maxTokens = request.maxTokens { config["maxTokens"] = .number(Double(maxTokens)) }
        if let temperature = request.temperature { config["temperature"] = .number(temperature) }
        if let topP = request.topP { config["topP"] = .number(topP) }
        if !request.stop.isEmpty { config["stopSequences"] = .array(request.stop.map(JSON.string)) }
        return config
    }

    /// `toolConfig`: each function as a `toolSpec` (a function without parameters takes an
    /// empty object, as `inputSchema` is required), and the choice when the client made one.
    static func toolConfig(_ tools: [ToolDefinition], choice: ToolChoice?) -> JSON {
        let specs: [JSON] = tools.map { tool in
            var spec: JSONObject = ["name": .string(tool.name)]
            if let description = tool.description, !description.isEmpty { spec["description"] = .string(description) }
            spec["inputSchema"] = ["json": tool.parameters ?? ["type": "object", "properties": [:]]]
            return ["toolSpec": .object(spec)]
        }
        var config: JSONObject = ["tools": .array(specs)]
        switch choice {
        case nil, ToolChoice.none?: break
        case .auto?: config["toolChoice"] = ["auto": [:]]
        case .required?: config["toolChoice"] = ["any": [:]]
        case .function(let name)?: config["toolChoice"] = ["tool": ["name": .string(name)]]
        }
        return .object(config)
    }

    /// An image as Bedrock takes it: its format and its base64 bytes, from a `data:` URL.
    static func image(_ url: String, at path: String) throws(AIError) -> JSON {
        let (mediaType, data) = try ContentPart.inlineImage(url, at: path, provider: "bedrock")
        let format: String
        switch mediaType.lowercased() {
        case "image/png": format = "png"
        case "image/jpeg", "image/jpg": format = "jpeg"
        case "image/gif": format = "gif"
        case "image/webp": format = "webp"
        default: throw AIError.invalid(path, "bedrock takes png, jpeg, gif or webp images, not \(mediaType.isEmpty ? "an untyped data URL" : mediaType)")
        }
        return ["image": ["format": .string(format), "source": ["bytes": .string(String(data))]]]
    }

    /// An assistant turn: its signed reasoning first (Bedrock wants it back with the tool calls
    /// it led to; reasoning without a signature cannot be verified and is left out), then its
    /// text, then its calls with their arguments as objects.
    static func assistantContent(_ message: ChatMessage, at path: String) throws(AIError) -> [JSON] {
        var reasoning: [JSON] = []
        var content: [JSON] = []
        for (index, part) in message.content.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty:
                content.append(["text": .string(text)])
            case .text:
                continue
            case .thinking(let text, let signature):
                if let signature, !signature.isEmpty {
                    reasoning.append(["reasoningContent": ["reasoningText": ["text": .string(text), "signature": .string(signature)]]])
                }
            case .image:
                throw AIError.invalid("\(path).content[\(index)]", "bedrock takes images in user messages and tool results only")
            }
        }
        for (index, call) in message.toolCalls.enumerated() {
            let argumentsPath = "\(path).tool_calls[\(index)].function.arguments"
            let input: JSON
            do {
                input = call.arguments.isEmpty ? .object([:]) : try JSON.parse(call.arguments)
            } catch {
                throw AIError.invalid(argumentsPath, "is not valid JSON (\(error))")
            }
            guard input.object != nil else { throw AIError.invalid(argumentsPath, "must be a JSON object") }
            content.append(["toolUse": ["toolUseId": .string(call.id), "name": .string(call.name), "input": input]])
        }
        return reasoning + content
    }

    /// A tool message as a `toolResult` block: the tool's text as it was sent (and its
    /// images), with `status: error` when the tool failed.
    static func toolResult(_ message: ChatMessage, at path: String) throws(AIError) -> JSON {
        guard let id = message.toolCallID, !id.isEmpty else {
            throw AIError.invalid("\(path).tool_call_id", "is required: bedrock matches a tool result to its call by id")
        }
        var content: [JSON] = []
        var text = ""
        for (index, part) in message.content.enumerated() {
            switch part {
            case .text(let piece): text += piece
            case .thinking: continue
            case .image(let url, _): content.append(try image(url, at: "\(path).content[\(index)].image_url.url"))
            }
        }
        if !text.isEmpty || content.isEmpty { content.insert(["text": .string(text)], at: 0) }
        var result: JSONObject = ["toolUseId": .string(id), "content": .array(content)]
        if message.isError { result["status"] = "error" }
        return ["toolResult": .object(result)]
    }
}

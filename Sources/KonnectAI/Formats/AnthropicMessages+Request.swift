/// Anthropic's Messages format, both ways: Anthropic's SDK speaks it to Konnect
/// (`POST …/v1/messages`), and Konnect speaks it to Anthropic.
public enum AnthropicMessages {}

extension AnthropicMessages {
    static let modelledFields: Set<String> = [
        "model", "max_tokens", "messages", "system", "tools", "tool_choice", "stop_sequences", "temperature",
        "top_p", "top_k", "stream", "metadata",
    ]

    /// Reads a client's Messages request; errors name the field.
    public static func request(from body: JSON) throws(AIError) -> ChatRequest {
        guard let object = body.object else { throw AIError.invalid("body", "expected a JSON object") }
        let fields = FieldReader(object)
        let model = try fields.requiredString("model")
        guard let maxTokens = try fields.positiveInteger("max_tokens") else {
            throw AIError.invalid("max_tokens", "is required")
        }
        guard let messageValues = try fields.array("messages") else { throw AIError.invalid("messages", "is required") }
        guard !messageValues.isEmpty else { throw AIError.invalid("messages", "must not be empty") }
        var request = ChatRequest(model: model, messages: [])
        request.maxTokens = maxTokens
        switch object["system"] {
        case nil, .null?: break
        case .string(let text)?: request.messages.append(ChatMessage(role: .system, text: text))
        case .array(let blocks)?:
            let text = try blocks.enumerated().map { (index, block) throws(AIError) -> String in
                guard block["type"]?.string == "text", let text = block["text"]?.string else {
                    throw AIError.invalid("system[\(index)]", "expected a text block")
                }
                return text
            }
            request.messages.append(ChatMessage(role: .system, text: text.joined(separator: "\n\n")))
        case let other?:
            throw AIError.invalid("system", "expected a string or an array of text blocks, not \(other.typeName)")
        }
        for (index, value) in messageValues.enumerated() {
            request.messages += try messages(value, at: "messages[\(index)]")
        }
        if let tools = try fields.array("tools") {
            for (index, value) in tools.enumerated() {
                let path = "tools[\(index)]"
                guard let tool = value.object else { throw AIError.invalid(path, "expected an object") }
                let toolFields = FieldReader(tool, path: path)
                if let type = try toolFields.string("type"), type != "custom" {
                    throw AIError.invalid("\(path).type", "server tools (\(type)) are not supported")
                }
                var definition = ToolDefinition(name: try toolFields.requiredString("name"),
                                                description: try toolFields.string("description"))
                guard let schema = tool["input_schema"], schema.object != nil else {
                    throw AIError.invalid("\(path).input_schema", "is required (a JSON Schema object)")
                }
                definition.parameters = schema
                request.tools.append(definition)
            }
        }
        if let choice = fields.value("tool_choice") {
            guard let choiceObject = choice.object else { throw AIError.invalid("tool_choice", "expected an object") }
            let choiceFields = FieldReader(choiceObject, path: "tool_choice")
            switch try choiceFields.requiredString("type") {
            case "auto": request.toolChoice = .auto
            case "any": request.toolChoice = .required
            case "none": request.toolChoice = ToolChoice.none
            case "tool": request.toolChoice = .function(try choiceFields.requiredString("name"))
            case let other: throw AIError.invalid("tool_choice.type", "expected auto, any, tool or none, not \(other)")
            }
            if try choiceFields.bool("disable_parallel_tool_use") == true { request.parallelToolCalls = false }
        }
        if let stops = try fields.array("stop_sequences") {
            request.stop = try stops.enumerated().map { (index, value) throws(AIError) -> String in
                guard let text = value.string else { throw AIError.invalid("stop_sequences[\(index)]", "expected a string") }
                return text
            }
        }
        request.temperature = try fields.number("temperature", in: 0...1)
        request.topP = try fields.number("top_p", in: 0...1)
        request.topK = try fields.positiveInteger("top_k")
        request.stream = try fields.bool("stream") ?? false
        request.streamUsage = true
        if let metadata = fields.value("metadata") {
            guard let metadataObject = metadata.object else { throw AIError.invalid("metadata", "expected an object") }
            request.user = try FieldReader(metadataObject, path: "metadata").string("user_id")
        }
        request.otherFields = JSONObject(object.fields.filter { !modelledFields.contains($0.key) })
        return request
    }

    /// One Anthropic message as Konnect messages: a user turn's tool results become tool
    /// messages (before the rest of the turn, as OpenAI's format orders them).
    static func messages(_ value: JSON, at path: String) throws(AIError) -> [ChatMessage] {
        guard let object = value.object else { throw AIError.invalid(path, "expected an object") }
        let fields = FieldReader(object, path: path)
        let role: ChatMessage.Role
        switch try fields.requiredString("role") {
        case "user": role = .user
        case "assistant": role = .assistant
        case let other: throw AIError.invalid("\(path).role", "must be user or assistant, not \(other)")
        }
        let blocks: [JSON]
        switch object["content"] {
        case .string(let text)?: return [ChatMessage(role: role, text: text)]
        case .array(let items)?: blocks = items
        case nil, .null?: throw AIError.invalid("\(path).content", "is required")
        case let other?: throw AIError.invalid("\(path).content", "expected a string or an array of blocks, not \(other.typeName)")
        }
        var message = ChatMessage(role: role, content: [])
        var toolResults: [ChatMessage] = []
        for (index, block) in blocks.enumerated() {
            let blockPath = "\(path).content[\(index)]"
            guard let blockObject = block.object else { throw AIError.invalid(blockPath, "expected an object") }
            let blockFields = FieldReader(blockObject, path: blockPath)
            switch try blockFields.requiredString("type") {
            case "text":
                message.content.append(.text(try blockFields.requiredString("text")))
            case "image":
                guard role == .user else { throw AIError.invalid("\(blockPath).type", "images are only allowed in user messages") }
                message.content.append(try image(blockObject, at: blockPath))
            case "thinking":
                message.content.append(.thinking(try blockFields.requiredString("thinking"),
                                                 signature: try blockFields.string("signature")))
            case "redacted_thinking":
                continue
            case "tool_use":
                guard role == .assistant else { throw AIError.invalid("\(blockPath).type", "tool_use belongs in assistant messages") }
                let input = blockObject["input"] ?? .object([:])
                guard input.object != nil else { throw AIError.invalid("\(blockPath).input", "expected an object") }
                message.toolCalls.append(ToolCall(id: try blockFields.requiredString("id"),
                                                  name: try blockFields.requiredString("name"), arguments: input.text))
            case "tool_result":
                guard role == .user else { throw AIError.invalid("\(blockPath).type", "tool_result belongs in user messages") }
                var result = ChatMessage(role: .tool, content: [],
                                         toolCallID: try blockFields.requiredString("tool_use_id"))
                switch blockObject["content"] {
                case nil, .null?: break
                case .string(let text)?: result.content = [.text(text)]
                case .array(let parts)?:
                    for (partIndex, part) in parts.enumerated() {
                        let partPath = "\(blockPath).content[\(partIndex)]"
                        switch part["type"]?.string {
                        case "text": result.content.append(.text(part["text"]?.string ?? ""))
                        case "image": result.content.append(try image(part.object ?? [:], at: partPath))
                        default: throw AIError.invalid("\(partPath).type", "expected text or image")
                        }
                    }
                case let other?:
                    throw AIError.invalid("\(blockPath).content", "expected a string or an array of blocks, not \(other.typeName)")
                }
                result.isError = try blockFields.bool("is_error") ?? false
                toolResults.append(result)
            case let other:
                throw AIError.invalid("\(blockPath).type", "unsupported content block type \(other)")
            }
        }
        if message.content.isEmpty, message.toolCalls.isEmpty { return toolResults }
        return toolResults + [message]
    }

    static func image(_ block: JSONObject, at path: String) throws(AIError) -> ContentPart {
        guard let source = block["source"]?.object else { throw AIError.invalid("\(path).source", "is required") }
        let fields = FieldReader(source, path: "\(path).source")
        switch try fields.requiredString("type") {
        case "base64":
            let mediaType = try fields.requiredString("media_type")
            return .image(url: "data:\(mediaType);base64,\(try fields.requiredString("data"))", detail: nil)
        case "url":
            return .image(url: try fields.requiredString("url"), detail: nil)
        case let other:
            throw AIError.invalid("\(path).source.type", "expected base64 or url, not \(other)")
        }
    }

    /// Anthropic's own request fields Konnect does not model but passes on.
    static let passedThrough: Set<String> = ["thinking", "service_tier"]

    /// The Messages request for Anthropic, or an error naming the first field Anthropic cannot
    /// honour.
    public static func requestBody(_ request: ChatRequest, model: String, defaultMaxTokens: Int) throws(AIError) -> JSON {
        if let field = request.otherFields.keys.first(where: { !passedThrough.contains($0) }) {
            throw AIError.invalid(field, "is not supported by anthropic")
        }
        if request.seed != nil { throw AIError.invalid("seed", "is not supported by anthropic") }
        if let choices = request.choices, choices > 1 { throw AIError.invalid("n", "anthropic returns one choice") }
        if request.presencePenalty != nil { throw AIError.invalid("presence_penalty", "is not supported by anthropic") }
        if request.frequencyPenalty != nil { throw AIError.invalid("frequency_penalty", "is not supported by anthropic") }
        if let temperature = request.temperature, temperature > 1 {
            throw AIError.invalid("temperature", "must be between 0 and 1 for anthropic")
        }
        switch request.responseFormat {
        case nil, .text?: break
        case .jsonObject?, .jsonSchema?:
            throw AIError.invalid("response_format", "anthropic has no JSON mode; describe the format in the prompt or use a tool")
        }
        var body = JSONObject()
        body["model"] = .string(model)
        body["max_tokens"] = .number(Double(request.maxTokens ?? defaultMaxTokens))
        let system = request.messages.filter { $0.role == .system }.map(\.text)
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        // Consecutive turns of one role (tool results, then the user's text) become one.
        var messages = ProviderTurns()
        for (index, message) in request.messages.enumerated() where message.role != .system {
            messages.append(message.role == .assistant ? "assistant" : "user", try blocks(of: message, at: "messages[\(index)]"))
        }
        body["messages"] = messages.json(partsKey: "content")
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                var object: JSONObject = ["name": .string(tool.name)]
                if let description = tool.description { object["description"] = .string(description) }
                object["input_schema"] = tool.parameters ?? ["type": "object", "properties": [:]]
                return .object(object)
            })
        }
        var choice: JSONObject?
        switch request.toolChoice {
        case nil: break
        case .auto?: choice = ["type": "auto"]
        case ToolChoice.none?: choice = ["type": "none"]
        case .required?: choice = ["type": "any"]
        case .function(let name)?: choice = ["type": "tool", "name": .string(name)]
        }
        if request.parallelToolCalls == false, !request.tools.isEmpty, request.toolChoice != ToolChoice.none {
            if choice == nil { choice = ["type": "auto"] }
            choice?["disable_parallel_tool_use"] = true
        }
        if let choice { body["tool_choice"] = .object(choice) }
        if !request.stop.isEmpty { body["stop_sequences"] = .array(request.stop.map(JSON.string)) }
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let topP = request.topP { body["top_p"] = .number(topP) }
        if let topK = request.topK { body["top_k"] = .number(Double(topK)) }
        if request.stream { body["stream"] = true }
        if let user = request.user { body["metadata"] = ["user_id": .string(user)] }
        for field in request.otherFields.fields { body[field.key] = field.value }
        return .object(body)
    }

    static func blocks(of message: ChatMessage, at path: String) throws(AIError) -> [JSON] {
        var blocks: [JSON] = []
        var content: [JSON] = []
        for (index, part) in message.content.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty:
                content.append(["type": "text", "text": .string(text)])
            case .text:
                continue
            case .image(let url, _):
                content.append(["type": "image", "source": try imageSource(url, at: "\(path).content[\(index)].image_url.url")])
            case .thinking(let text, let signature):
                var block: JSONObject = ["type": "thinking", "thinking": .string(text)]
                if let signature { block["signature"] = .string(signature) }
                content.append(.object(block))
            }
        }
        if message.role == .tool {
            var result: JSONObject = ["type": "tool_result", "tool_use_id": .string(message.toolCallID ?? "")]
            result["content"] = .array(content)
            if message.isError { result["is_error"] = true }
            return [.object(result)]
        }
        blocks = content
        for (index, call) in message.toolCalls.enumerated() {
            let input: JSON
            do {
                input = call.arguments.isEmpty ? .object([:]) : try JSON.parse(call.arguments)
            } catch {
                throw AIError.invalid("\(path).tool_calls[\(index)].function.arguments", "is not valid JSON (\(error))")
            }
            guard input.object != nil else {
                throw AIError.invalid("\(path).tool_calls[\(index)].function.arguments", "must be a JSON object")
            }
            blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input])
        }
        return blocks
    }

    static func imageSource(_ url: String, at path: String) throws(AIError) -> JSON {
        if let (mediaType, data) = ContentPart.dataURL(url) {
            return ["type": "base64", "media_type": .string(mediaType), "data": .string(String(data))]
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw AIError.invalid(path, "expected an http(s) URL or a base64 data URL")
        }
        return ["type": "url", "url": .string(url)]
    }
}

/// OpenAI's chat completions format, both ways: clients speak it to Konnect, and Konnect speaks it
/// to OpenAI and every server that copies it.
public enum OpenAIChat {}

extension OpenAIChat {
    /// The request fields Konnect models; any other goes to `ChatRequest.otherFields`.
    static let modelledFields: Set<String> = [
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "max_tokens",
        "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "seed", "n", "presence_penalty",
        "frequency_penalty", "response_format", "stream", "stream_options", "user",
    ]

    /// Reads a client's request body, checking each field's type; errors name the field.
    public static func request(from body: JSON) throws(AIError) -> ChatRequest {
        guard let object = body.object else { throw AIError.invalid("body", "expected a JSON object") }
        let fields = FieldReader(object)
        let model = try fields.requiredString("model")
        guard let messageValues = try fields.array("messages") else {
            throw AIError.invalid("messages", "is required")
        }
        guard !messageValues.isEmpty else { throw AIError.invalid("messages", "must not be empty") }
        var request = ChatRequest(model: model, messages: [])
        for (index, value) in messageValues.enumerated() {
            request.messages.append(try message(value, at: "messages[\(index)]"))
        }
        if let tools = try fields.array("tools") {
            for (index, value) in tools.enumerated() {
                request.tools.append(try tool(value, at: "tools[\(index)]"))
            }
        }
        if let choice = object["tool_choice"] { request.toolChoice = try toolChoice(choice) }
        request.parallelToolCalls = try fields.bool("parallel_tool_calls")
        let maxTokens = try fields.positiveInteger("max_tokens")
        request.maxTokens = try fields.positiveInteger("max_completion_tokens") ?? maxTokens
        request.temperature = try fields.number("temperature", in: 0...2)
        request.topP = try fields.number("top_p", in: 0...1)
        request.topK = try fields.positiveInteger("top_k")
        switch object["stop"] {
        case nil, .null?: break
        case .string(let stop)?: request.stop = [stop]
        case .array(let stops)?:
            request.stop = try stops.enumerated().map { (index, value) throws(AIError) -> String in
                guard let text = value.string else { throw AIError.invalid("stop[\(index)]", "expected a string") }
                return text
            }
        case let other?: throw AIError.invalid("stop", "expected a string or an array of strings, not \(other.typeName)")
        }
        request.seed = try fields.integer("seed")
        request.choices = try fields.positiveInteger("n")
        request.presencePenalty = try fields.number("presence_penalty", in: -2...2)
        request.frequencyPenalty = try fields.number("frequency_penalty", in: -2...2)
        if let format = object["response_format"], !format.isNull { request.responseFormat = try responseFormat(format) }
        request.stream = try fields.bool("stream") ?? false
        if let options = object["stream_options"], !options.isNull {
            guard let options = options.object else { throw AIError.invalid("stream_options", "expected an object") }
            request.streamUsage = try FieldReader(options, path: "stream_options").bool("include_usage") ?? false
        }
        request.user = try fields.string("user")
        request.otherFields = JSONObject(object.fields.filter { !modelledFields.contains($0.key) })
        return request
    }

    static func message(_ value: JSON, at path: String) throws(AIError) -> ChatMessage {
        guard let object = value.object else { throw AIError.invalid(path, "expected an object") }
        let fields = FieldReader(object, path: path)
        let roleName = try fields.requiredString("role")
        let role: ChatMessage.Role
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        case "tool", "function": role = .tool
        default:
            throw AIError.invalid("\(path).role", "must be one of system, developer, user, assistant, tool, not \(roleName)")
        }
        var message = ChatMessage(role: role, content: try content(object["content"], at: "\(path).content", role: role))
        message.name = try fields.string("name")
        if role == .tool {
            guard let id = try fields.string("tool_call_id") else {
                throw AIError.invalid("\(path).tool_call_id", "is required for a tool message")
            }
            message.toolCallID = id
        }
        if role == .assistant, let calls = try fields.array("tool_calls") {
            for (index, call) in calls.enumerated() {
                let callPath = "\(path).tool_calls[\(index)]"
                guard let callObject = call.object else { throw AIError.invalid(callPath, "expected an object") }
                let callFields = FieldReader(callObject, path: callPath)
                let id = try callFields.requiredString("id")
                guard let function = callObject["function"]?.object else {
                    throw AIError.invalid("\(callPath).function", "is required")
                }
                let functionFields = FieldReader(function, path: "\(callPath).function")
                let name = try functionFields.requiredString("name")
                let arguments = try functionFields.string("arguments") ?? "{}"
                message.toolCalls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
        }
        if message.content.isEmpty, message.toolCalls.isEmpty, role != .assistant {
            throw AIError.invalid("\(path).content", "is required")
        }
        return message
    }

    static func content(_ value: JSON?, at path: String, role: ChatMessage.Role) throws(AIError) -> [ContentPart] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return [.text(text)]
        case .array(let parts)?:
            var content: [ContentPart] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path)[\(index)]"
                guard let object = part.object else { throw AIError.invalid(partPath, "expected an object") }
                let fields = FieldReader(object, path: partPath)
                switch try fields.requiredString("type") {
                case "text":
                    content.append(.text(try fields.requiredString("text")))
                case "image_url":
                    let url: String
                    var detail: String?
                    switch object["image_url"] {
                    case .string(let text)?: url = text
                    case .object(let image)?:
                        let imageFields = FieldReader(image, path: "\(partPath).image_url")
                        url = try imageFields.requiredString("url")
                        detail = try imageFields.string("detail")
                    default: throw AIError.invalid("\(partPath).image_url", "is required")
                    }
                    guard role == .user else {
                        throw AIError.invalid("\(partPath).type", "images are only allowed in user messages")
                    }
                    content.append(.image(url: url, detail: detail))
                case "refusal":
                    content.append(.text(try fields.requiredString("refusal")))
                case let other:
                    throw AIError.invalid("\(partPath).type", "unsupported content part type \(other)")
                }
            }
            return content
        case let other?:
            throw AIError.invalid(path, "expected a string or an array of content parts, not \(other.typeName)")
        }
    }

    static func tool(_ value: JSON, at path: String) throws(AIError) -> ToolDefinition {
        guard let object = value.object else { throw AIError.invalid(path, "expected an object") }
        let fields = FieldReader(object, path: path)
        let type = try fields.string("type") ?? "function"
        guard type == "function" else { throw AIError.invalid("\(path).type", "only function tools are supported, not \(type)") }
        guard let function = object["function"]?.object else { throw AIError.invalid("\(path).function", "is required") }
        let functionFields = FieldReader(function, path: "\(path).function")
        let name = try functionFields.requiredString("name")
        var tool = ToolDefinition(name: name, description: try functionFields.string("description"))
        if let parameters = function["parameters"], !parameters.isNull {
            guard parameters.object != nil else {
                throw AIError.invalid("\(path).function.parameters", "expected a JSON Schema object")
            }
            tool.parameters = parameters
        }
        tool.strict = try functionFields.bool("strict")
        return tool
    }

    static func toolChoice(_ value: JSON) throws(AIError) -> ToolChoice? {
        switch value {
        case .null: return nil
        case .string("auto"): return .auto
        case .string("none"): return ToolChoice.none
        case .string("required"): return .required
        case .object(let object):
            guard let name = object["function"]?["name"]?.string else {
                throw AIError.invalid("tool_choice.function.name", "is required")
            }
            return .function(name)
        default:
            throw AIError.invalid("tool_choice", "expected auto, none, required or {type: function, function: {name}}")
        }
    }

    static func responseFormat(_ value: JSON) throws(AIError) -> ResponseFormat {
        switch value["type"]?.string {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = value["json_schema"]?.object else {
                throw AIError.invalid("response_format.json_schema", "is required")
            }
            guard let name = schema["name"]?.string else {
                throw AIError.invalid("response_format.json_schema.name", "is required")
            }
            return .jsonSchema(name: name, schema: schema["schema"] ?? .object([:]), strict: schema["strict"]?.bool)
        default:
            throw AIError.invalid("response_format.type", "expected text, json_object or json_schema")
        }
    }

    /// The request body for an OpenAI-format server: `model` is the deployment's, usage is always
    /// asked for in streams, and fields Konnect does not model pass through.
    public static func requestBody(_ request: ChatRequest, model: String, maxTokensField: String = "max_tokens") -> JSON {
        var body = JSONObject()
        body["model"] = .string(model)
        body["messages"] = .array(request.messages.map(messageJSON))
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                var function: JSONObject = ["name": .string(tool.name)]
                if let description = tool.description { function["description"] = .string(description) }
                if let parameters = tool.parameters { function["parameters"] = parameters }
                if let strict = tool.strict { function["strict"] = .bool(strict) }
                return ["type": "function", "function": .object(function)]
            })
        }
        switch request.toolChoice {
        case nil: break
        case .auto?: body["tool_choice"] = "auto"
        case ToolChoice.none?: body["tool_choice"] = "none"
        case .required?: body["tool_choice"] = "required"
        case .function(let name)?: body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
        }
        if let parallel = request.parallelToolCalls { body["parallel_tool_calls"] = .bool(parallel) }
        if let maxTokens = request.maxTokens { body[maxTokensField] = .number(Double(maxTokens)) }
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let topP = request.topP { body["top_p"] = .number(topP) }
        if let topK = request.topK { body["top_k"] = .number(Double(topK)) }
        if request.stop.count == 1 { body["stop"] = .string(request.stop[0]) }
        if request.stop.count > 1 { body["stop"] = .array(request.stop.map(JSON.string)) }
        if let seed = request.seed { body["seed"] = .number(Double(seed)) }
        if let choices = request.choices { body["n"] = .number(Double(choices)) }
        if let penalty = request.presencePenalty { body["presence_penalty"] = .number(penalty) }
        if let penalty = request.frequencyPenalty { body["frequency_penalty"] = .number(penalty) }
        switch request.responseFormat {
        case nil: break
        case .text?: body["response_format"] = ["type": "text"]
        case .jsonObject?: body["response_format"] = ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict)?:
            var format: JSONObject = ["name": .string(name), "schema": schema]
            if let strict { format["strict"] = .bool(strict) }
            body["response_format"] = ["type": "json_schema", "json_schema": .object(format)]
        }
        if request.stream {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        if let user = request.user { body["user"] = .string(user) }
        for field in request.otherFields.fields where body[field.key] == nil { body[field.key] = field.value }
        return .object(body)
    }

    static func messageJSON(_ message: ChatMessage) -> JSON {
        var object = JSONObject()
        object["role"] = .string(message.role.rawValue)
        // One text part as a string; several parts stay parts (joining them would change the prompt).
        let parts = message.content.filter { if case .thinking = $0 { false } else { true } }
        if parts.count <= 1, parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
            object["content"] = message.content.isEmpty && !message.toolCalls.isEmpty ? .null : .string(message.text)
        } else {
            object["content"] = .array(message.content.compactMap { part in
                switch part {
                case .text(let text): return ["type": "text", "text": .string(text)]
                case .image(let url, let detail):
                    var image: JSONObject = ["url": .string(url)]
                    if let detail { image["detail"] = .string(detail) }
                    return ["type": "image_url", "image_url": .object(image)]
                case .thinking: return nil
                }
            })
        }
        if let name = message.name { object["name"] = .string(name) }
        if let id = message.toolCallID { object["tool_call_id"] = .string(id) }
        if !message.toolCalls.isEmpty {
            object["tool_calls"] = .array(message.toolCalls.map { call in
                ["id": .string(call.id), "type": "function",
                 "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
            })
        }
        return .object(object)
    }
}

/// Reads typed fields of one object, naming the field (under `path`) when one has the wrong type.
struct FieldReader {
    let object: JSONObject
    let path: String?

    init(_ object: JSONObject, path: String? = nil) {
        self.object = object
        self.path = path
    }

    func name(_ key: String) -> String { path.map { "\($0).\(key)" } ?? key }

    /// The field's value; nil when missing or null.
    func value(_ key: String) -> JSON? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws(AIError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.string else { throw AIError.invalid(name(key), "expected a string, not \(value.typeName)") }
        return text
    }

    func requiredString(_ key: String) throws(AIError) -> String {
        guard let text = try string(key) else { throw AIError.invalid(name(key), "is required") }
        return text
    }

    func bool(_ key: String) throws(AIError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.bool else { throw AIError.invalid(name(key), "expected a boolean, not \(value.typeName)") }
        return flag
    }

    func array(_ key: String) throws(AIError) -> [JSON]? {
        guard let value = value(key) else { return nil }
        guard let items = value.array else { throw AIError.invalid(name(key), "expected an array, not \(value.typeName)") }
        return items
    }

    func number(_ key: String, in range: ClosedRange<Double>? = nil) throws(AIError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.number else { throw AIError.invalid(name(key), "expected a number, not \(value.typeName)") }
        if let range, !range.contains(number) {
            throw AIError.invalid(name(key), "must be between \(range.lowerBound.formatted) and \(range.upperBound.formatted)")
        }
        return number
    }

    func integer(_ key: String) throws(AIError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.integer else { throw AIError.invalid(name(key), "expected an integer, not \(value.typeName)") }
        return integer
    }

    func positiveInteger(_ key: String) throws(AIError) -> Int? {
        guard let integer = try integer(key) else { return nil }
        guard integer > 0 else { throw AIError.invalid(name(key), "must be at least 1") }
        return integer
    }
}

extension Double {
    /// Without a fraction when it has none (`2`, `0.5`).
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}

/// Google's Gemini API (`models/…:generateContent`, AI Studio), as Konnect speaks it to Gemini:
/// requests written from Konnect's chat model; answers, streams and errors read back into it.
public enum GeminiGenerate {}

extension GeminiGenerate {
    /// The thought signature Google documents for a function call that has lost its own (a
    /// conversation replayed by a client that never saw Gemini's signatures): Gemini 3 refuses a
    /// function call of the current turn that carries no signature.
    static let unsignedCallSignature = "skip_thought_signature_validator"

    /// The `generateContent` body for `request`, or an error naming the first field Gemini
    /// cannot honour.
    ///
    /// System messages, wherever they are, become `systemInstruction`; consecutive turns of one
    /// role become one (tool results are a user turn). Tool schemas and a `json_schema` response
    /// format go as JSON Schema (`parametersJsonSchema`, `responseJsonSchema`): Gemini's older
    /// `parameters` and `responseSchema` take only an OpenAPI subset and refuse common JSON
    /// Schema keywords such as `additionalProperties`.
    public static func requestBody(_ request: ChatRequest) throws(AIError) -> JSON {
        if let field = request.otherFields.keys.first { throw AIError.invalid(field, "is not supported by gemini") }
        var system: [JSON] = []
        var contents = ProviderTurns()
        /// The function each tool call id named, as the conversation has it so far.
        var calledFunctions: [String: String] = [:]
        for (index, message) in request.messages.enumerated() {
            let path = "messages[\(index)]"
            let role: String
            let parts: [JSON]
            switch message.role {
            case .system:
                system += try message.systemTextParts(at: path, what: "gemini's system instruction")
                continue
            case .user:
                role = "user"
                parts = try message.textAndImageParts(at: path, image: inlineImage)
            case .assistant:
                role = "model"
                parts = try modelParts(message, at: path)
                for call in message.toolCalls { calledFunctions[call.id] = call.name }
            case .tool:
                role = "user"
                parts = [try functionResponse(message, at: path, calledFunctions: calledFunctions)]
            }
            guard !parts.isEmpty else { continue }  // Gemini refuses a turn without parts
            contents.append(role, parts)
        }
        guard !contents.isEmpty else { throw AIError.invalid("messages", "gemini needs at least one user or assistant message with content") }

        var body = JSONObject()
        if !system.isEmpty { body["systemInstruction"] = ["parts": .array(system)] }
        body["contents"] = contents.json(partsKey: "parts")
        if !request.tools.isEmpty {
            let declarations: [JSON] = request.tools.map { tool in
                var declaration: JSONObject = ["name": .string(tool.name)]
                if let description = tool.description { declaration["description"] = .string(description) }
                if let parameters = tool.parameters { declaration["parametersJsonSchema"] = parameters }
                return .object(declaration)
            }
            body["tools"] = [["functionDeclarations": .array(declarations)]]
            if let choice = request.toolChoice {
                body["toolConfig"] = ["functionCallingConfig": functionCallingConfig(choice)]
            }
        }
        let config = generationConfig(request)
        if !config.isEmpty { body["generationConfig"] = .object(config) }
        return .object(body)
    }

    /// Gemini's `functionCallingConfig` for a tool choice.
    static func functionCallingConfig(_ choice: ToolChoice) -> JSON {
        switch choice {
        case .auto: ["mode": "AUTO"]
        case .none: ["mode": "NONE"]
        case .required: ["mode": "ANY"]
        case .function(let name): ["mode": "ANY", "allowedFunctionNames": [.string(name)]]
        }
    }

    static func generationConfig(_ request: ChatRequest) -> JSONObject {
        var config = JSONObject()
        if let temperature = request.temperature { config["temperature"] = .number(temperature) }
        if let topP = request.topP { config["topP"] = .number(topP) }
        if let topK = request.topK { config["topK"] = .number(Double(topK)) }
        if let choices = request.choices { config["candidateCount"] = .number(Double(choices)) }
        if let maxTokens = request.maxTokens { config["maxOutputTokens"] = .number(Double(maxTokens)) }
        if !request.stop.isEmpty { config["stopSequences"] = .array(request.stop.map(JSON.string)) }
        if let seed = request.seed { config["seed"] = .number(Double(seed)) }
        if let penalty = request.presencePenalty { config["presencePenalty"] = .number(penalty) }
        if let penalty = request.frequencyPenalty { config["frequencyPenalty"] = .number(penalty) }
        switch request.responseFormat {
        case nil, .text?: break
        case .jsonObject?:
            config["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema, _)?:
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = schema
        }
        return config
    }

    /// An image as Gemini takes it in a request: inline base64 data. Gemini does not fetch
    /// http(s) URLs (only its own uploaded files), so those are refused rather than dropped.
    static func inlineImage(_ url: String, at path: String) throws(AIError) -> JSON {
        let (mediaType, data) = try ContentPart.inlineImage(url, at: path, provider: "gemini")
        return ["inlineData": ["mimeType": .string(mediaType), "data": .string(String(data))]]
    }

    /// A model turn: its text, then its function calls. Reasoning text is not sent back (Gemini
    /// does not want it); its signature is, on the first call, as Gemini requires.
    static func modelParts(_ message: ChatMessage, at path: String) throws(AIError) -> [JSON] {
        var parts: [JSON] = []
        var signature: String?
        for (index, part) in message.content.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty:
                parts.append(["text": .string(text)])
            case .text:
                continue
            case .thinking(_, let thoughtSignature):
                if let thoughtSignature, !thoughtSignature.isEmpty { signature = thoughtSignature }
            case .image:
                throw AIError.invalid("\(path).content[\(index)]", "gemini takes images in user messages only")
            }
        }
        for (index, call) in message.toolCalls.enumerated() {
            let argumentsPath = "\(path).tool_calls[\(index)].function.arguments"
            let arguments: JSON
            do {
                arguments = call.arguments.isEmpty ? .object([:]) : try JSON.parse(call.arguments)
            } catch {
                throw AIError.invalid(argumentsPath, "is not valid JSON (\(error))")
            }
            guard arguments.object != nil else { throw AIError.invalid(argumentsPath, "must be a JSON object") }
            var part: JSONObject = ["functionCall": ["name": .string(call.name), "args": arguments]]
            if index == 0 { part["thoughtSignature"] = .string(signature ?? unsignedCallSignature) }
            parts.append(.object(part))
        }
        return parts
    }

    /// A tool message as Gemini's `functionResponse`: named by the function the answered call
    /// named (Gemini matches results to calls by name), the tool's text under `result` (or
    /// `error` when the tool failed), as an object when the text is a JSON object.
    static func functionResponse(_ message: ChatMessage, at path: String,
                                 calledFunctions: [String: String]) throws(AIError) -> JSON {
        guard let name = message.toolCallID.flatMap({ calledFunctions[$0] }) ?? message.name else {
            throw AIError.invalid("\(path).tool_call_id",
                                  "answers no earlier assistant tool call; gemini needs the called function's name")
        }
        for (index, part) in message.content.enumerated() {
            if case .image = part { throw AIError.invalid("\(path).content[\(index)]", "gemini takes text tool results only") }
        }
        let text = message.text
        let output: JSON
        if let parsed = try? JSON.parse(text), parsed.object != nil {
            output = parsed
        } else {
            output = .string(text)
        }
        let response: JSON = message.isError ? ["error": output] : ["result": output]
        return ["functionResponse": ["name": .string(name), "response": response]]
    }
}

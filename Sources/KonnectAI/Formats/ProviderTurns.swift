/// A conversation as providers with alternating turns take it (Anthropic, Gemini, Bedrock):
/// consecutive messages of one role become one turn, their parts one after the other.
struct ProviderTurns {
    private(set) var turns: [(role: String, parts: [JSON])] = []

    var isEmpty: Bool { turns.isEmpty }

    mutating func append(_ role: String, _ parts: [JSON]) {
        if let last = turns.last, last.role == role {
            turns[turns.count - 1].parts += parts
        } else {
            turns.append((role, parts))
        }
    }

    /// Each turn as `{"role": …, partsKey: [parts]}`.
    func json(partsKey: String) -> JSON {
        .array(turns.map { .object(JSONObject([("role", .string($0.role)), (partsKey, .array($0.parts))])) })
    }
}

extension ChatMessage {
    /// A message's text and images as `{"text": …}` parts and the provider's image parts;
    /// empty text and reasoning are left out. `path` names the message in errors.
    func textAndImageParts(at path: String, image: (String, String) throws(AIError) -> JSON) throws(AIError) -> [JSON] {
        var parts: [JSON] = []
        for (index, part) in content.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty:
                parts.append(["text": .string(text)])
            case .text, .thinking:
                continue
            case .image(let url, _):
                parts.append(try image(url, "\(path).content[\(index)].image_url.url"))
            }
        }
        return parts
    }

    /// A system message as `{"text": …}` parts, for providers whose system prompt takes text
    /// only (`what` names it in the refusal of an image).
    func systemTextParts(at path: String, what: String) throws(AIError) -> [JSON] {
        var parts: [JSON] = []
        for (index, part) in content.enumerated() {
            switch part {
            case .text(let text) where !text.isEmpty: parts.append(["text": .string(text)])
            case .text, .thinking: continue
            case .image: throw AIError.invalid("\(path).content[\(index)]", "\(what) takes text only")
            }
        }
        return parts
    }
}

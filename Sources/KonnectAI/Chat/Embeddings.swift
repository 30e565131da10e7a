#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// An embeddings request in Konnect's own terms (OpenAI's `/v1/embeddings`).
public struct EmbeddingsRequest: Sendable, Equatable {
    public enum Encoding: String, Sendable {
        case float
        /// Little-endian float32 values, base64-encoded (what OpenAI's SDK asks for by default).
        case base64
    }

    public var model: String
    public var inputs: [String]
    public var dimensions: Int?
    public var encoding: Encoding
    public var user: String?
    /// Fields Konnect does not model: passed on to OpenAI-format servers, which may know them
    /// (vLLM's `truncate_prompt_tokens`), and refused by name by every other provider.
    public var otherFields = JSONObject()

    public init(model: String, inputs: [String], dimensions: Int? = nil, encoding: Encoding = .float, user: String? = nil) {
        self.model = model
        self.inputs = inputs
        self.dimensions = dimensions
        self.encoding = encoding
        self.user = user
    }

    /// Refuses the fields Konnect does not model, naming the first, for a provider that would
    /// not understand them.
    public func refuseOtherFields(provider: String) throws(AIError) {
        if let field = otherFields.keys.first { throw AIError.invalid(field, "is not supported by \(provider)'s embeddings") }
    }
}

/// Embeddings, one vector per input in order, and the tokens they took.
public struct EmbeddingsResponse: Sendable, Equatable {
    public var model: String
    public var vectors: [[Float]]
    public var usage: Usage

    public init(model: String, vectors: [[Float]], usage: Usage) {
        self.model = model
        self.vectors = vectors
        self.usage = usage
    }
}

extension OpenAIChat {
    /// Reads a client's `/v1/embeddings` body.
    public static func embeddingsRequest(from body: JSON) throws(AIError) -> EmbeddingsRequest {
        guard let object = body.object else { throw AIError.invalid("body", "expected a JSON object") }
        let fields = FieldReader(object)
        let model = try fields.requiredString("model")
        var inputs: [String]
        switch object["input"] {
        case .string(let text)?: inputs = [text]
        case .array(let items)?:
            inputs = []
            for (index, item) in items.enumerated() {
                guard let text = item.string else {
                    throw AIError.invalid("input[\(index)]", "expected a string (token arrays are not supported)")
                }
                inputs.append(text)
            }
        case nil, .null?: throw AIError.invalid("input", "is required")
        case let other?: throw AIError.invalid("input", "expected a string or an array of strings, not \(other.typeName)")
        }
        guard !inputs.isEmpty else { throw AIError.invalid("input", "must not be empty") }
        if let empty = inputs.firstIndex(where: \.isEmpty) {
            throw AIError.invalid(inputs.count == 1 ? "input" : "input[\(empty)]", "must not be an empty string")
        }
        var request = EmbeddingsRequest(model: model, inputs: inputs)
        request.dimensions = try fields.positiveInteger("dimensions")
        switch try fields.string("encoding_format") {
        case nil, "float"?: request.encoding = .float
        case "base64"?: request.encoding = .base64
        case let other?: throw AIError.invalid("encoding_format", "expected float or base64, not \(other)")
        }
        request.user = try fields.string("user")
        let modelled: Set<String> = ["model", "input", "dimensions", "encoding_format", "user"]
        request.otherFields = JSONObject(object.fields.filter { !modelled.contains($0.key) })
        return request
    }

    /// The body for an OpenAI-format server. Floats are always asked for: the client's encoding
    /// is applied on the way back, whatever the provider.
    public static func embeddingsBody(_ request: EmbeddingsRequest, model: String) -> JSON {
        var body: JSONObject = ["model": .string(model), "input": .array(request.inputs.map(JSON.string)),
                                "encoding_format": "float"]
        if let dimensions = request.dimensions { body["dimensions"] = .number(Double(dimensions)) }
        if let user = request.user { body["user"] = .string(user) }
        for field in request.otherFields.fields where body[field.key] == nil { body[field.key] = field.value }
        return .object(body)
    }

    /// Reads an OpenAI-format server's embeddings answer (float vectors, or base64 ones).
    public static func embeddingsResponse(from body: JSON) throws(AIError) -> EmbeddingsResponse {
        guard let data = body["data"]?.array else { throw AIError(.server, "The provider's answer has no data") }
        var vectors = [[Float]](repeating: [], count: data.count)
        for (position, item) in data.enumerated() {
            let index = item["index"]?.integer ?? position
            guard vectors.indices.contains(index) else { throw AIError(.server, "The provider's answer has an index out of range") }
            switch item["embedding"] {
            case .array?: vectors[index] = try EmbeddingValues.vector(item["embedding"], at: "data[\(position)].embedding")
            case .string(let text)?:
                guard let vector = FloatVector.decodeBase64(text) else { throw AIError(.server, "The provider sent an undecodable embedding") }
                vectors[index] = vector
            default: throw AIError(.server, "The provider's answer has an item without an embedding")
            }
        }
        let prompt = body["usage"]?["prompt_tokens"]?.tokenCount ?? 0
        return EmbeddingsResponse(model: body["model"]?.string ?? "", vectors: vectors,
                                  usage: Usage(inputTokens: prompt, outputTokens: 0))
    }

    /// The answer as OpenAI's clients receive it, in the encoding they asked for.
    public static func embeddingsBody(_ response: EmbeddingsResponse, encoding: EmbeddingsRequest.Encoding) -> JSON {
        [
            "object": "list",
            "data": .array(response.vectors.enumerated().map { index, vector in
                ["object": "embedding", "index": .number(Double(index)),
                 "embedding": encoding == .base64 ? .string(FloatVector.encodeBase64(vector)) : .array(vector.map { .number(Double($0)) })]
            }),
            "model": .string(response.model),
            "usage": ["prompt_tokens": .number(Double(response.usage.inputTokens)),
                      "total_tokens": .number(Double(response.usage.inputTokens))],
        ]
    }
}

/// Float32 vectors as OpenAI's base64 embeddings carry them: little-endian bytes, base64.
public enum FloatVector {
    public static func encodeBase64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }

    public static func decodeBase64(_ text: String) -> [Float]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        let bytes = Array(data)
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            let bits = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
            return Float(bitPattern: bits)
        }
    }
}

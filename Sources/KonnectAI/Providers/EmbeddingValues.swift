/// Reads the vectors of a provider's embeddings answer strictly: a vector is an array of numbers,
/// and anything else fails the answer, naming where, instead of turning into zeros a client would
/// store as if they were real.
enum EmbeddingValues {
    /// The floats of `json`, an array of numbers; `path` names it in the error (`embeddings[1].values`).
    static func vector(_ json: JSON?, at path: String) throws(AIError) -> [Float] {
        guard let items = json?.array else {
            throw AIError(.server, "The provider's answer has no vector at \(path)")
        }
        var vector: [Float] = []
        vector.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let value = item.number else {
                throw AIError(.server, "The provider's answer has a \(item.typeName) at \(path)[\(index)] instead of a number")
            }
            vector.append(Float(value))
        }
        return vector
    }

    /// The vectors of `json`, an array of arrays of numbers.
    static func vectors(_ json: JSON?, at path: String) throws(AIError) -> [[Float]] {
        guard let items = json?.array else {
            throw AIError(.server, "The provider's answer has no list of vectors at \(path)")
        }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            vectors.append(try vector(item, at: "\(path)[\(index)]"))
        }
        return vectors
    }
}

import KonnectConfig

/// A JSON Web Key Set (RFC 7517 §5): the usable verification keys, each with its `kid`.
public struct JWKSet: Sendable {
    /// One usable key of the set.
    public struct Entry: Sendable {
        /// The JWK's `kid`, if it had one.
        public let keyID: String?
        /// The key, bound to its algorithm.
        public let key: JWTVerificationKey

        /// An entry for `key`, found under `keyID`.
        public init(keyID: String?, key: JWTVerificationKey) {
            self.keyID = keyID
            self.key = key
        }
    }

    /// The usable keys, in the set's order.
    public let entries: [Entry]

    /// A set of the given entries.
    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses `{"keys":[...]}`; keys that cannot verify JWS signatures (unknown `kty` or `alg`,
    /// `use` other than `sig`, bad members) are skipped, and only a document that is not such an
    /// object throws.
    public init(json: String) throws(JWTError) {
        guard let document = try? JSONValue.parse(json) else { throw .invalidKeySet("not JSON") }
        guard case .object(let members) = document, case .array(let keys)? = members["keys"] else {
            throw .invalidKeySet("not an object with a keys array")
        }
        self.entries = keys.compactMap { item in
            guard case .object(let jwk) = item, let key = JWTVerificationKey(jwk: jwk) else { return nil }
            guard case .string(let keyID)? = jwk["kid"] else { return Entry(keyID: nil, key: key) }
            return Entry(keyID: keyID, key: key)
        }
    }

    /// The keys a token with this `kid` and `alg` may be verified with: those whose `kid` equals
    /// `keyID` (every key when `keyID` is nil) and whose algorithm is exactly `algorithm`.
    public func candidates(keyID: String?, algorithm: String) -> [JWTVerificationKey] {
        entries.compactMap { entry in
            guard entry.key.algorithm.rawValue == algorithm else { return nil }
            if let keyID, entry.keyID != keyID { return nil }
            return entry.key
        }
    }

    /// Whether any candidate key for the token's `kid` and `alg` verifies it.
    public func verifies(_ token: JWTToken) -> Bool {
        candidates(keyID: token.keyID, algorithm: token.algorithm).contains { $0.verifies(token) }
    }
}

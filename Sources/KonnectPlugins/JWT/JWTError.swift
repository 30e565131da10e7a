/// Why a token or a key set could not be read; each reason is safe to show a client and never
/// contains the token or any key material.
public enum JWTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is not a well-formed compact JWS with JSON object header and claims.
    case malformed(String)
    /// The JWK set is not a JSON object with a `keys` array.
    case invalidKeySet(String)

    /// A one-line description, for logs and error responses.
    public var description: String {
        switch self {
        case .malformed(let reason): "malformed token: \(reason)"
        case .invalidKeySet(let reason): "invalid key set: \(reason)"
        }
    }
}

import KonnectConfig

/// A compact JWS (RFC 7515 §7.1) split and decoded; nothing verified yet.
public struct JWTToken: Sendable {
    /// The longest token accepted, in bytes: real tokens are far shorter, and the cap bounds the
    /// work an unauthenticated client can cause.
    public static let maximumLength = 16 * 1024

    /// The JOSE header.
    public let header: [String: JSONValue]
    /// The claims set (the payload).
    public let claims: [String: JSONValue]
    /// The header's `alg`, exactly as given (no case folding).
    public let algorithm: String
    /// The header's `kid`, if any.
    public let keyID: String?
    /// The bytes the signature covers: the encoded header, a dot and the encoded payload.
    let signingInput: [UInt8]
    /// The decoded signature; empty for an unsecured token.
    let signature: [UInt8]

    /// Splits and decodes `compact`; throws `.malformed` unless it is three base64url parts whose
    /// header and payload are JSON objects and whose header names an `alg`.
    public init(compact: String) throws(JWTError) {
        let text = compact.utf8
        guard text.count <= Self.maximumLength else {
            throw .malformed("token is longer than \(Self.maximumLength) bytes")
        }
        let parts = text.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("token must have exactly three dot-separated parts") }

        guard let headerBytes = Base64URL.decode(parts[0]) else { throw .malformed("header is not base64url") }
        guard let payloadBytes = Base64URL.decode(parts[1]) else { throw .malformed("payload is not base64url") }
        guard let signature = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let header = try Self.jsonObject(headerBytes, part: "header")
        let claims = try Self.jsonObject(payloadBytes, part: "payload")

        guard case .string(let algorithm)? = header["alg"] else { throw .malformed("header has no alg string") }
        let keyID: String?
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let value)?: keyID = value
        case _?: throw .malformed("header kid is not a string")
        }
        // RFC 7515 §4.1.11: a recipient must reject critical extensions it does not understand,
        // and this one understands none (not even RFC 7797's unencoded payloads).
        guard header["crit"] == nil else { throw .malformed("header lists critical extensions, which are not supported") }

        self.header = header
        self.claims = claims
        self.algorithm = algorithm
        self.keyID = keyID
        self.signingInput = Array(text[parts[0].startIndex..<parts[1].endIndex])
        self.signature = signature
    }

    /// The JSON object `bytes` hold, as UTF-8 text; throws `.malformed` naming `part` otherwise.
    private static func jsonObject(_ bytes: [UInt8], part: String) throws(JWTError) -> [String: JSONValue] {
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid UTF-8, so the text reads back differently exactly when it was.
        guard text.utf8.elementsEqual(bytes) else { throw .malformed("\(part) is not UTF-8") }
        guard let value = try? JSONValue.parse(text) else { throw .malformed("\(part) is not JSON") }
        guard case .object(let fields) = value else { throw .malformed("\(part) is not a JSON object") }
        // RFC 7515 §4 and RFC 7519 §4: duplicate names must be rejected (or the last one used),
        // and the JSON decoder keeps the first, so a name it collapsed makes the token malformed.
        guard memberCount(ofObject: bytes) == fields.count else { throw .malformed("\(part) repeats a member name") }
        return fields
    }

    /// How many members the top-level object in `json` lists, repeated names included; `json`
    /// must already be known to be the text of one JSON object.
    private static func memberCount(ofObject json: [UInt8]) -> Int {
        var depth = 0
        var inString = false
        var escaped = false
        var separators = 0
        var isEmpty = true
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1 { isEmpty = false }
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { separators += 1 }
            default: break
            }
        }
        return isEmpty ? 0 : separators + 1
    }
}

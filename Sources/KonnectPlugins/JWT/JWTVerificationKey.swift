import Crypto
import CryptoExtras
import KonnectConfig

/// One key a token can be verified with, bound to exactly one algorithm.
///
/// RSA keys must have at least 2048 bits: swift-crypto refuses smaller ones, so such a PEM or
/// JWK gives nil.
public struct JWTVerificationKey: Sendable {
    /// The only algorithm a token may name to be verified with this key.
    public let algorithm: JWTAlgorithm
    /// The parsed key; its kind always fits `algorithm`.
    private let material: Material

    /// A parsed key of one of the kinds JWS signs with.
    private enum Material: Sendable {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    private init(algorithm: JWTAlgorithm, material: Material) {
        self.algorithm = algorithm
        self.material = material
    }

    /// An HMAC key for HS256/384/512; nil for any other algorithm, and for an empty secret, with
    /// which anyone could sign.
    public init?(algorithm: JWTAlgorithm, secret: [UInt8]) {
        guard algorithm.isHMAC, !secret.isEmpty else { return nil }
        self.init(algorithm: algorithm, material: .hmac(SymmetricKey(data: secret)))
    }

    /// A public key from PEM text: RSA for RS* and PS* (`PUBLIC KEY` or `RSA PUBLIC KEY`), the
    /// matching NIST curve for ES256/384/512 and Ed25519 for EdDSA (`PUBLIC KEY`); nil if the PEM
    /// is not a public key of that kind, and always for HS*.
    public init?(algorithm: JWTAlgorithm, pem: String) {
        guard let label = Self.pemLabel(pem) else { return nil }
        let isSPKI = label == "PUBLIC KEY"
        let material: Material
        switch algorithm {
        case .hs256, .hs384, .hs512:
            return nil
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512:
            guard isSPKI || label == "RSA PUBLIC KEY",
                  let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            material = .rsa(key)
        case .es256:
            guard isSPKI, let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            material = .p256(key)
        case .es384:
            guard isSPKI, let key = try? P384.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            material = .p384(key)
        case .es512:
            guard isSPKI, let key = try? P521.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            material = .p521(key)
        case .edDSA:
            guard isSPKI, let key = try? Curve25519.Signing.PublicKey(pemRepresentation: pem) else { return nil }
            material = .ed25519(key)
        }
        self.init(algorithm: algorithm, material: material)
    }

    /// A key from one JWK (RFC 7517/7518): kty `RSA` (n, e), `EC` (crv P-256/P-384/P-521, x, y),
    /// `oct` (k) or `OKP` (crv Ed25519, x).
    ///
    /// The algorithm is the JWK's `alg` when present (nil if it does not fit the key), else the
    /// key's natural one: RS256, ES256/384/512 by curve, HS256 or EdDSA. Nil for keys whose `use`
    /// is not `sig`, whose `key_ops` lack `verify`, and for anything unusable.
    public init?(jwk: [String: JSONValue]) {
        if let use = jwk["use"], use != .string("sig") { return nil }
        if let operations = jwk["key_ops"] {
            guard case .array(let list) = operations, list.contains(.string("verify")) else { return nil }
        }
        let declared: JWTAlgorithm?
        switch jwk["alg"] {
        case nil: declared = nil
        case .string(let name)?:
            guard let algorithm = JWTAlgorithm(rawValue: name) else { return nil }
            declared = algorithm
        case _?: return nil
        }
        guard case .string(let keyType)? = jwk["kty"] else { return nil }

        let algorithm: JWTAlgorithm
        let material: Material
        switch keyType {
        case "RSA":
            algorithm = declared ?? .rs256
            guard Self.isRSA(algorithm),
                  let modulus = Self.field("n", of: jwk), let exponent = Self.field("e", of: jwk),
                  let key = try? _RSA.Signing.PublicKey(n: modulus, e: exponent) else { return nil }
            material = .rsa(key)
        case "EC":
            guard case .string(let curve)? = jwk["crv"],
                  let x = Self.field("x", of: jwk), let y = Self.field("y", of: jwk) else { return nil }
            // RFC 7518 §6.2.1.2: each coordinate is given at the curve's full size.
            let point = [0x04] + x + y
            switch curve {
            case "P-256":
                algorithm = .es256
                guard x.count == 32, y.count == 32,
                      let key = try? P256.Signing.PublicKey(x963Representation: point) else { return nil }
                material = .p256(key)
            case "P-384":
                algorithm = .es384
                guard x.count == 48, y.count == 48,
                      let key = try? P384.Signing.PublicKey(x963Representation: point) else { return nil }
                material = .p384(key)
            case "P-521":
                algorithm = .es512
                guard x.count == 66, y.count == 66,
                      let key = try? P521.Signing.PublicKey(x963Representation: point) else { return nil }
                material = .p521(key)
            default:
                return nil
            }
            guard declared == nil || declared == algorithm else { return nil }
        case "oct":
            algorithm = declared ?? .hs256
            guard algorithm.isHMAC, let secret = Self.field("k", of: jwk), !secret.isEmpty else { return nil }
            material = .hmac(SymmetricKey(data: secret))
        case "OKP":
            algorithm = declared ?? .edDSA
            guard algorithm == .edDSA, jwk["crv"] == .string("Ed25519"),
                  let x = Self.field("x", of: jwk), x.count == 32,
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else { return nil }
            material = .ed25519(key)
        default:
            return nil
        }
        self.init(algorithm: algorithm, material: material)
    }

    /// Whether `token` names exactly this key's algorithm and its signature is valid under this key.
    public func verifies(_ token: JWTToken) -> Bool {
        guard token.algorithm == algorithm.rawValue else { return false }
        let input = token.signingInput
        let signature = token.signature
        switch (algorithm, material) {
        case (.hs256, .hmac(let key)):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.hs384, .hmac(let key)):
            return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.hs512, .hmac(let key)):
            return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.rs256, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rs384, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rs512, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.ps256, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .PSS)
        case (.ps384, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .PSS)
        case (.ps512, .rsa(let key)):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .PSS)
        case (.es256, .p256(let key)):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA256.hash(data: input))
        case (.es384, .p384(let key)):
            guard let parsed = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA384.hash(data: input))
        case (.es512, .p521(let key)):
            guard let parsed = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA512.hash(data: input))
        case (.edDSA, .ed25519(let key)):
            return signature.count == 64 && key.isValidSignature(signature, for: input)
        default:
            return false
        }
    }

    /// Whether `algorithm` signs with an RSA key (RS* or PS*).
    private static func isRSA(_ algorithm: JWTAlgorithm) -> Bool {
        switch algorithm {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: true
        default: false
        }
    }

    /// The bytes of a JWK member holding base64url text; nil if missing, not a string or not base64url.
    private static func field(_ name: String, of jwk: [String: JSONValue]) -> [UInt8]? {
        guard case .string(let text)? = jwk[name] else { return nil }
        return Base64URL.decode(text.utf8)
    }

    /// The label of the first `-----BEGIN …-----` line in `pem`; nil if there is none.
    private static func pemLabel(_ pem: String) -> Substring? {
        guard let begin = pem.firstRange(of: "-----BEGIN ") else { return nil }
        let rest = pem[begin.upperBound...]
        guard let end = rest.firstRange(of: "-----") else { return nil }
        return rest[..<end.lowerBound]
    }
}

import Crypto
import CryptoExtras
import Foundation
import KonnectConfig
@testable import KonnectPlugins
import Testing

// MARK: - Helpers

/// Keys made once per test run: 2048-bit RSA generation is slow in debug builds.
private let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
private let otherRSAKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

/// Unpadded base64url of `bytes`, as JWS writes every part.
private func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Unpadded base64url of the UTF-8 of `text`.
private func base64URL(_ text: String) -> String { base64URL(Array(text.utf8)) }

/// A JOSE header naming `alg` and, when given, `kid`.
private func header(_ alg: String, kid: String? = nil) -> String {
    if let kid { return #"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid)"}"# }
    return #"{"alg":"\#(alg)","typ":"JWT"}"#
}

/// The private half of a key pair (or an HMAC secret) that tests sign with.
private enum Signer {
    case hmac([UInt8])
    case rsa(_RSA.Signing.PrivateKey)
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    /// A fresh signer of the kind `algorithm` needs (RSA ones share the two keys made above).
    static func fresh(for algorithm: JWTAlgorithm, other: Bool = false) -> Signer {
        switch algorithm {
        case .hs256, .hs384, .hs512: .hmac(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }))
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa(other ? otherRSAKey : rsaKey)
        case .es256: .p256(P256.Signing.PrivateKey())
        case .es384: .p384(P384.Signing.PrivateKey())
        case .es512: .p521(P521.Signing.PrivateKey())
        case .edDSA: .ed25519(Curve25519.Signing.PrivateKey())
        }
    }

    /// The signature of `input` under `algorithm`, as JWS carries it.
    func sign(_ input: [UInt8], _ algorithm: JWTAlgorithm) throws -> [UInt8] {
        switch (self, algorithm) {
        case (.hmac(let secret), .hs256): Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case (.hmac(let secret), .hs384): Array(HMAC<SHA384>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case (.hmac(let secret), .hs512): Array(HMAC<SHA512>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case (.rsa(let key), .rs256): Array(try key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .rs384): Array(try key.signature(for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .rs512): Array(try key.signature(for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), .ps256): Array(try key.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation)
        case (.rsa(let key), .ps384): Array(try key.signature(for: SHA384.hash(data: input), padding: .PSS).rawRepresentation)
        case (.rsa(let key), .ps512): Array(try key.signature(for: SHA512.hash(data: input), padding: .PSS).rawRepresentation)
        case (.p256(let key), .es256): Array(try key.signature(for: input).rawRepresentation)
        case (.p384(let key), .es384): Array(try key.signature(for: input).rawRepresentation)
        case (.p521(let key), .es512): Array(try key.signature(for: input).rawRepresentation)
        case (.ed25519(let key), .edDSA): Array(try key.signature(for: input))
        default: throw SignerMismatch()
        }
    }

    /// The verification key the library makes of this signer's public half (PEM) or secret.
    func verificationKey(_ algorithm: JWTAlgorithm) -> JWTVerificationKey? {
        switch self {
        case .hmac(let secret): JWTVerificationKey(algorithm: algorithm, secret: secret)
        case .rsa(let key): JWTVerificationKey(algorithm: algorithm, pem: key.publicKey.pemRepresentation)
        case .p256(let key): JWTVerificationKey(algorithm: algorithm, pem: key.publicKey.pemRepresentation)
        case .p384(let key): JWTVerificationKey(algorithm: algorithm, pem: key.publicKey.pemRepresentation)
        case .p521(let key): JWTVerificationKey(algorithm: algorithm, pem: key.publicKey.pemRepresentation)
        case .ed25519(let key): JWTVerificationKey(algorithm: algorithm, pem: key.publicKey.pemRepresentation)
        }
    }
}

private struct SignerMismatch: Error {}

/// A compact JWS of `header` and `payload` signed by `sign`.
private func compact(
    header: String, payload: String = #"{"sub":"alice","exp":1900000000}"#, sign: ([UInt8]) throws -> [UInt8]
) rethrows -> String {
    let input = base64URL(header) + "." + base64URL(payload)
    return input + "." + base64URL(try sign(Array(input.utf8)))
}

/// A token for `algorithm` signed by `signer`.
private func signedToken(_ algorithm: JWTAlgorithm, by signer: Signer, kid: String? = nil,
                         payload: String = #"{"sub":"alice","exp":1900000000}"#) throws -> String {
    try compact(header: header(algorithm.rawValue, kid: kid), payload: payload) { try signer.sign($0, algorithm) }
}

/// Whether `compact` verifies under `key` (false when it does not even parse).
private func verifies(_ compact: String, _ key: JWTVerificationKey) -> Bool {
    guard let token = try? JWTToken(compact: compact) else { return false }
    return key.verifies(token)
}

/// The reason `compact` was rejected with, or nil if it parsed or failed some other way.
private func malformedReason(_ compact: String) -> String? {
    do {
        _ = try JWTToken(compact: compact)
        return nil
    } catch {
        guard case .malformed(let reason) = error else { return nil }
        return reason
    }
}

// MARK: - Signing and verifying, per family

@Suite("JWT verification")
struct JWTVerificationTests {
    @Test("HMAC tokens verify", arguments: [JWTAlgorithm.hs256, .hs384, .hs512])
    func hmacVerifies(algorithm: JWTAlgorithm) throws {
        let signer = Signer.fresh(for: algorithm)
        let key = try #require(signer.verificationKey(algorithm))
        #expect(verifies(try signedToken(algorithm, by: signer), key))
    }

    @Test("RSA tokens verify (PKCS#1 v1.5 and PSS)", arguments: [JWTAlgorithm.rs256, .rs384, .rs512, .ps256, .ps384, .ps512])
    func rsaVerifies(algorithm: JWTAlgorithm) throws {
        let signer = Signer.fresh(for: algorithm)
        let key = try #require(signer.verificationKey(algorithm))
        #expect(verifies(try signedToken(algorithm, by: signer), key))
    }

    @Test("an RSA PUBLIC KEY (PKCS#1) PEM is accepted too")
    func rsaPKCS1PEM() throws {
        let key = try #require(JWTVerificationKey(algorithm: .rs256, pem: rsaKey.publicKey.pkcs1PEMRepresentation))
        #expect(verifies(try signedToken(.rs256, by: .rsa(rsaKey)), key))
    }

    @Test("ECDSA tokens verify", arguments: [JWTAlgorithm.es256, .es384, .es512])
    func ecdsaVerifies(algorithm: JWTAlgorithm) throws {
        let signer = Signer.fresh(for: algorithm)
        let key = try #require(signer.verificationKey(algorithm))
        #expect(verifies(try signedToken(algorithm, by: signer), key))
    }

    @Test("EdDSA tokens verify")
    func edDSAVerifies() throws {
        let signer = Signer.fresh(for: .edDSA)
        let key = try #require(signer.verificationKey(.edDSA))
        #expect(verifies(try signedToken(.edDSA, by: signer), key))
    }

    @Test("a tampered payload fails", arguments: JWTAlgorithm.allCases)
    func tamperedPayloadFails(algorithm: JWTAlgorithm) throws {
        let signer = Signer.fresh(for: algorithm)
        let key = try #require(signer.verificationKey(algorithm))
        let parts = try signedToken(algorithm, by: signer).split(separator: ".")
        let forged = [String(parts[0]), base64URL(#"{"sub":"admin","exp":1900000000}"#), String(parts[2])].joined(separator: ".")
        #expect(!verifies(forged, key))
    }

    @Test("a token signed by another key fails", arguments: JWTAlgorithm.allCases)
    func otherKeyFails(algorithm: JWTAlgorithm) throws {
        let key = try #require(Signer.fresh(for: algorithm).verificationKey(algorithm))
        let token = try signedToken(algorithm, by: Signer.fresh(for: algorithm, other: true))
        #expect(!verifies(token, key))
    }

    // MARK: - Attacks

    @Test("alg none never verifies")
    func unsecuredTokenFails() throws {
        for alg in ["none", "None", "NONE"] {
            let token = base64URL(#"{"alg":"\#(alg)"}"#) + "." + base64URL(#"{"sub":"admin"}"#) + "."
            let parsed = try JWTToken(compact: token)
            #expect(parsed.algorithm == alg)
            for algorithm in JWTAlgorithm.allCases {
                let key = try #require(Signer.fresh(for: algorithm).verificationKey(algorithm))
                #expect(!key.verifies(parsed))
            }
        }
    }

    @Test("an empty signature fails", arguments: JWTAlgorithm.allCases)
    func emptySignatureFails(algorithm: JWTAlgorithm) throws {
        let key = try #require(Signer.fresh(for: algorithm).verificationKey(algorithm))
        let token = compact(header: header(algorithm.rawValue)) { _ in [] }
        #expect(token.hasSuffix("."))
        #expect(!verifies(token, key))
    }

    @Test("an HS256 token keyed with the RSA public key's PEM does not verify against that key")
    func keyConfusionFails() throws {
        let pem = rsaKey.publicKey.pemRepresentation
        let forged = try compact(header: header("HS256")) { try Signer.hmac(Array(pem.utf8)).sign($0, .hs256) }
        for algorithm in [JWTAlgorithm.rs256, .rs384, .rs512, .ps256, .ps384, .ps512] {
            let key = try #require(JWTVerificationKey(algorithm: algorithm, pem: pem))
            #expect(!verifies(forged, key))
        }
        #expect(JWTVerificationKey(algorithm: .hs256, pem: pem) == nil)
    }

    @Test("a token whose alg differs from the key's fails, even when the signature is good")
    func algorithmMismatchFails() throws {
        let rsaToken = try signedToken(.rs256, by: .rsa(rsaKey))
        for algorithm in [JWTAlgorithm.rs384, .ps256] {
            let key = try #require(JWTVerificationKey(algorithm: algorithm, pem: rsaKey.publicKey.pemRepresentation))
            #expect(!verifies(rsaToken, key))
        }
        // A correct HS256 MAC under a header spelling the algorithm in another case.
        let secret = Array("a shared secret of some length".utf8)
        let key = try #require(JWTVerificationKey(algorithm: .hs256, secret: secret))
        let lowercase = try compact(header: header("hs256")) { try Signer.hmac(secret).sign($0, .hs256) }
        #expect(!verifies(lowercase, key))
        // The same MAC bytes presented as HS384 under an HS384 key of the same secret.
        let hs384Key = try #require(JWTVerificationKey(algorithm: .hs384, secret: secret))
        let relabelled = try compact(header: header("HS384")) { try Signer.hmac(secret).sign($0, .hs256) }
        #expect(!verifies(relabelled, hs384Key))
    }

    @Test("an ECDSA signature of the wrong length (DER) fails")
    func ecdsaDERSignatureFails() throws {
        let privateKey = P256.Signing.PrivateKey()
        let key = try #require(JWTVerificationKey(algorithm: .es256, pem: privateKey.publicKey.pemRepresentation))
        let token = try compact(header: header("ES256")) { Array(try privateKey.signature(for: $0).derRepresentation) }
        #expect(!verifies(token, key))
    }

    @Test("HMAC keys need an HS algorithm and a non-empty secret")
    func hmacKeyRules() {
        #expect(JWTVerificationKey(algorithm: .hs256, secret: []) == nil)
        #expect(JWTVerificationKey(algorithm: .rs256, secret: Array("secret".utf8)) == nil)
        #expect(JWTVerificationKey(algorithm: .hs512, secret: Array("secret".utf8))?.algorithm == .hs512)
    }

    // MARK: - Parsing

    @Test("header and claims are decoded")
    func parsesHeaderAndClaims() throws {
        let signer = Signer.fresh(for: .hs256)
        let token = try JWTToken(compact: try signedToken(.hs256, by: signer, kid: "key-1"))
        #expect(token.algorithm == "HS256")
        #expect(token.keyID == "key-1")
        #expect(token.header["typ"] == .string("JWT"))
        #expect(token.claims["sub"] == .string("alice"))
        #expect(token.claims["exp"] == .number(1_900_000_000))
        #expect(token.signature.count == 32)
    }

    @Test("commas and braces inside strings and nested values are not taken for members")
    func memberCountingIgnoresNestedText() throws {
        let header = #"{"alg":"HS256","note":"a\",\"alg\":{[","nested":{"alg":"x","y":[1,2,{"z":","}]},"e":"\\"}"#
        let token = try JWTToken(compact: base64URL(header) + "." + base64URL(#"{}"#) + ".AQID")
        #expect(token.algorithm == "HS256")
        #expect(token.header.count == 4)
        #expect(token.claims.isEmpty)
    }

    struct MalformedCase: Sendable, CustomTestStringConvertible {
        let name: String
        let token: String
        var testDescription: String { name }
    }

    static let good = base64URL(header("HS256")) + "." + base64URL(#"{"sub":"alice"}"#) + "." + base64URL([1, 2, 3])

    static let malformedCases: [MalformedCase] = [
        MalformedCase(name: "empty", token: ""),
        MalformedCase(name: "two parts", token: base64URL(header("HS256")) + "." + base64URL("{}")),
        MalformedCase(name: "four parts", token: good + ".AAAA"),
        MalformedCase(name: "five parts (JWE-shaped)", token: good + ".AAAA.AAAA"),
        MalformedCase(name: "character outside base64url", token: "eyJ+" + good.dropFirst(4)),
        MalformedCase(name: "standard base64 slash", token: good.replacingOccurrences(of: "AQID", with: "AQ/D")),
        MalformedCase(name: "padding", token: good + "="),
        MalformedCase(name: "padded header", token: Data(#"{"alg":"HS256" }"#.utf8).base64EncodedString() + ".e30.AQID"),
        MalformedCase(name: "impossible length", token: base64URL(header("HS256")) + ".e30.A"),
        MalformedCase(name: "non-zero trailing bits", token: base64URL(header("HS256")) + ".e30.AR"),
        MalformedCase(name: "header not JSON", token: base64URL("not json") + ".e30.AQID"),
        MalformedCase(name: "header a JSON array", token: base64URL(#"["HS256"]"#) + ".e30.AQID"),
        MalformedCase(name: "header a JSON string", token: base64URL(#""HS256""#) + ".e30.AQID"),
        MalformedCase(name: "header not UTF-8", token: base64URL([0x7B, 0xFF, 0x7D]) + ".e30.AQID"),
        MalformedCase(name: "payload a JSON array", token: base64URL(header("HS256")) + "." + base64URL("[1]") + ".AQID"),
        MalformedCase(name: "payload empty", token: base64URL(header("HS256")) + "..AQID"),
        MalformedCase(name: "no alg", token: base64URL(#"{"typ":"JWT"}"#) + ".e30.AQID"),
        MalformedCase(name: "alg not a string", token: base64URL(#"{"alg":256}"#) + ".e30.AQID"),
        MalformedCase(name: "kid not a string", token: base64URL(#"{"alg":"HS256","kid":7}"#) + ".e30.AQID"),
        MalformedCase(name: "critical extension", token: base64URL(#"{"alg":"HS256","crit":["b64"],"b64":false}"#) + ".e30.AQID"),
        MalformedCase(name: "repeated header name", token: base64URL(#"{"alg":"none","alg":"HS256"}"#) + ".e30.AQID"),
        MalformedCase(name: "repeated claim name", token: base64URL(header("HS256")) + "." + base64URL(#"{"sub":"alice","sub":"admin"}"#) + ".AQID"),
        MalformedCase(name: "repeated name spelled with an escape", token: base64URL(#"{"alg":"HS256","\u0061lg":"none"}"#) + ".e30.AQID"),
        MalformedCase(
            name: "over-long",
            token: base64URL(header("HS256")) + "." + base64URL(#"{"pad":""# + String(repeating: "x", count: 13_000) + #""}"#) + ".AQID"
        ),
    ]

    @Test("malformed tokens throw .malformed without echoing the token", arguments: malformedCases)
    func malformedTokensThrow(_ example: MalformedCase) throws {
        let reason = try #require(malformedReason(example.token))
        #expect(!reason.isEmpty)
        if example.token.count > 8 {
            #expect(!reason.contains(example.token))
            #expect(!JWTError.malformed(reason).description.contains(example.token))
        }
    }

    @Test("the length cap is exactly JWTToken.maximumLength bytes")
    func lengthCap() throws {
        let prefix = base64URL(header("HS256")) + "."
        let suffix = ".AQID"
        let filler = JWTToken.maximumLength - prefix.utf8.count - suffix.utf8.count
        // "e30" is "{}"; pad with whitespace inside the JSON, encoded in whole groups of 4.
        let payloadLength = filler / 4 * 3
        let payload = base64URL("{" + String(repeating: " ", count: payloadLength - 2) + "}")
        let atCap = prefix + payload + suffix
        #expect(atCap.utf8.count <= JWTToken.maximumLength)
        #expect(throws: Never.self) { try JWTToken(compact: atCap) }
        let overCap = prefix + payload + String(repeating: "A", count: JWTToken.maximumLength) + suffix
        #expect(malformedReason(overCap)?.contains("longer") == true)
    }

    @Test("the base64url decoder is strict")
    func base64URLDecoder() {
        #expect(Base64URL.decode("".utf8) == [])
        #expect(Base64URL.decode("AQID".utf8) == [1, 2, 3])
        #expect(Base64URL.decode("AQI".utf8) == [1, 2])
        #expect(Base64URL.decode("AQ".utf8) == [1])
        #expect(Base64URL.decode("-_8".utf8) == [0xFB, 0xFF])
        #expect(Base64URL.decode("AQ==".utf8) == nil)
        #expect(Base64URL.decode("AR".utf8) == nil)
        #expect(Base64URL.decode("AQJ".utf8) == nil)
        #expect(Base64URL.decode("A".utf8) == nil)
        #expect(Base64URL.decode("+/8".utf8) == nil)
        #expect(Base64URL.decode("AQ ID".utf8) == nil)
    }

    // MARK: - PEM

    @Test("a PEM of the wrong type gives nil")
    func wrongPEMType() {
        let p256 = P256.Signing.PrivateKey()
        let p384 = P384.Signing.PrivateKey()
        let ed25519 = Curve25519.Signing.PrivateKey()
        let rsaPEM = rsaKey.publicKey.pemRepresentation
        #expect(JWTVerificationKey(algorithm: .rs256, pem: p256.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .ps256, pem: ed25519.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .es256, pem: rsaPEM) == nil)
        #expect(JWTVerificationKey(algorithm: .es256, pem: p384.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .es384, pem: p256.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .es512, pem: p256.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .edDSA, pem: p256.publicKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .edDSA, pem: rsaPEM) == nil)
        #expect(JWTVerificationKey(algorithm: .hs256, pem: p256.publicKey.pemRepresentation) == nil)
        // Private keys and non-PEM text are not public keys.
        #expect(JWTVerificationKey(algorithm: .es256, pem: p256.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .edDSA, pem: ed25519.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .rs256, pem: rsaKey.pemRepresentation) == nil)
        #expect(JWTVerificationKey(algorithm: .rs256, pem: "not a key") == nil)
        // A PUBLIC KEY body under another label.
        let relabelled = p256.publicKey.pemRepresentation.replacingOccurrences(of: "PUBLIC KEY", with: "CERTIFICATE")
        #expect(JWTVerificationKey(algorithm: .es256, pem: relabelled) == nil)
    }

    // MARK: - JWK sets

    @Test("a JWK set with RSA, EC, oct and OKP keys parses; candidates go by kid and alg")
    func jwkSet() throws {
        let primitives = try rsaKey.publicKey.getKeyPrimitives()
        let p256 = P256.Signing.PrivateKey()
        let point = Array(p256.publicKey.rawRepresentation)
        let ed25519 = Curve25519.Signing.PrivateKey()
        let secret = Array("an oct secret for HS384 tokens".utf8)
        let json = """
            {"keys":[
              {"kty":"RSA","kid":"rsa-1","use":"sig","n":"\(base64URL(primitives.modulus))","e":"\(base64URL(primitives.publicExponent))"},
              {"kty":"RSA","kid":"rsa-pss","alg":"PS256","n":"\(base64URL(primitives.modulus))","e":"\(base64URL(primitives.publicExponent))"},
              {"kty":"EC","kid":"ec-1","crv":"P-256","x":"\(base64URL(point[..<32]))","y":"\(base64URL(point[32...]))"},
              {"kty":"oct","kid":"hmac-1","alg":"HS384","k":"\(base64URL(secret))"},
              {"kty":"OKP","crv":"Ed25519","x":"\(base64URL(ed25519.publicKey.rawRepresentation))"},
              {"kty":"unknown","kid":"mystery","k":"AQID"},
              {"kty":"RSA","kid":"rsa-enc","use":"enc","n":"\(base64URL(primitives.modulus))","e":"\(base64URL(primitives.publicExponent))"},
              {"kty":"RSA","kid":"rsa-oaep","alg":"RSA-OAEP","n":"\(base64URL(primitives.modulus))","e":"\(base64URL(primitives.publicExponent))"},
              {"kty":"EC","kid":"ec-wrong-alg","alg":"ES384","crv":"P-256","x":"\(base64URL(point[..<32]))","y":"\(base64URL(point[32...]))"},
              {"kty":"EC","kid":"ec-short","crv":"P-256","x":"\(base64URL(point[1..<32]))","y":"\(base64URL(point[32...]))"},
              {"kty":"OKP","kid":"x25519","crv":"X25519","x":"\(base64URL(ed25519.publicKey.rawRepresentation))"},
              {"kty":"oct","kid":"empty","k":""},
              {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":"\(base64URL(primitives.modulus))","e":"\(base64URL(primitives.publicExponent))"},
              "not an object"
            ]}
            """
        let set = try JWKSet(json: json)
        #expect(set.entries.map(\.keyID) == ["rsa-1", "rsa-pss", "ec-1", "hmac-1", nil])
        #expect(set.entries.map(\.key.algorithm) == [.rs256, .ps256, .es256, .hs384, .edDSA])

        #expect(set.candidates(keyID: "rsa-1", algorithm: "RS256").count == 1)
        #expect(set.candidates(keyID: "rsa-1", algorithm: "PS256").isEmpty)
        #expect(set.candidates(keyID: nil, algorithm: "RS256").count == 1)
        #expect(set.candidates(keyID: nil, algorithm: "EdDSA").count == 1)
        #expect(set.candidates(keyID: "nope", algorithm: "RS256").isEmpty)
        #expect(set.candidates(keyID: "mystery", algorithm: "HS256").isEmpty)
        #expect(set.candidates(keyID: nil, algorithm: "none").isEmpty)

        #expect(set.verifies(try JWTToken(compact: try signedToken(.rs256, by: .rsa(rsaKey), kid: "rsa-1"))))
        #expect(set.verifies(try JWTToken(compact: try signedToken(.ps256, by: .rsa(rsaKey), kid: "rsa-pss"))))
        #expect(set.verifies(try JWTToken(compact: try signedToken(.es256, by: .p256(p256), kid: "ec-1"))))
        #expect(set.verifies(try JWTToken(compact: try signedToken(.hs384, by: .hmac(secret), kid: "hmac-1"))))
        #expect(set.verifies(try JWTToken(compact: try signedToken(.edDSA, by: .ed25519(ed25519)))))
        // Right key, wrong kid; and an RS256 signature presented under the PSS key's kid.
        #expect(!set.verifies(try JWTToken(compact: try signedToken(.es256, by: .p256(p256), kid: "rsa-1"))))
        #expect(!set.verifies(try JWTToken(compact: try signedToken(.rs256, by: .rsa(rsaKey), kid: "rsa-pss"))))
        #expect(!set.verifies(try JWTToken(compact: try signedToken(.rs256, by: .rsa(otherRSAKey), kid: "rsa-1"))))
    }

    @Test("EC JWKs of every curve verify", arguments: [JWTAlgorithm.es256, .es384, .es512])
    func ecJWK(algorithm: JWTAlgorithm) throws {
        let signer = Signer.fresh(for: algorithm)
        let (curve, point): (String, [UInt8]) = switch signer {
        case .p256(let key): ("P-256", Array(key.publicKey.rawRepresentation))
        case .p384(let key): ("P-384", Array(key.publicKey.rawRepresentation))
        case .p521(let key): ("P-521", Array(key.publicKey.rawRepresentation))
        default: ("", [])
        }
        let half = point.count / 2
        let jwk: [String: JSONValue] = [
            "kty": .string("EC"), "crv": .string(curve),
            "x": .string(base64URL(point[..<half])), "y": .string(base64URL(point[half...])),
        ]
        let key = try #require(JWTVerificationKey(jwk: jwk))
        #expect(key.algorithm == algorithm)
        #expect(verifies(try signedToken(algorithm, by: signer), key))
        // The point must be on the curve.
        var offCurve = jwk
        offCurve["y"] = .string(base64URL(point[half...].map { $0 ^ 1 }))
        #expect(JWTVerificationKey(jwk: offCurve) == nil)
    }

    @Test("documents that are not key sets throw .invalidKeySet")
    func invalidKeySets() {
        for json in ["", "not json", "[]", #"{"keys":{}}"#, #"{"key":[]}"#] {
            #expect {
                try JWKSet(json: json)
            } throws: { error in
                guard case .invalidKeySet(let reason) = error as? JWTError else { return false }
                return !reason.isEmpty
            }
        }
        #expect((try? JWKSet(json: #"{"keys":[]}"#))?.entries.isEmpty == true)
    }
}

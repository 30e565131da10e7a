import Crypto
import Foundation
import KonnectConfig
import KonnectProxy
import Testing

/// jwt on the proxy path: stored credentials (HMAC), time claims, and an identity provider's
/// JWKS with key rotation.
@Suite("Plugins: jwt")
struct JWTPluginTests {
    static let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice")
    static let secret = "a-shared-secret-of-some-length"

    static func configuration(port: Int, config: JSONValue = .object([:])) -> Configuration {
        pluginConfiguration(port: port, plugins: [Plugin(id: "p-jwt", name: "jwt", config: config)], consumers: [alice]) {
            $0.jwtSecrets = [JWTSecret(id: "j-alice", consumerID: alice.id, key: "alice-issuer", secret: secret)]
        }
    }

    static func encode(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hs256(_ claims: String, secret: String = secret, header: String = #"{"alg":"HS256","typ":"JWT"}"#) -> String {
        let input = encode(header) + "." + encode(claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func es256(_ claims: String, key: P256.Signing.PrivateKey, kid: String) throws -> String {
        let input = encode(#"{"alg":"ES256","kid":"\#(kid)"}"#) + "." + encode(claims)
        let signature = try key.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + signature.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func jwks(_ keys: [(String, P256.Signing.PrivateKey)]) -> String {
        let entries = keys.map { kid, key in
            let point = key.publicKey.x963Representation
            func b64(_ bytes: Data) -> String {
                bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            }
            return #"{"kty":"EC","crv":"P-256","kid":"\#(kid)","use":"sig","x":"\#(b64(point[1...32]))","y":"\#(b64(point[33...64]))"}"#
        }
        return #"{"keys":[\#(entries.joined(separator: ","))]}"#
    }

    @Test func aValidTokenIdentifiesTheConsumer() async throws {
        let token = Self.hs256(#"{"iss":"alice-issuer","sub":"42"}"#)
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let byHeader = try await client.get("/x", headers: [("Authorization", "Bearer \(token)")])
            #expect(byHeader.status == 200)
            #expect(byHeader.text.lowercased().contains("x-consumer-username: alice"))
            #expect(byHeader.text.lowercased().contains("x-credential-identifier: j-alice"))
            let byQuery = try await client.get("/x?jwt=\(token)")
            #expect(byQuery.status == 200)
        }
    }

    @Test(arguments: [
        ("none", "Unauthorized"),
        ("garbage", "Bad token"),
        ("wrong-secret", "Invalid signature"),
        ("alg-none", "Invalid algorithm"),
        ("unknown-issuer", "No credentials found for given 'iss'"),
        ("no-issuer", "No mandatory 'iss' in claims"),
        ("expired", "Token expired"),
        ("not-yet", "Token not valid yet"),
        ("too-long-lived", "exceeds the maximum"),
        ("two-tokens", "Multiple tokens provided"),
    ])
    func badTokensAreRefused(kind: String, message: String) async throws {
        let now = Int(Date().timeIntervalSince1970)
        let token: String? = switch kind {
        case "none", "two-tokens": nil
        case "garbage": "not.a.token"
        case "wrong-secret": Self.hs256(#"{"iss":"alice-issuer"}"#, secret: "another-secret")
        case "alg-none": Self.encode(#"{"alg":"none"}"#) + "." + Self.encode(#"{"iss":"alice-issuer"}"#) + "."
        case "unknown-issuer": Self.hs256(#"{"iss":"mallory"}"#)
        case "no-issuer": Self.hs256(#"{"sub":"x"}"#)
        case "expired": Self.hs256(#"{"iss":"alice-issuer","exp":\#(now - 10),"nbf":\#(now - 100)}"#)
        case "not-yet": Self.hs256(#"{"iss":"alice-issuer","exp":\#(now + 100),"nbf":\#(now + 50)}"#)
        default: Self.hs256(#"{"iss":"alice-issuer","exp":\#(now + 100_000),"nbf":\#(now - 1)}"#)
        }
        let config: JSONValue = .object([
            "claims_to_verify": .array([.string("exp"), .string("nbf")]), "maximum_expiration": .number(3600),
        ])
        try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            var headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
            var path = "/x"
            if kind == "two-tokens" {
                headers = [("Authorization", "Bearer \(Self.hs256(#"{"iss":"alice-issuer","n":1}"#))")]
                path = "/x?jwt=" + Self.hs256(#"{"iss":"alice-issuer","n":2}"#)
            }
            let response = try await client.get(path, headers: headers)
            #expect(response.status == 401)
            #expect(response.text.contains(message), "\(response.text)")
            #expect(response.header("www-authenticate")?.hasPrefix("Bearer") == true)
            #expect(fx.origin.requests == 0)
        }
    }

    @Test func tokensFromAnIdentityProviderVerifyThroughItsJWKSAcrossKeyRotation() async throws {
        let first = P256.Signing.PrivateKey(), second = P256.Signing.PrivateKey()
        let firstSet = Self.jwks([("k1", first)])
        try await withStubServer(answer: { _ in (200, firstSet) }) { provider in
            let config: JSONValue = .object(["jwks_uri": .string("http://127.0.0.1:\(provider.port)/jwks"), "jwks_refresh_interval": .number(3)])
            try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let firstToken = try Self.es256(#"{"iss":"https://idp.example","sub":"u1"}"#, key: first, kid: "k1")
                #expect(try await client.get("/x", headers: [("Authorization", "Bearer \(firstToken)")]).status == 200)
                #expect(try await client.get("/x", headers: [("Authorization", "Bearer \(firstToken)")]).status == 200)
                #expect(provider.requests.count == 1)  // fetched once, then cached

                // The provider rotates to a new key: the unknown kid triggers one fetch.
                let bothSet = Self.jwks([("k1", first), ("k2", second)])
                provider.answer { _ in (200, bothSet) }
                // Past the refresh interval (long enough that the check below, right after the
                // fetch, cannot also be past it on a loaded machine).
                try await Task.sleep(for: .milliseconds(3100))
                let secondToken = try Self.es256(#"{"iss":"https://idp.example","sub":"u1"}"#, key: second, kid: "k2")
                #expect(try await client.get("/x", headers: [("Authorization", "Bearer \(secondToken)")]).status == 200)
                #expect(provider.requests.count == 2)

                // A made-up kid right after is refused without another fetch.
                let forged = try Self.es256(#"{"iss":"https://idp.example"}"#, key: P256.Signing.PrivateKey(), kid: "k9")
                #expect(try await client.get("/x", headers: [("Authorization", "Bearer \(forged)")]).status == 401)
                #expect(provider.requests.count == 2)
            }
        }
    }

    @Test func aCredentialWithItsOwnJWKSIdentifiesItsConsumer() async throws {
        let key = P256.Signing.PrivateKey()
        let keySet = Self.jwks([("k1", key)])
        try await withStubServer(answer: { _ in (200, keySet) }) { provider in
            let url = "http://127.0.0.1:\(provider.port)/jwks"
            try await withProxy(configure: { ports in
                var configuration = Self.configuration(port: ports[0])
                configuration.jwtSecrets.append(JWTSecret(id: "j-idp", consumerID: Self.alice.id, key: "https://idp.example",
                                                          secret: "", algorithm: .es256, jwksURI: url))
                return configuration
            }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let token = try Self.es256(#"{"iss":"https://idp.example","sub":"u1"}"#, key: key, kid: "k1")
                let response = try await client.get("/x", headers: [("Authorization", "Bearer \(token)")])
                #expect(response.status == 200)
                #expect(response.text.lowercased().contains("x-credential-identifier: j-idp"))
                #expect(response.text.lowercased().contains("x-consumer-username: alice"))

                // The credential names ES256: an HMAC token claiming that issuer is refused.
                let hmac = Self.hs256(#"{"iss":"https://idp.example"}"#)
                let refused = try await client.get("/x", headers: [("Authorization", "Bearer \(hmac)")])
                #expect(refused.status == 401)
                #expect(refused.text.contains("Invalid algorithm"))
                // Another provider's key with the same kid does not verify.
                let forged = try Self.es256(#"{"iss":"https://idp.example"}"#, key: P256.Signing.PrivateKey(), kid: "k1")
                #expect(try await client.get("/x", headers: [("Authorization", "Bearer \(forged)")]).status == 401)
                #expect(provider.requests.count == 1)
            }
        }
    }
}

import Foundation
import KonnectTestSupport
import Testing

@testable import KonnectConfig

/// Consumer credentials, certificates, SNIs and CA certificates in declarative files.
@Suite("Declarative configuration: credentials and certificates")
struct CredentialsConfigTests {
    static func parse(_ body: String) throws(ConfigValidationError) -> Configuration {
        try DeclarativeConfig.parse("_format_version: \"3.0\"\n" + body)
    }

    static func issues(_ body: String) -> [ConfigIssue] {
        do {
            _ = try parse(body)
            return []
        } catch {
            return error.issues
        }
    }

    /// A PEM block indented for a YAML literal block at `spaces`.
    static func block(_ pem: String, indent spaces: Int) -> String {
        let pad = String(repeating: " ", count: spaces)
        return "|\n" + pem.split(separator: "\n").map { pad + $0 }.joined(separator: "\n")
    }

    @Test func credentialsNestedUnderAConsumerAndAtTopLevelBelongToIt() throws {
        let configuration = try Self.parse("""
            consumers:
              - username: alice
                keyauth_credentials:
                  - key: alice-key-1
                basicauth_credentials:
                  - username: alice
                    password: s3cret
                jwt_secrets:
                  - key: alice-issuer
                    secret: shared-secret
                  - key: https://idp.example
                    algorithm: ES256
                    jwks_uri: https://idp.example/.well-known/jwks.json
                acls:
                  - group: admins
              - username: bob
            keyauth_credentials:
              - consumer: alice
                key: alice-key-2
            acls:
              - consumer: bob
                group: admins
            """)
        let alice = try #require(configuration.consumers.first { $0.username == "alice" })
        let bob = try #require(configuration.consumers.first { $0.username == "bob" })
        #expect(configuration.keyAuthCredentials.map(\.key) == ["alice-key-1", "alice-key-2"])
        #expect(configuration.keyAuthCredentials.allSatisfy { $0.consumerID == alice.id })
        #expect(configuration.jwtSecrets.first?.algorithm == .hs256)
        #expect(configuration.jwtSecrets.first?.secret == "shared-secret")
        #expect(configuration.jwtSecrets.last?.jwksURI == "https://idp.example/.well-known/jwks.json")
        #expect(configuration.jwtSecrets.last?.rsaPublicKey == nil)
        #expect(configuration.acls.map(\.consumerID) == [alice.id, bob.id])

        // The password is kept only as a salted hash that verifies it.
        let basic = try #require(configuration.basicAuthCredentials.first)
        #expect(basic.consumerID == alice.id)
        #expect(basic.passwordHash.hasPrefix("$pbkdf2-sha256$i=600000$"))
        #expect(!basic.passwordHash.contains("s3cret"))
        #expect(PasswordHash.verify("s3cret", against: basic.passwordHash))
        #expect(!PasswordHash.verify("s3cret ", against: basic.passwordHash))

        // Ids derive from what identifies each credential, so reloading keeps them.
        let again = try Self.parse("""
            consumers:
              - username: alice
                keyauth_credentials:
                  - key: alice-key-1
            """)
        #expect(again.keyAuthCredentials.first?.id == configuration.keyAuthCredentials.first?.id)
    }

    @Test func aPasswordHashIsKeptSoAnExportLoadsBackUnchanged() throws {
        let hash = PasswordHash.make("open sesame", rounds: 100_000)
        let configuration = try Self.parse("""
            consumers:
              - username: carol
                basicauth_credentials:
                  - username: carol
                    password: "\(hash)"
            """)
        #expect(configuration.basicAuthCredentials.first?.passwordHash == hash)
        #expect(try DeclarativeConfig.parse(configuration.declarativeYAML) == configuration)

        // Something that claims to be a hash but is not a usable one is refused, not hashed again.
        let weak = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$" + String(repeating: "A", count: 43)
        let found = Self.issues("""
            basicauth_credentials:
              - consumer: carol
                username: carol
                password: "\(weak)"
            consumers:
              - username: carol
            """)
        #expect(found.map(\.path) == ["basicauth_credentials[0].password"])
    }

    @Test func secretsAreNeverQuotedInIssues() throws {
        let found = Self.issues("""
            consumers:
              - username: dave
                keyauth_credentials:
                  - key: "has a space"
                basicauth_credentials:
                  - username: dave
                    password: 123456
                jwt_secrets:
                  - key: dave-issuer
                    secret: "tab\\there"
            certificates:
              - cert: not a certificate
                key: "-----BEGIN PRIVATE KEY-----\\nTOPSECRETMATERIAL\\n-----END PRIVATE KEY-----"
            """)
        #expect(Set(found.map(\.path)) == [
            "consumers[0].keyauth_credentials[0].key", "consumers[0].basicauth_credentials[0].password",
            "consumers[0].jwt_secrets[0].secret", "certificates[0].cert",
        ])
        for issue in found {
            #expect(!issue.description.contains("has a space"))
            #expect(!issue.description.contains("123456"))
            #expect(!issue.description.contains("tab"))
            #expect(!issue.description.contains("TOPSECRET"))
        }
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var path: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "a top-level credential without a consumer", body: """
            keyauth_credentials:
              - key: orphan
            """, path: "keyauth_credentials[0].consumer"),
        Refusal(name: "a consumer that does not exist", body: """
            acls:
              - consumer: nobody
                group: admins
            """, path: "acls[0].consumer"),
        Refusal(name: "the same key twice", body: """
            consumers:
              - username: a
                keyauth_credentials: [{key: same}]
              - username: b
                keyauth_credentials: [{key: same}]
            """, path: "consumers[1].keyauth_credentials[0].key"),
        Refusal(name: "a basic-auth username twice", body: """
            consumers:
              - username: a
                basicauth_credentials: [{username: u, password: p1}, {username: u, password: p2}]
            """, path: "consumers[0].basicauth_credentials[1].username"),
        Refusal(name: "a consumer in the same ACL group twice", body: """
            consumers:
              - username: a
                acls: [{group: admins}, {group: admins}]
            """, path: "consumers[0].acls[1]"),
        Refusal(name: "an unknown JWT algorithm", body: """
            consumers:
              - username: a
                jwt_secrets: [{key: iss, secret: s, algorithm: none}]
            """, path: "consumers[0].jwt_secrets[0].algorithm"),
        Refusal(name: "RS256 without a public key", body: """
            consumers:
              - username: a
                jwt_secrets: [{key: iss, algorithm: RS256}]
            """, path: "consumers[0].jwt_secrets[0].rsa_public_key"),
        Refusal(name: "a JWKS URL on an HMAC credential", body: """
            consumers:
              - username: a
                jwt_secrets: [{key: iss, secret: s, jwks_uri: "https://idp.example/jwks"}]
            """, path: "consumers[0].jwt_secrets[0].jwks_uri"),
        Refusal(name: "a JWKS URL that is not http(s)", body: """
            consumers:
              - username: a
                jwt_secrets: [{key: iss, algorithm: RS256, jwks_uri: "ftp://idp.example/jwks"}]
            """, path: "consumers[0].jwt_secrets[0].jwks_uri"),
        Refusal(name: "an HMAC credential without a secret", body: """
            consumers:
              - username: a
                jwt_secrets: [{key: iss}]
            """, path: "consumers[0].jwt_secrets[0].secret"),
        Refusal(name: "an unknown credential field", body: """
            consumers:
              - username: a
                keyauth_credentials: [{key: k, ttl: 10}]
            """, path: "consumers[0].keyauth_credentials[0].ttl"),
        Refusal(name: "credentials of a plugin Konnect lacks", body: """
            consumers:
              - username: a
                hmacauth_credentials: []
            """, path: "consumers[0].hmacauth_credentials"),
        Refusal(name: "an SNI that is an IP address", body: """
            snis:
              - name: 10.0.0.1
                certificate: 6f2d9c1b-8e4a-4c3f-b5d7-1a9e0c8b7d64
            """, path: "snis[0].name"),
        Refusal(name: "an SNI without a certificate", body: """
            snis:
              - name: example.com
            """, path: "snis[0].certificate"),
        Refusal(name: "a certificate without a key", body: """
            certificates:
              - cert: x
            """, path: "certificates[0].key"),
    ]

    @Test(arguments: refusals)
    func aBadCredentialIsRefusedAtItsPath(refusal: Refusal) {
        let found = Self.issues(refusal.body)
        #expect(found.contains { $0.path == refusal.path }, "issues: \(found)")
    }

    @Test func jwtPublicKeysMustFitTheAlgorithm() throws {
        let rsa = try TestCertificates.selfSigned(keyType: .rsa2048)
        let ec = try TestCertificates.selfSigned(keyType: .p256)
        func document(_ algorithm: String, _ key: String) -> String {
            """
            consumers:
              - username: a
                jwt_secrets:
                  - key: iss
                    algorithm: \(algorithm)
                    rsa_public_key: \(Self.block(key, indent: 10))
            """
        }
        let stored = try Self.parse(document("RS256", rsa.publicKey)).jwtSecrets.first?.rsaPublicKey
        #expect(stored?.trimmingCharacters(in: .whitespacesAndNewlines) == rsa.publicKey.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try Self.parse(document("ES256", ec.publicKey)).jwtSecrets.first?.algorithm == .es256)
        let path = "consumers[0].jwt_secrets[0].rsa_public_key"
        #expect(Self.issues(document("RS256", ec.publicKey)).map(\.path) == [path])
        #expect(Self.issues(document("ES384", ec.publicKey)).map(\.path) == [path])
        #expect(Self.issues(document("PS256", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")).map(\.path) == [path])
        // A JWT credential without a secret of its own still gets one only through the Admin API.
        let generated = EntityInput.read(.jwtSecrets, from: .object(["consumer": .string("a")]))
        guard case .jwtSecret(let secret)? = generated.entity else {
            Issue.record("no entity: \(generated.issues)")
            return
        }
        #expect(secret.key.count == 32 && secret.secret.count == 32 && secret.key != secret.secret)
    }

    @Test func aCertificateWithItsSNIs() throws {
        let pair = try TestCertificates.selfSigned(commonName: "api.example.com")
        let configuration = try Self.parse("""
            certificates:
              - cert: \(Self.block(pair.cert, indent: 8))
                key: \(Self.block(pair.key, indent: 8))
                snis:
                  - api.example.com
                  - name: "*.example.org"
                    tags: [edge]
            """)
        let certificate = try #require(configuration.certificates.first)
        #expect(configuration.snis.map(\.name) == ["api.example.com", "*.example.org"])
        #expect(configuration.snis.allSatisfy { $0.certificateID == certificate.id })
        #expect(configuration.snis.last?.tags == ["edge"])
        // Exported with PEM as literal blocks, and loaded back as the same configuration.
        let yaml = configuration.declarativeYAML
        #expect(yaml.contains("cert: |"))
        #expect(try DeclarativeConfig.parse(yaml) == configuration)
    }

    @Test func aCertificateMustMatchItsKey() throws {
        let one = try TestCertificates.selfSigned()
        let other = try TestCertificates.selfSigned()
        let rsa = try TestCertificates.selfSigned(keyType: .rsa2048)
        func document(cert: String, key: String, alt: (String, String)? = nil) -> String {
            var text = """
                certificates:
                  - cert: \(Self.block(cert, indent: 8))
                    key: \(Self.block(key, indent: 8))
                """
            if let alt {
                text += "\n    cert_alt: \(Self.block(alt.0, indent: 8))\n    key_alt: \(Self.block(alt.1, indent: 8))"
            }
            return text
        }
        #expect(Self.issues(document(cert: one.cert, key: other.key)).map(\.path) == ["certificates[0].key"])
        #expect(Self.issues(document(cert: one.cert, key: one.cert)).map(\.path) == ["certificates[0].key"])
        #expect(Self.issues(document(cert: one.key, key: one.key)).map(\.path) == ["certificates[0].cert"])
        // An alternate pair must be the other key type.
        #expect(Self.issues(document(cert: one.cert, key: one.key, alt: (rsa.cert, rsa.key))).isEmpty)
        #expect(Self.issues(document(cert: one.cert, key: one.key, alt: (other.cert, other.key))).map(\.path)
            == ["certificates[0].cert_alt"])
    }

    @Test func aServiceRefersToItsClientCertificateAndCAs() throws {
        let pair = try TestCertificates.selfSigned()
        let ca = try TestCertificates.selfSigned(isCA: true)
        let document = """
            services:
              - name: billing
                url: https://billing.internal
                client_certificate: 8c4f2a1e-6d3b-4e7a-9f05-2b1c8d7e6a54
                ca_certificates: [1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28]
                tls_verify: true
            certificates:
              - id: 8c4f2a1e-6d3b-4e7a-9f05-2b1c8d7e6a54
                cert: \(Self.block(pair.cert, indent: 8))
                key: \(Self.block(pair.key, indent: 8))
            ca_certificates:
              - id: 1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28
                cert: \(Self.block(ca.cert, indent: 8))
            """
        let configuration = try Self.parse(document)
        let service = try #require(configuration.services.first)
        #expect(service.clientCertificateID == "8c4f2a1e-6d3b-4e7a-9f05-2b1c8d7e6a54")
        #expect(service.caCertificateIDs == ["1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28"])
        #expect(service.tlsVerify == true)
        #expect(try DeclarativeConfig.parse(configuration.declarativeYAML) == configuration)

        let dangling = document.replacingOccurrences(of: "ca_certificates: [1e9d7c3b", with: "ca_certificates: [2e9d7c3b")
            .replacingOccurrences(of: "client_certificate: 8c4f", with: "client_certificate: 9c4f")
        #expect(Set(Self.issues(dangling).map(\.path)) == ["services[0].client_certificate", "services[0].ca_certificates[0]"])
    }

    @Test func aCACertificateMustBeOneUnexpiredCA() throws {
        let ca = try TestCertificates.selfSigned(commonName: "Konnect Test CA", isCA: true)
        let leaf = try TestCertificates.selfSigned()
        let expired = try TestCertificates.selfSigned(isCA: true, notValidAfter: Date().addingTimeInterval(-3600))
        func document(_ pem: String, digest: String? = nil) -> String {
            "ca_certificates:\n  - cert: \(Self.block(pem, indent: 6))" + (digest.map { "\n    cert_digest: \($0)" } ?? "")
        }
        let loaded = try Self.parse(document(ca.cert))
        let digest = try #require(loaded.caCertificates.first?.certDigest)
        #expect(digest.count == 64 && digest.allSatisfy(\.isHexDigit))
        #expect(try Self.parse(document(ca.cert, digest: digest)).caCertificates.first?.certDigest == digest)
        #expect(Self.issues(document(ca.cert, digest: String(repeating: "0", count: 64))).map(\.path) == ["ca_certificates[0].cert_digest"])
        #expect(Self.issues(document(leaf.cert)).map(\.path) == ["ca_certificates[0].cert"])
        #expect(Self.issues(document(expired.cert)).map(\.path) == ["ca_certificates[0].cert"])
        #expect(Self.issues(document(ca.cert + "\n" + ca.cert)).map(\.path) == ["ca_certificates[0].cert"])
        // The same CA twice is one CA too many.
        let twice = "ca_certificates:\n  - cert: \(Self.block(ca.cert, indent: 6))\n  - cert: \(Self.block(ca.cert, indent: 6))"
        #expect(!Self.issues(twice).isEmpty)
    }
}

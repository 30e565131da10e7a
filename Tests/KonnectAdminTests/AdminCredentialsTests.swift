import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KonnectAdmin
import KonnectConfig
import KonnectStore
import KonnectTestSupport
import NIOCore
import Testing

/// Consumer credentials, certificates, SNIs and CA certificates through the Admin API.
@Suite("Admin API: credentials and certificates")
struct AdminCredentialsTests {
    static func count(_ list: (status: Int, body: JSONValue)) -> Int? {
        if case .array(let items)? = list.body["data"] { return items.count }
        return nil
    }

    @Test func keyAuthCredentialsLiveUnderTheirConsumer() async throws {
        try await AdminFixture().run { client in
            #expect(try await client.call(.post, "/consumers", json: #"{"username": "alice"}"#).status == 201)
            let generated = try await client.call(.post, "/consumers/alice/key-auth", json: "{}")
            #expect(generated.status == 201)
            let key = try #require(generated.body["key"]?.string)
            #expect(key.count == 32 && key.allSatisfy(\.isHexDigit))
            let alice = try await client.call(.get, "/consumers/alice").body["id"]
            #expect(generated.body["consumer"] == .object(["id": try #require(alice)]))

            #expect(try await client.call(.post, "/consumers/alice/key-auth", json: #"{"key": "alice-key"}"#).status == 201)
            // A form value is typed by the field: digits make a string key, not a number.
            let digits = try await client.call(.post, "/consumers/alice/key-auth", form: "key=12345")
            #expect(digits.status == 201)
            #expect(digits.body["key"] == .string("12345"))

            #expect(Self.count(try await client.call(.get, "/key-auths")) == 3)
            #expect(Self.count(try await client.call(.get, "/consumers/alice/key-auth")) == 3)
            #expect(try await client.call(.get, "/key-auths/alice-key").body["id"] != nil)
            #expect(try await client.call(.get, "/consumers/alice/key-auth/alice-key").status == 200)

            let taken = try await client.call(.post, "/consumers/alice/key-auth", json: #"{"key": "alice-key"}"#)
            #expect(taken.status == 409)
            let orphan = try await client.call(.post, "/key-auths", json: #"{"key": "nobody-key"}"#)
            #expect(orphan.status == 400)
            #expect(orphan.body["fields"]?["consumer"] != nil)
            let unknown = try await client.call(.post, "/consumers/nobody/key-auth", json: "{}")
            #expect(unknown.status == 404)
        }
    }

    @Test func basicAuthPasswordsAreStoredHashed() async throws {
        try await AdminFixture().run { client in
            #expect(try await client.call(.post, "/consumers", json: #"{"username": "bob"}"#).status == 201)
            let created = try await client.call(.post, "/consumers/bob/basic-auth", json: #"{"username": "bob", "password": "hunter2"}"#)
            #expect(created.status == 201)
            let hash = try #require(created.body["password"]?.string)
            #expect(hash != "hunter2" && PasswordHash.verify("hunter2", against: hash))

            // A PATCH that leaves the password alone keeps the hash; a new password gets a new one.
            let tagged = try await client.call(.patch, "/basic-auths/bob", json: #"{"tags": ["ops"]}"#)
            #expect(tagged.status == 200)
            #expect(tagged.body["password"] == .string(hash))
            let changed = try await client.call(.patch, "/consumers/bob/basic-auth/bob", json: #"{"password": "correct horse"}"#)
            let newHash = try #require(changed.body["password"]?.string)
            #expect(newHash != hash && PasswordHash.verify("correct horse", against: newHash))

            let missing = try await client.call(.post, "/consumers/bob/basic-auth", json: #"{"username": "bob2"}"#)
            #expect(missing.status == 400)
            #expect(missing.body["fields"]?["password"] != nil)
        }
    }

    @Test func jwtCredentialsAndACLGroups() async throws {
        try await AdminFixture().run { client in
            #expect(try await client.call(.post, "/consumers", json: #"{"username": "carol"}"#).status == 201)
            let jwt = try await client.call(.post, "/consumers/carol/jwt", json: "{}")
            #expect(jwt.status == 201)
            #expect(jwt.body["algorithm"] == .string("HS256"))
            #expect(jwt.body["key"]?.string?.count == 32 && jwt.body["secret"]?.string?.count == 32)
            let rs = try await client.call(.post, "/consumers/carol/jwt", json: #"{"algorithm": "RS256"}"#)
            #expect(rs.status == 400)
            #expect(rs.body["fields"]?["rsa_public_key"] != nil)
            let pair = try TestCertificates.selfSigned(keyType: .p256)
            let es = try await client.call(.post, "/consumers/carol/jwt", json: JSONValue.object([
                "key": .string("carol-issuer"), "algorithm": .string("ES256"), "rsa_public_key": .string(pair.publicKey),
            ]).jsonText)
            #expect(es.status == 201)
            #expect(try await client.call(.get, "/jwts/carol-issuer").status == 200)

            #expect(try await client.call(.post, "/consumers/carol/acls", json: #"{"group": "admins"}"#).status == 201)
            #expect(try await client.call(.post, "/consumers/carol/acls", form: "group=ops").status == 201)
            let again = try await client.call(.post, "/consumers/carol/acls", json: #"{"group": "admins"}"#)
            #expect(again.status == 409)
            // Under its consumer an ACL is found by its group, as in Kong.
            #expect(try await client.call(.get, "/consumers/carol/acls/admins").body["group"] == .string("admins"))
            #expect(try await client.call(.delete, "/consumers/carol/acls/admins").status == 204)
            #expect(Self.count(try await client.call(.get, "/consumers/carol/acls")) == 1)
        }
    }

    @Test func deletingAConsumerDeletesItsCredentials() async throws {
        try await AdminFixture().run { client in
            for consumer in ["dave", "erin"] {
                let created = [
                    try await client.call(.post, "/consumers", json: "{\"username\": \"\(consumer)\"}"),
                    try await client.call(.post, "/consumers/\(consumer)/key-auth", json: "{}"),
                    try await client.call(.post, "/consumers/\(consumer)/acls", json: "{\"group\": \"g\"}"),
                    try await client.call(.post, "/consumers/\(consumer)/jwt", json: "{}"),
                    try await client.call(.post, "/consumers/\(consumer)/basic-auth",
                                          json: "{\"username\": \"\(consumer)\", \"password\": \"pw\"}"),
                ]
                #expect(created.map(\.status) == [201, 201, 201, 201, 201])
            }
            #expect(try await client.call(.delete, "/consumers/dave").status == 204)
            var counts: [Int?] = []
            for path in ["/key-auths", "/acls", "/jwts", "/basic-auths"] {
                counts.append(Self.count(try await client.call(.get, path)))
            }
            #expect(counts == [1, 1, 1, 1])
        }
    }

    @Test func certificatesCarryTheirSNIs() async throws {
        let first = try TestCertificates.selfSigned(commonName: "a.example.com")
        let second = try TestCertificates.selfSigned(commonName: "b.example.com", keyType: .rsa2048)
        @Sendable func body(_ pair: TestCertificates.Pair, snis: [String]) -> String {
            JSONValue.object([
                "cert": .string(pair.cert), "key": .string(pair.key), "snis": .array(snis.map(JSONValue.string)),
            ]).jsonText
        }
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/certificates", json: body(first, snis: ["b.example.com", "a.example.com"]))
            #expect(created.status == 201)
            #expect(created.body["snis"] == .array([.string("a.example.com"), .string("b.example.com")]))
            let id = try #require(created.body["id"]?.string)
            let snis = try await client.call(.get, "/snis")
            #expect(Self.count(snis) == 2)
            #expect(try await client.call(.get, "/snis/a.example.com").body["certificate"] == .object(["id": .string(id)]))

            // A name another certificate has is a conflict, and nothing is stored.
            let conflict = try await client.call(.post, "/certificates", json: body(second, snis: ["a.example.com"]))
            #expect(conflict.status == 409)
            #expect(Self.count(try await client.call(.get, "/certificates")) == 1)

            // PATCH with snis makes them exactly the list given.
            let patched = try await client.call(.patch, "/certificates/\(id)", json: #"{"snis": ["c.example.com"]}"#)
            #expect(patched.status == 200)
            #expect(patched.body["snis"] == .array([.string("c.example.com")]))
            #expect(Self.count(try await client.call(.get, "/snis")) == 1)
            #expect(try await client.call(.post, "/certificates/\(id)/snis", json: #"{"name": "*.example.org"}"#).status == 201)
            #expect(try await client.call(.get, "/certificates/\(id)").body["snis"]
                == .array([.string("*.example.org"), .string("c.example.com")]))

            let mismatched = try await client.call(.post, "/certificates", json: JSONValue.object([
                "cert": .string(first.cert), "key": .string(second.key),
            ]).jsonText)
            #expect(mismatched.status == 400)
            #expect(mismatched.body["fields"]?["key"] != nil)
            #expect(!mismatched.body.jsonText.contains("PRIVATE KEY"))  // the key is not echoed

            // Deleting the certificate takes its SNIs with it.
            #expect(try await client.call(.delete, "/certificates/\(id)").status == 204)
            #expect(Self.count(try await client.call(.get, "/snis")) == 0)
        }
    }

    @Test func aCertificateUploadedAsAMultipartForm() async throws {
        let pair = try TestCertificates.selfSigned(commonName: "upload.example.com")
        let boundary = "----konnect-test-boundary"
        var text = ""
        for (name, value) in [("cert", pair.cert), ("key", pair.key), ("snis[]", "upload.example.com"), ("tags[]", "2026")] {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name).pem\"\r\n"
            text += "Content-Type: application/octet-stream\r\n\r\n\(value)\r\n"
        }
        text += "--\(boundary)--\r\n"
        let form = text
        try await AdminFixture().run { client in
            let response = try await client.execute(
                uri: "/certificates", method: .post,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(string: form)
            ) { response in
                (response.status.code, try JSONValue.parse(String(buffer: response.body)))
            }
            #expect(response.0 == 201)
            #expect(response.1["snis"] == .array([.string("upload.example.com")]))
            #expect(response.1["tags"] == .array([.string("2026")]))  // a tag of digits stays text
            #expect(response.1["cert"]?.string?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)

            let broken = try await client.execute(
                uri: "/certificates", method: .post,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(string: "--\(boundary)\r\nno headers")
            ) { $0.status.code }
            #expect(broken == 400)
        }
    }

    @Test func caCertificatesAreCheckedAndUnique() async throws {
        let ca = try TestCertificates.selfSigned(commonName: "Konnect Test CA", isCA: true)
        let leaf = try TestCertificates.selfSigned()
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/ca_certificates", json: JSONValue.object(["cert": .string(ca.cert)]).jsonText)
            #expect(created.status == 201)
            #expect(created.body["cert_digest"]?.string?.count == 64)
            let again = try await client.call(.post, "/ca_certificates", json: JSONValue.object(["cert": .string(ca.cert)]).jsonText)
            #expect(again.status == 409)
            let notCA = try await client.call(.post, "/ca_certificates", json: JSONValue.object(["cert": .string(leaf.cert)]).jsonText)
            #expect(notCA.status == 400)
            #expect(notCA.body["fields"]?["cert"] != nil)
        }
    }

    @Test func aServicePresentsACertificateAndTrustsCAs() async throws {
        let client = try TestCertificates.selfSigned(commonName: "gateway.internal")
        let ca = try TestCertificates.selfSigned(commonName: "Internal CA", isCA: true)
        try await AdminFixture().run { api in
            let certificate = try await api.call(.post, "/certificates", json: JSONValue.object([
                "cert": .string(client.cert), "key": .string(client.key),
            ]).jsonText)
            let authority = try await api.call(.post, "/ca_certificates", json: JSONValue.object(["cert": .string(ca.cert)]).jsonText)
            let certificateID = try #require(certificate.body["id"]?.string)
            let caID = try #require(authority.body["id"]?.string)

            let service = try await api.call(.post, "/services", json: JSONValue.object([
                "name": .string("billing"), "url": .string("https://billing.internal"),
                "client_certificate": .object(["id": .string(certificateID)]),
                "ca_certificates": .array([.string(caID)]), "tls_verify": .bool(true), "tls_verify_depth": .number(2),
            ]).jsonText)
            #expect(service.status == 201)
            #expect(service.body["client_certificate"] == .object(["id": .string(certificateID)]))
            #expect(service.body["ca_certificates"] == .array([.string(caID)]))
            #expect(service.body["tls_verify"] == .bool(true))
            #expect(service.body["tls_verify_depth"] == .number(2))

            // What a service uses cannot be deleted from under it.
            #expect(try await api.call(.delete, "/certificates/\(certificateID)").status == 400)
            #expect(try await api.call(.delete, "/ca_certificates/\(caID)").status == 400)
            let unknownCA = try await api.call(.patch, "/services/billing",
                                               json: #"{"ca_certificates": ["1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28"]}"#)
            #expect(unknownCA.status == 400)
            #expect(unknownCA.body["fields"]?["ca_certificates"] != nil)

            // Once the service lets go, both can go.
            let released = try await api.call(.patch, "/services/billing", json: #"{"client_certificate": null, "ca_certificates": null}"#)
            #expect(released.status == 200)
            #expect(released.body["client_certificate"] == .null)
            #expect(try await api.call(.delete, "/certificates/\(certificateID)").status == 204)
            #expect(try await api.call(.delete, "/ca_certificates/\(caID)").status == 204)
        }
    }

    @Test func credentialsAndCertificatesSurviveARestart() async throws {
        let directory = NSTemporaryDirectory() + "konnect-credentials-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try TestCertificates.selfSigned()
        func open() throws -> ControlPlane { try openControlPlane(in: directory) }
        let first = try open()
        _ = try await first.create(.consumers, body: .object(["username": .string("frank")]))
        let scope = ControlPlane.Scope(field: .consumer, parent: "frank")
        _ = try await first.create(.keyAuthCredentials, body: .object(["key": .string("frank-key")]), in: scope)
        let basic = try await first.create(.basicAuthCredentials, body: .object([
            "username": .string("frank"), "password": .string("pw"),
        ]), in: scope)
        let certificate = try await first.create(.certificates, body: .object([
            "cert": .string(pair.cert), "key": .string(pair.key), "snis": .array([.string("frank.example.com")]),
        ]))
        _ = try await first.create(.services, body: .object([
            "name": .string("mtls"), "url": .string("https://mtls.internal"),
            "client_certificate": .object(["id": .string(certificate.entity.id)]),
        ]))

        let second = try open()
        let loaded = try await second.loadFromStore()
        #expect(loaded.keyAuthCredentials.map(\.key) == ["frank-key"])
        #expect(loaded.basicAuthCredentials.first.map(Entity.basicAuthCredential) == basic.entity)
        #expect(loaded.snis.map(\.name) == ["frank.example.com"])
        #expect(loaded.certificates.first?.key == pair.key)
        #expect(loaded.services.first?.clientCertificateID == certificate.entity.id)
        #expect(loaded == (await first.configuration))
    }
}

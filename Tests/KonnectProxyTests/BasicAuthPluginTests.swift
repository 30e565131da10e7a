import Foundation
import KonnectConfig
import KonnectProxy
import Testing

/// basic-auth on the proxy path: passwords checked against their stored hash off the event loop.
@Suite("Plugins: basic-auth")
struct BasicAuthPluginTests {
    static let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice")
    /// Hashed once for the suite, with few rounds: the check's cost is not what is tested.
    static let hash = PasswordHash.make("open sesame", rounds: 100_000)

    static func configuration(port: Int, config: JSONValue = .object(["hide_credentials": .bool(true)])) -> Configuration {
        pluginConfiguration(port: port, plugins: [Plugin(id: "p-basic", name: "basic-auth", config: config)],
                            consumers: [alice]) { configuration in
            configuration.basicAuthCredentials = [
                BasicAuthCredential(id: "b-alice", consumerID: alice.id, username: "alice", passwordHash: hash),
            ]
        }
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func theRightPasswordIdentifiesTheConsumer() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<2 {  // the second time from the remembered check
                let response = try await client.get("/x", headers: [("Authorization", Self.basic("alice", "open sesame"))])
                #expect(response.status == 200)
                let echoed = response.text.lowercased()
                #expect(echoed.contains("x-consumer-username: alice"))
                #expect(echoed.contains("x-credential-identifier: b-alice"))
                #expect(!echoed.contains("authorization"))  // hide_credentials
            }
        }
    }

    @Test(arguments: [
        ("alice", "wrong", "Invalid authentication credentials"),
        ("mallory", "open sesame", "Invalid authentication credentials"),
    ])
    func wrongCredentialsAreRefused(user: String, password: String, message: String) async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x", headers: [("Authorization", Self.basic(user, password))])
            #expect(response.status == 401)
            #expect(response.header("www-authenticate") == "Basic realm=\"service\"")
            #expect(response.text.contains(message))
            #expect(fx.origin.requests == 0)
        }
    }

    @Test(arguments: [
        [(String, String)](), [("Authorization", "Basic !!!")], [("Authorization", "Bearer abc")],
        [("Authorization", "Basic " + Data("no-colon".utf8).base64EncodedString())],
    ])
    func missingOrMalformedCredentialsAreRefused(headers: [(String, String)]) async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x", headers: headers)
            #expect(response.status == 401)
            #expect(response.header("www-authenticate") == "Basic realm=\"service\"")
        }
    }

    @Test func aClientLeavingWhileItsPasswordIsCheckedDoesNotDisturbTheNext() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let leaving = try await fx.client()
            try await leaving.send("GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: \(Self.basic("alice", "not it"))\r\n\r\n")
            leaving.close()
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x", headers: [("Authorization", Self.basic("alice", "open sesame"))])
            #expect(response.status == 200)
        }
    }
}

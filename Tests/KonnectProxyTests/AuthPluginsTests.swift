import KonnectConfig
import KonnectProxy
import Testing

/// key-auth and acl on the proxy path: who gets in, what the upstream is told, and what a
/// client cannot forge.
@Suite("Plugins: key-auth and acl")
struct AuthPluginsTests {
    static let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice", customID: "A-1")
    static let bob = Consumer(id: "bbbbbbbb-0000-4000-8000-000000000002", username: "bob")
    static let guest = Consumer(id: "cccccccc-0000-4000-8000-000000000003", username: "guest")

    /// `/private` needs a key and the `admins` group; `/` is open. `extra` adds plugins.
    static func configuration(port: Int, keyAuth: JSONValue = .object(["hide_credentials": .bool(true)]),
                              acl: JSONValue? = .object(["allow": .array([.string("admins")])])) -> Configuration {
        var configuration = Configuration(
            services: [Service(id: "s1", name: "echo", host: "127.0.0.1", port: port)],
            routes: [
                Route(id: "r-private", name: "private", paths: ["/private"], stripPath: false, serviceID: "s1"),
                Route(id: "r-open", name: "open", paths: ["/"], serviceID: "s1"),
            ],
            consumers: [alice, bob, guest],
            plugins: [Plugin(id: "p-key", name: "key-auth", config: keyAuth, routeID: "r-private")]
        )
        if let acl { configuration.plugins.append(Plugin(id: "p-acl", name: "acl", config: acl, routeID: "r-private")) }
        configuration.keyAuthCredentials = [
            KeyAuthCredential(id: "k-alice", consumerID: alice.id, key: "alice-key"),
            KeyAuthCredential(id: "k-bob", consumerID: bob.id, key: "bob-key"),
        ]
        configuration.acls = [
            ACLGroup(id: "g-alice", consumerID: alice.id, group: "admins"),
            ACLGroup(id: "g-guest", consumerID: guest.id, group: "visitors"),
        ]
        return configuration
    }

    @Test func aRequestWithoutAValidKeyIsRefused() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\n\r\n")
            let missing = try await client.readResponse()
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate") == "Key realm=\"konnect\"")
            #expect(missing.text.contains("No API key found in request"))

            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\napikey: nobody-key\r\n\r\n")
            let wrong = try await client.readResponse()
            #expect(wrong.status == 401)
            #expect(wrong.text.contains("Unauthorized"))

            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\napikey: alice-key\r\napikey: bob-key\r\n\r\n")
            let twice = try await client.readResponse()
            #expect(twice.status == 401)
            #expect(twice.text.contains("Duplicate API key found"))

            // The open route needs nothing.
            try await client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
    }

    /// A connection reuses what plugins kept for its last request: none of it may carry over.
    @Test func theNextRequestOnAConnectionStartsWithNoConsumer() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let alice = try await client.get("/private", headers: [("apikey", "alice-key")])
            #expect(alice.status == 200)
            #expect(alice.text.lowercased().contains("x-consumer-username: alice"))
            #expect(try await client.get("/private").status == 401)
            // bob is not in `admins`: alice's groups must not let him through.
            #expect(try await client.get("/private", headers: [("apikey", "bob-key")]).status == 403)
            let open = try await client.get("/hello")
            #expect(open.status == 200)
            #expect(!open.text.lowercased().contains("x-consumer-"))
        }
    }

    @Test func aValidKeyIdentifiesTheConsumerToTheUpstream() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // Identity headers a client sends are dropped, so they cannot be forged.
            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\nAPIKEY: alice-key\r\nX-Consumer-Username: root\r\nX-Consumer-Groups: root\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            let echoed = response.text.lowercased()
            #expect(echoed.contains("x-consumer-id: \(Self.alice.id)"))
            #expect(echoed.contains("x-consumer-username: alice"))
            #expect(echoed.contains("x-consumer-custom-id: a-1"))
            #expect(echoed.contains("x-credential-identifier: k-alice"))
            #expect(echoed.contains("x-consumer-groups: admins"))
            #expect(!echoed.contains("root"))
            #expect(!echoed.contains("alice-key"))  // hide_credentials

            // From the query string too, and hidden there as well.
            try await client.send("GET /private?a=1&apikey=alice-key&b=2 HTTP/1.1\r\nHost: a\r\n\r\n")
            let byQuery = try await client.readResponse()
            #expect(byQuery.status == 200)
            #expect(byQuery.text.hasPrefix("GET /private?a=1&b=2 HTTP/1.1"))
        }
    }

    @Test func aConsumerOutsideTheAllowedGroupsIsForbidden() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\napikey: bob-key\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 403)
            #expect(response.text.contains("You cannot consume this service"))
        }
    }

    @Test(arguments: [
        "/public/../private", "/%70rivate", "//private", "/private/", "/private/./x", "/Private/../private",
    ])
    func pathTricksStillMeetThePlugins(path: String) async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            // Either the private route matched (and wants a key), or the request was refused;
            // never the origin's 200 without a key.
            #expect(response.status != 200, "\(path) reached the origin without a key")
        }
    }

    @Test func theAnonymousConsumerStandsInForAMissingKey() async throws {
        let keyAuth: JSONValue = .object(["anonymous": .string("guest")])
        let acl: JSONValue = .object(["deny": .array([.string("blocked")])])
        try await withProxy(configure: { Self.configuration(port: $0[0], keyAuth: keyAuth, acl: acl) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            let echoed = response.text.lowercased()
            #expect(echoed.contains("x-consumer-username: guest"))
            #expect(echoed.contains("x-anonymous-consumer: true"))
            #expect(echoed.contains("x-consumer-groups: visitors"))
        }
    }

    @Test func aPluginThatCannotRunRefusesEveryRequest() async throws {
        // acl with neither allow nor deny: not a configuration to guess about.
        try await withProxy(configure: { Self.configuration(port: $0[0], acl: .object([:])) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /private HTTP/1.1\r\nHost: a\r\napikey: alice-key\r\n\r\n")
            #expect(try await client.readResponse().status == 500)
        }
    }

    static let bodyKeyAuth: JSONValue = .object(["key_in_body": .bool(true), "hide_credentials": .bool(true)])

    /// A POST to `/private` with `body` of `contentType`.
    static func post(_ contentType: String, _ body: String, extra: String = "") -> String {
        "POST /private HTTP/1.1\r\nHost: a\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    @Test(arguments: [
        ("application/x-www-form-urlencoded", "a=1&apikey=alice-key&b=two+words", "a=1&b=two+words"),
        ("application/json; charset=utf-8", #"{"apikey":"alice-key"}"#, "{}"),
        ("multipart/form-data; boundary=XyZ",
         "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nalice-key\r\n--XyZ--\r\n",
         "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--\r\n"),
    ])
    func aKeyInTheBodyIdentifiesTheConsumerAndIsHidden(contentType: String, body: String, forwarded: String) async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0], keyAuth: Self.bodyKeyAuth) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send(Self.post(contentType, body))
            let response = try await client.readResponse()
            #expect(response.status == 200)
            let echoed = response.text
            #expect(echoed.lowercased().contains("x-consumer-username: alice"))
            // The upstream gets the body without the key, with a length to match.
            #expect(echoed.hasSuffix("\n\n" + forwarded), "\(echoed)")
            #expect(echoed.lowercased().contains("content-length: \(forwarded.utf8.count)\n"))
        }
    }

    @Test func theBodyIsReadOnlyWhenNeededAndFailsLikeAnyMissingKey() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0], keyAuth: Self.bodyKeyAuth) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // A key in a header wins; the body goes upstream untouched.
            try await client.send(Self.post("application/x-www-form-urlencoded", "apikey=bob-key&x=1", extra: "apikey: alice-key\r\n"))
            let byHeader = try await client.readResponse()
            #expect(byHeader.status == 200)
            #expect(byHeader.text.hasSuffix("\n\napikey=bob-key&x=1"))

            // Two keys in one form, a body of another kind, and a wrong key.
            try await client.send(Self.post("application/x-www-form-urlencoded", "apikey=alice-key&apikey=bob-key"))
            let duplicate = try await client.readResponse()
            #expect(duplicate.status == 401)
            #expect(duplicate.text.contains("Duplicate API key found"))
            try await client.send(Self.post("text/plain", "apikey=alice-key"))
            #expect(try await client.readResponse().status == 401)
            try await client.send(Self.post("application/json", #"{"apikey":"nobody"}"#))
            #expect(try await client.readResponse().status == 401)
            #expect(fx.origin.requests == 1)

            // A client waiting for 100 Continue gets it, then sends the body with the key (chunked).
            try await client.send("POST /private HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await client.readStatus() == 100)
            let json = #"{"apikey":"alice-key","n":1}"#
            try await client.send(String(json.utf8.count, radix: 16) + "\r\n" + json + "\r\n0\r\n\r\n")
            let continued = try await client.readResponse()
            #expect(continued.status == 200)
            #expect(continued.text.hasSuffix(#"{"n":1}"#))
        }
    }

    @Test func aBodyTooLargeToReadForTheKeyIsRefused() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0], keyAuth: Self.bodyKeyAuth) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /private HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n")
            #expect(try await client.readResponse().status == 413)
            #expect(fx.origin.requests == 0)
        }
    }
}

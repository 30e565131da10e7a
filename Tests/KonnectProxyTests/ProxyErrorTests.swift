import KonnectConfig
import KonnectProxy
import NIOCore
import Testing

@Suite("Malformed requests and upstream failures")
struct ProxyErrorTests {
    /// A raw request the proxy must refuse without forwarding, and the status it must answer.
    struct Malformed: CustomTestStringConvertible, Sendable {
        let name: String
        let raw: String
        let status: Int
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [(String, String, Int)]([
        ("bad request line", "GET\r\n\r\n", 400),
        ("unsupported version", "GET / HTTP/9.9\r\nHost: a\r\n\r\n", 505),
        ("garbage version", "GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400),
        ("bare line feeds", "GET / HTTP/1.1\nHost: a\n\n", 400),
        ("obsolete line folding", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2\r\n\r\n", 400),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400),
        ("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        ("Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("two different Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("control character in header", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{01}b\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad : v\r\n\r\n", 400),
        ("header line too large", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 10_000))\r\n\r\n", 431),
        ("too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<150).map { "X-H\($0): v\r\n" }.joined() + "\r\n", 431),
        ("URI too long", "GET /\(String(repeating: "u", count: 9_000)) HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        ("target neither a path nor a URL", "GET evil HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("asterisk target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("URL with user information", "GET http://user@evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("URL of another scheme", "GET ftp://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("bad percent escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ]).map { Malformed(name: $0.0, raw: $0.1, status: $0.2) }

    @Test(arguments: malformed)
    func refusesMalformedRequest(_ request: Malformed) async throws {
        let (name, raw, status) = (request.name, request.raw, request.status)
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send(raw)
            let response = try await client.readResponse()
            #expect(response.status == status, "\(name)")
            #expect(response.header("connection") == "close", "\(name)")
            #expect(response.text.contains("\"request_id\""), "\(name)")
            #expect(fx.origin.requests == 0, "\(name) reached the upstream")
        }
    }

    @Test func errorAfterAHeadRequestHasItsBody() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse(headOnly: true).status == 200)
            try await client.send("GET / HTTP/1.1\r\nHost a\r\n\r\n")  // a field without a colon: undecodable
            let response = try await client.readResponse()
            #expect(response.status == 400)
            #expect(response.text.contains("\"request_id\""))
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await withProxy(settings: { $0.maxBodySize = 1000 }, configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
            #expect(try await client.readResponse().status == 413)
            let chunked = try await fx.client()
            defer { chunked.close() }
            try await chunked.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n\(String(repeating: "a", count: 2048))\r\n")
            #expect(try await chunked.readResponse().status == 413)
        }
    }

    @Test func refusedConnectionIs502() async throws {
        let dead = try RefusingPort()
        defer { dead.close() }
        try await withProxy(configure: { _ in ProxyFixture.simple(port: dead.port, retries: 2) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/")
            #expect(response.status == 502)
            #expect(response.text.contains("\"message\":\"An invalid response was received from the upstream server\""))
        }
    }

    @Test(arguments: ["/x?reset=1", "/x?garbage=1"])
    func brokenUpstreamIs502(_ path: String) async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], retries: 0) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
            #expect(try await client.readResponse().status == 502)
        }
    }

    @Test func slowUpstreamIs504() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], readTimeout: 100) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/slow?delay=2000")
            #expect(response.status == 504)
            #expect(response.text.contains("The upstream server is timing out"))
        }
    }

    @Test func upstreamWithoutTargetsIs503() async throws {
        try await withProxy(configure: { _ in
            Configuration(
                services: [Service(id: "s", host: "pool", port: 80)],
                routes: [Route(id: "r", paths: ["/"], serviceID: "s")],
                upstreams: [Upstream(id: "u", name: "pool")],
                targets: [Target(id: "t", upstreamID: "u", host: "127.0.0.1", port: 1, weight: 0)])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/")
            #expect(response.status == 503)
        }
    }

    /// A route without a service is answered 503 once nothing but the upstream could answer: at
    /// once without plugins, after them otherwise, and not at all when a plugin answers.
    @Test func aRouteWithoutAServiceIs503UnlessAPluginAnswers() async throws {
        try await withProxy(configure: { _ in
            Configuration(
                routes: [Route(id: "bare", paths: ["/bare"]), Route(id: "passing", paths: ["/passing"]),
                         Route(id: "answered", paths: ["/answered"])],
                plugins: [
                    Plugin(id: "p1", name: "correlation-id", config: .object(["echo_downstream": .bool(true)]), routeID: "passing"),
                    Plugin(id: "p2", name: "request-termination",
                           config: .object(["status_code": .number(200), "message": .string("answered here")]), routeID: "answered"),
                ])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let bare = try await client.get("/bare")
            #expect(bare.status == 503)
            #expect(bare.text.contains("no Service found with those values"))
            let passing = try await client.get("/passing")
            #expect(passing.status == 503)
            #expect(passing.text.contains("no Service found with those values"))
            #expect(passing.header("konnect-request-id") != nil)  // the plugin ran first
            let answered = try await client.get("/answered")
            #expect(answered.status == 200)
            #expect(answered.text.contains("answered here"))
            #expect(fx.origin.requests == 0)
        }
    }

    @Test func connectFailureRetriesAnotherTarget() async throws {
        let dead = try RefusingPort()
        defer { dead.close() }
        try await withProxy(configure: { ports in
            Configuration(
                services: [Service(id: "s", host: "pool", port: 80, retries: 3)],
                routes: [Route(id: "r", paths: ["/"], serviceID: "s")],
                upstreams: [Upstream(id: "u", name: "pool")],
                targets: [Target(id: "t1", upstreamID: "u", host: "127.0.0.1", port: dead.port),
                          Target(id: "t2", upstreamID: "u", host: "127.0.0.1", port: ports[0])])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<10 { #expect(try await client.get("/").status == 200) }
        }
    }

    @Test func staleKeepAliveConnectionIsRetriedForIdempotentRequests() async throws {
        try await withProxy(threads: 1, configure: { ProxyFixture.simple(port: $0[0], retries: 0) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // The origin answers and closes; the next request must not fail on the dead pooled connection.
            #expect(try await client.get("/a?close=1").status == 200)
            try await Task.sleep(nanoseconds: 50_000_000)
            #expect(try await client.get("/b").status == 200)
        }
    }

    @Test func idleClientIsClosedAfterHeaderTimeout() async throws {
        try await withProxy(settings: { $0.clientHeaderTimeout = .milliseconds(500) },
                            configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // On a loaded machine the timeout can strike before this send; the close is what counts.
            try? await client.send("GET / HTTP/1.1\r\nHost: a\r\n")  // never finishes the head
            #expect(try await client.isClosedByServer())
        }
    }

    @Test func connectionsOverTheCapAreClosed() async throws {
        try await withProxy(settings: { $0.maxConnections = 1 }, configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let first = try await fx.client()
            defer { first.close() }
            #expect(try await first.get("/").status == 200)
            let second = try await fx.client()
            defer { second.close() }
            #expect(try await second.isClosedByServer())
            #expect(try await first.get("/").status == 200)
        }
    }
}

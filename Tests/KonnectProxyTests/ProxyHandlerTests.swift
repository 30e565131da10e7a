import KonnectConfig
import KonnectProxy
import NIOCore
import Testing

@Suite("Proxying")
struct ProxyHandlerTests {
    @Test func forwardsRequestAndAddsForwardingHeaders() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/echo"], servicePath: "/base") }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/echo/items?q=1&r=%20", host: "Api.Example.com:8000")
            #expect(response.status == 200)
            #expect(response.text.hasPrefix("GET /base/items?q=1&r=%20 HTTP/1.1\n"))
            #expect(response.text.contains("x-forwarded-for: 127.0.0.1\n"))
            #expect(response.text.contains("x-real-ip: 127.0.0.1\n"))
            #expect(response.text.contains("x-forwarded-proto: http\n"))
            #expect(response.text.contains("x-forwarded-host: api.example.com\n"))
            #expect(response.text.contains("x-forwarded-path: /echo/items\n"))
            #expect(response.text.contains("x-forwarded-prefix: /echo\n"))
            #expect(response.text.contains("host: 127.0.0.1:\(fx.origin.port)\n"))
            #expect(response.text.contains("via: 1.1 konnect\n"))
            let requestID = try #require(response.header("x-request-id"))
            #expect(requestID.count == 32)
            #expect(response.text.contains("x-request-id: \(requestID)\n"))
            #expect(response.header("x-konnect-upstream-latency") != nil)
            #expect(response.header("x-konnect-proxy-latency") != nil)
            #expect(response.header("x-upstream") == "mock")
        }
    }

    @Test func everyRequestIsCountedWhetherRoutedOrNot() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/echo"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for path in ["/echo/a", "/echo/b", "/unrouted"] { _ = try await client.get(path) }
            #expect(await fx.runtime.totalRequests() == 3)
        }
    }

    @Test func keepsClientRequestIDAndAppendsForwardedFor() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/", headers: [
                ("X-Request-Id", "abc-123"), ("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-Host", "spoofed"),
                ("X-Real-IP", "6.6.6.6"),
            ])
            #expect(!response.text.contains("spoofed"))
            #expect(!response.text.contains("6.6.6.6"))
            #expect(!response.text.contains("x-forwarded-prefix"), "nothing was stripped from /")
            #expect(response.header("x-request-id") == "abc-123")
            #expect(response.text.contains("x-request-id: abc-123\n"))
            #expect(response.text.contains("x-forwarded-for: 10.0.0.1, 127.0.0.1\n"))
        }
    }

    @Test func absoluteFormTargetIsAcceptedAndItsHostWins() async throws {
        try await withProxy(configure: { ports in
            var configuration = ProxyFixture.simple(port: ports[0], paths: ["/echo"])
            configuration.routes[0].hosts = ["api.example.com"]
            return configuration
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET HTTP://API.example.com:8000/echo/x?y=1 HTTP/1.1\r\nHost: other.example\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text.hasPrefix("GET /x?y=1 HTTP/1.1\n"))
            #expect(response.text.contains("x-forwarded-host: api.example.com\n"))
            try await client.send("GET http://api.example.com?only=query HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 404, "the path is / and no route has it")
        }
    }

    @Test func preserveHostSendsTheClientHost() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], preserveHost: true) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/", host: "shop.example.com")
            #expect(response.text.contains("host: shop.example.com\n"))
        }
    }

    @Test func dropsHopByHopHeaders() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/", headers: [
                ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "timeout=5"),
                ("TE", "trailers"), ("Proxy-Authorization", "Basic Zm9v"), ("Upgrade", "h2c"), ("X-Kept", "yes"),
            ])
            #expect(response.status == 200)
            for name in ["x-secret", "keep-alive", "te", "proxy-authorization", "upgrade", "connection"] {
                #expect(!response.text.contains("\n\(name):"), "\(name) reached the upstream")
            }
            #expect(response.text.contains("x-kept: yes\n"))
        }
    }

    @Test func noRouteGives404JSON() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/only"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/elsewhere")
            #expect(response.status == 404)
            #expect(response.header("content-type") == "application/json; charset=utf-8")
            let id = try #require(response.header("x-request-id"))
            #expect(response.text == "{\"message\":\"no Route matched with those values\",\"request_id\":\"\(id)\"}")
            #expect(fx.origin.requests == 0)
        }
    }

    @Test func dotSegmentsCannotEscapeARoute() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/public"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/public/../admin").status == 404)
            #expect(try await client.get("/public/%2e%2e/admin").status == 404)
            #expect(fx.origin.requests == 0)
        }
    }

    @Test func emptyConfigurationAnswers404() async throws {
        try await withProxy(configure: { _ in .empty }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/").status == 404)
        }
    }

    @Test func keepAliveReusesOneUpstreamConnection() async throws {
        try await withProxy(threads: 1, configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<20 { #expect(try await client.get("/").status == 200) }
            #expect(fx.origin.requests == 20)
            #expect(fx.origin.connections == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /first?delay=50 HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /third HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /fourth HTTP/1.1\r\nHost: a\r\n\r\n")
            let first = try await client.readResponse()
            let second = try await client.readResponse()
            let third = try await client.readResponse()
            let fourth = try await client.readResponse()
            #expect(first.text.hasPrefix("GET /first"))
            #expect(second.text.hasPrefix("GET /second"))
            #expect(third.text.hasPrefix("POST /third") && third.text.hasSuffix("\nabc"))
            #expect(fourth.text.hasPrefix("GET /fourth"))
        }
    }

    @Test func streamsChunkedRequestBody() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            try await client.send("6\r\n world\r\n0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text.contains("transfer-encoding: chunked\n"))
            #expect(response.text.hasSuffix("\nhello world"))
        }
    }

    @Test func forwardsContentLengthBody() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let body = String(repeating: "z", count: 200_000)
            try await client.send("PUT /data HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text.contains("content-length: 200000\n"))
            #expect(fx.origin.lastBodyBytes == 200_000)
        }
    }

    @Test func streamsLargeBodiesBothWays() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let size = 32 << 20
            try await client.send("POST /big?bytes=\(size) HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
            let chunk = ByteBuffer(repeating: UInt8(ascii: "u"), count: 1 << 20)
            for _ in 0..<32 { try await client.send(chunk) }
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.body.count == size)
            #expect(fx.origin.lastBodyBytes == size)
        }
    }

    @Test func earlyResponseDrainsTheRestOfTheUpload() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let size = 4 << 20
            try await client.send("POST /up?early=1 HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
            let chunk = ByteBuffer(repeating: UInt8(ascii: "e"), count: 1 << 20)
            for _ in 0..<4 { try await client.send(chunk) }
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "early")
            #expect(try await client.get("/next").text.hasPrefix("GET /next"), "the connection stays usable")
        }
    }

    @Test func relaysChunkedResponseWithTrailers() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/stream?chunks=20&size=1000&drip=2&trailer=1")
            #expect(response.status == 200)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.body.count == 20_000)
            #expect(response.trailers.contains { $0.0.lowercased() == "x-checksum" && $0.1 == "abc123" })
        }
    }

    @Test func keepsTransferCodingsOtherThanChunked() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/z?chunks=2&size=5&te=gzip")
            #expect(response.header("transfer-encoding") == "gzip, chunked")
            #expect(response.body.count == 10)
        }
    }

    @Test func headAndNoContentHaveNoBody() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("HEAD /thing HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try await client.readResponse(headOnly: true)
            #expect(head.status == 200)
            #expect(head.header("content-length") != nil)
            let noContent = try await client.get("/x?status=204")
            #expect(noContent.status == 204)
            let after = try await client.get("/after")
            #expect(after.text.hasPrefix("GET /after"), "framing stayed intact after HEAD and 204")
        }
    }

    @Test func expectContinueGetsInterimResponse() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            try await client.send("ping")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("\nping"))
            #expect(!response.text.contains("expect:"))
        }
    }

    @Test func earlyRefusalOfAnExpectContinueRequestClosesTheConnection() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/only"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // The client waits for 100 Continue before sending its body; it may never send it, so
            // the connection cannot carry another request after the refusal.
            try await client.send("POST /elsewhere HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 404)
            #expect(response.header("connection") == "close")
            #expect(try await client.isClosedByServer())
        }
    }

    @Test func clientThatClosesItsSendingSideStillGetsTheAnswer() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // The origin waits, so the close of the sending side is most often seen before the
            // response head is written, which then says `Connection: close`. On a machine loaded
            // enough to see it later, the head cannot say so; the answer and the close are what
            // the client must get either way.
            try await client.send("GET /half?delay=3000 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await client.closeSendingSide()
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text.hasPrefix("GET /half"))
            #expect(response.header("connection") == "close" || response.header("connection") == nil)
            #expect(try await client.isClosedByServer())
        }
    }

    @Test func http10ClientGetsCloseDelimitedStream() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("GET /s?chunks=3&size=10 HTTP/1.0\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.version == "HTTP/1.0")
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.body.count == 30)
        }
    }
}

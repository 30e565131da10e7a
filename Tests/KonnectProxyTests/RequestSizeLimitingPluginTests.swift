import KonnectConfig
import KonnectProxy
import Testing

/// request-size-limiting: refused from Content-Length, or as a chunked body grows past the limit.
@Suite("Plugins: request-size-limiting")
struct RequestSizeLimitingPluginTests {
    static func configuration(port: Int, requireLength: Bool = false) -> Configuration {
        pluginConfiguration(port: port, plugins: [Plugin(id: "p-size", name: "request-size-limiting", config: .object([
            "allowed_payload_size": .number(10), "size_unit": .string("bytes"), "require_content_length": .bool(requireLength),
        ]))])
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeTheOrigin() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(response.text.contains("Request size limit exceeded"))
            #expect(fx.origin.requests == 0)

            let small = try await fx.client()
            defer { small.close() }
            try await small.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try await small.readResponse().status == 200)
        }
    }

    @Test func aChunkedBodyIsCountedAsItArrives() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
            #expect(try await client.readResponse().status == 413)
        }
    }

    @Test func aBodyWithoutLengthIsRefusedWhenALengthIsRequired() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0], requireLength: true) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
            #expect(try await client.readResponse().status == 411)
        }
    }
}

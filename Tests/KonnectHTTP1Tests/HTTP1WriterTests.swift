import KonnectHTTP1
import NIOCore
import Testing

/// What a writer call appends to a buffer that already holds `"<"`.
func written(_ write: (inout ByteBuffer) -> Void) -> String {
    var out = ByteBuffer(string: "<")
    write(&out)
    return String(buffer: out)
}

@Suite("HTTP1Writer")
struct HTTP1WriterTests {
    static let decimals: [(Int, String)] = [
        (0, "0"), (9, "9"), (10, "10"), (99, "99"), (100, "100"), (105, "105"), (110, "110"), (1005, "1005"),
        (12345, "12345"), (1_000_000, "1000000"), (999_999_999, "999999999"), (1_000_000_000, "1000000000"),
        (Int(Int32.max), "2147483647"), (Int.max, "9223372036854775807"),
    ]

    @Test("writeDecimal", arguments: decimals)
    func decimal(_ value: Int, _ text: String) {
        #expect(written { $0.writeHead(estimate: 64) { $0.writeDecimal(value) } } == "<" + text)
    }

    static let hexSizes: [(Int, String)] = [
        (1, "1"), (9, "9"), (10, "a"), (15, "f"), (16, "10"), (255, "ff"), (256, "100"), (4096, "1000"),
        (65535, "ffff"), (1 << 20, "100000"), (0xABCDEF, "abcdef"),
    ]

    @Test("writeChunkHeader writes the size in hexadecimal", arguments: hexSizes)
    func chunkHeader(_ size: Int, _ hex: String) {
        #expect(written { HTTP1Writer.writeChunkHeader(size: size, to: &$0) } == "<\(hex)\r\n")
    }

    @Test("writeChunk frames the data and decodes back to it", arguments: hexSizes.filter { $0.0 <= 1 << 20 })
    func chunk(_ size: Int, _ hex: String) throws {
        let data = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31) })
        var out = ByteBuffer()
        HTTP1Writer.writeChunk(data, to: &out)
        #expect(out.readableBytes == hex.utf8.count + 2 + size + 2)
        #expect(out.getString(at: 0, length: hex.utf8.count + 2) == "\(hex)\r\n")
        #expect(out.getSlice(at: hex.utf8.count + 2, length: size) == data)
        #expect(out.getString(at: out.writerIndex - 2, length: 2) == "\r\n")
        #expect(data.readableBytes == size, "the data buffer is left as it was")

        HTTP1Writer.writeLastChunk(trailers: nil, to: &out)
        let wire = bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") + Array(out.readableBytesView)
        let decoded = try decode(wire)
        #expect(decoded.messages.first?.body == Array(data.readableBytesView))
        #expect(decoded.leftover.isEmpty)
    }

    @Test("writeChunk of nothing writes nothing, since an empty chunk would end the body")
    func emptyChunk() {
        #expect(written { HTTP1Writer.writeChunk(ByteBuffer(), to: &$0) } == "<")
    }

    @Test("writeLastChunk without and with trailers")
    func lastChunk() {
        #expect(written { HTTP1Writer.writeLastChunk(trailers: nil, to: &$0) } == "<0\r\n\r\n")
        #expect(written { HTTP1Writer.writeLastChunk(trailers: ByteBuffer(), to: &$0) } == "<0\r\n\r\n")
        let trailers = ByteBuffer(string: "X-Checksum: abc\r\nX-Count: 2\r\n")
        #expect(written { HTTP1Writer.writeLastChunk(trailers: trailers, to: &$0) }
            == "<0\r\nX-Checksum: abc\r\nX-Count: 2\r\n\r\n")
    }

    @Test("writeField writes one field line")
    func field() {
        #expect(written { $0.writeHead(estimate: 64) { $0.writeField("X-Request-Id", "abc-123") } } == "<X-Request-Id: abc-123\r\n")
        let value: Substring = "keep-alive, Upgrade".prefix(10)
        #expect(written { $0.writeHead(estimate: 64) { $0.writeField("Connection", value) } } == "<Connection: keep-alive\r\n")
        #expect(written { $0.writeHead(estimate: 64) { $0.writeField("X-Empty", "") } } == "<X-Empty: \r\n")
    }

    @Test("a head larger than its estimate is still written whole, after the room grows")
    func headLargerThanEstimate() {
        let value = String(repeating: "v", count: 5000)
        var runs = 0
        let text = written { out in
            out.writeHead(estimate: 10) { head in
                runs += 1
                head.write("HTTP/1.1 200 OK\r\n")
                head.writeField("X-Long", value)
                head.write("\r\n")
            }
        }
        #expect(text == "<HTTP/1.1 200 OK\r\nX-Long: \(value)\r\n\r\n")
        #expect(runs > 1)
    }

    @Test("a decoded chunked body written again with the writer decodes to the same data and trailers")
    func chunkedRoundTrip() throws {
        let original = "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\nB\r\n, beautiful\r\n7\r\n world!\r\n0\r\nX-Checksum: 1f2e\r\nX-Parts:  3 \r\n\r\n"
        for cuts in [[], [60, 61, 70, 90], Array(0..<original.utf8.count)] {
            var decoder = HTTP1Decoder(kind: .request)
            var input = ByteBuffer()
            var output = ByteBuffer(string: "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            var chunks = 0
            for piece in pieces(bytes(original), cuts: cuts) {
                input.writeBytes(piece)
                while let event = try decoder.next(&input) {
                    switch event {
                    case .head: break
                    case .body(let slice):
                        HTTP1Writer.writeChunk(slice, to: &output)
                        chunks += 1
                    case .end(let trailers):
                        HTTP1Writer.writeLastChunk(trailers: trailers, to: &output)
                    }
                }
            }
            let again = try decode(Array(output.readableBytesView))
            let message = try #require(again.messages.first)
            #expect(message.body == bytes("hello, beautiful world!"))
            #expect(message.trailers == bytes("X-Checksum: 1f2e\r\nX-Parts:  3 \r\n"))
            #expect(message.bodyEvents == chunks)
            #expect(again.leftover.isEmpty)
        }
    }

    @Test("random bodies survive a decode and write round trip")
    func randomRoundTrip() throws {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            let body = (0..<Int.random(in: 0...2000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var wire = ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            var rest = body[...]
            while !rest.isEmpty {
                let size = min(rest.count, Int.random(in: 1...700, using: &random))
                HTTP1Writer.writeChunkHeader(size: size, to: &wire)
                wire.writeBytes(rest.prefix(size))
                wire.writeStaticString("\r\n")
                rest = rest.dropFirst(size)
            }
            HTTP1Writer.writeLastChunk(trailers: nil, to: &wire)
            let decoded = try decode(Array(wire.readableBytesView), kind: .response)
            #expect(decoded.messages.first?.body == body)
            #expect(decoded.leftover.isEmpty)
        }
    }
}

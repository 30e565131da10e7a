import KonnectHTTP1
import NIOCore
import Testing

/// The head the decoder returns first for `wire`.
func firstHead(_ wire: [UInt8], kind: HTTP1Decoder.Kind = .request) throws -> HTTP1Head {
    var decoder = HTTP1Decoder(kind: kind)
    var buffer = ByteBuffer(bytes: wire)
    guard case .head(let head) = try decoder.next(&buffer) else {
        Issue.record("no head decoded from \(String(decoding: wire, as: UTF8.self))")
        throw HTTP1Error.unexpectedEnd
    }
    return head
}

func firstHead(_ text: String, kind: HTTP1Decoder.Kind = .request) throws -> HTTP1Head {
    try firstHead(bytes(text), kind: kind)
}

/// The field line `writeFieldLine` writes for `field`.
func fieldLine(_ head: HTTP1Head, _ field: HTTP1Field) -> [UInt8] {
    var out = ByteBuffer()
    out.writeHead(estimate: 16) { head.writeFieldLine(field, to: &$0) }
    return Array(out.readableBytesView)
}

@Suite("HTTP1Head")
struct HTTP1HeadTests {
    static let request = "GET /search?q=swift HTTP/1.1\r\nHOST: example.com\r\nx-forwarded-for: 10.0.0.1\r\n"
        + "Accept: */*\r\nX-Forwarded-For:  10.0.0.2 \r\nX-Empty:\r\n\r\n"

    @Test("start line and head bytes are exactly what was sent")
    func startLine() throws {
        let head = try firstHead(Self.request)
        #expect(head.method == "GET")
        #expect(head.target == "/search?q=swift")
        #expect(head.minorVersion == 1)
        #expect(head.status == 0)
        #expect(Array(head.bytes.readableBytesView) == bytes(Self.request))
        #expect(head.fields.count == 5)

        let response = try firstHead("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n", kind: .response)
        #expect(response.status == 503)
        #expect(response.minorVersion == 0)
        #expect(response.method.isEmpty && response.target.isEmpty)
        #expect(response.firstValue("retry-after") == "5")
    }

    @Test("first and firstValue ignore the case of the name and return the first match")
    func firstLookups() throws {
        let head = try firstHead(Self.request)
        let host = try #require(head.first("host"))
        #expect(head.nameString(host) == "HOST")
        #expect(head.value(host) == "example.com")
        #expect(head.firstValue("x-forwarded-for") == "10.0.0.1")
        #expect(head.firstValue("accept") == "*/*")
        #expect(head.firstValue("x-empty") == "")
        #expect(head.first("x-empty")?.valueLength == 0)
        #expect(head.firstValue("missing") == nil)
        #expect(head.firstValue("hos") == nil)
        #expect(head.firstValue("hosts") == nil)
    }

    @Test("values(named:) returns every value in order, trimmed")
    func allValues() throws {
        let head = try firstHead(Self.request)
        #expect(head.values(named: "x-forwarded-for") == ["10.0.0.1", "10.0.0.2"])
        #expect(head.values(named: "host") == ["example.com"])
        #expect(head.values(named: "x-empty") == [""])
        #expect(head.values(named: "missing").isEmpty)
        #expect(head.values(named: Substring("x-forwarded-for-extra").prefix(15)) == ["10.0.0.1", "10.0.0.2"])
    }

    static let names: [(String, StaticString, Bool)] = [
        ("Content-Length", "content-length", true),
        ("CONTENT-LENGTH", "content-length", true),
        ("content-length", "content-length", true),
        ("cOnTeNt-LeNgTh", "content-length", true),
        ("Content-Lengt", "content-length", false),
        ("Content-Lengths", "content-length", false),
        ("Content_Length", "content-length", false),
        ("Content-Lenght", "content-length", false),
        ("X-1", "x-1", true),
        ("X~Y", "x~y", true),
        // Only letters have a case: '^' is not an upper-case '~', nor '@' of '`', nor '[' of '{'.
        ("X^Y", "x~y", false),
        ("A", "a", true),
        ("B", "a", false),
    ]

    @Test("name comparison ignores ASCII case and nothing else", arguments: names)
    func nameComparison(_ sent: String, _ lookup: StaticString, _ equal: Bool) throws {
        // The value is a valid Content-Length too, so the names of that field can be checked.
        let head = try firstHead("GET / HTTP/1.1\r\n\(sent): 7\r\n\r\n")
        let field = try #require(head.fields.first)
        #expect(head.name(of: field, is: lookup) == equal)
        #expect(head.name(of: field, equalsLowercased: lookup.description) == equal)
        #expect((head.first(lookup) != nil) == equal)
        #expect(head.values(named: lookup.description) == (equal ? ["7"] : []))
    }

    static let values: [(String, StaticString, Bool)] = [
        ("chunked", "chunked", true),
        ("Chunked", "chunked", true),
        ("CHUNKED", "chunked", true),
        ("chunked ", "chunked", true),
        ("chunke", "chunked", false),
        ("chunkedx", "chunked", false),
        ("gzip, chunked", "chunked", false),
        ("~", "~", true),
        ("^", "~", false),
        ("@", "`", false),
        ("[", "{", false),
    ]

    @Test("value comparison ignores ASCII case and nothing else", arguments: values)
    func valueComparison(_ sent: String, _ lookup: StaticString, _ equal: Bool) throws {
        let head = try firstHead("GET / HTTP/1.1\r\nX-V: \(sent)\r\n\r\n")
        let field = try #require(head.fields.first)
        #expect(head.value(of: field, is: lookup) == equal)
    }

    @Test("writeFieldLine copies the line as sent, without trailing whitespace or line ending")
    func writeFieldLine() throws {
        let head = try firstHead("GET / HTTP/1.1\r\nX-A:  spaced  value \t\r\nx-b:v\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n")
        // A value of only whitespace is empty; its line keeps that whitespace, still a valid field line.
        #expect(head.fields.map { fieldLine(head, $0) } == [
            bytes("X-A:  spaced  value"), bytes("x-b:v"), bytes("X-Empty:"), bytes("X-Blank: \t "),
        ])
        #expect(head.values(named: "x-blank") == [""])
        // It appends.
        var out = ByteBuffer(string: "> ")
        out.writeHead(estimate: 16) { head.writeFieldLine(head.fields[1], to: &$0) }
        #expect(String(buffer: out) == "> x-b:v")
    }

    @Test("obs-text values come back byte for byte")
    func obsText() throws {
        let latin: [UInt8] = bytes("caf") + [0xE9, 0x09, 0xFF, 0x80]
        let wire = bytes("GET / HTTP/1.1\r\nX-Latin: ") + latin + bytes("\r\nX-Utf8: \u{C5}ngstr\u{F6}m \u{1F600}\r\n\r\n")
        let head = try firstHead(wire)
        let latinField = try #require(head.first("x-latin"))
        #expect(head.withValueBytes(latinField) { Array($0) } == latin)
        #expect(fieldLine(head, latinField) == bytes("X-Latin: ") + latin)
        #expect(head.firstValue("x-utf8") == "\u{C5}ngstr\u{F6}m \u{1F600}")
        #expect(fieldLine(head, try #require(head.first("x-utf8"))) == bytes("X-Utf8: \u{C5}ngstr\u{F6}m \u{1F600}"))
    }

    @Test("field offsets count from the start of the head's bytes")
    func offsets() throws {
        let head = try firstHead("\r\nPOST / HTTP/1.1\r\nA: 1\r\nBb:  22\r\n\r\n")
        let a = head.fields[0]
        let b = head.fields[1]
        #expect((a.nameStart, a.nameEnd, a.valueStart, a.valueEnd) == (17, 18, 20, 21))
        #expect((b.nameStart, b.nameEnd, b.valueStart, b.valueEnd) == (23, 25, 28, 30))
        #expect((a.nameLength, a.valueLength, b.nameLength, b.valueLength) == (1, 1, 2, 2))
    }

    @Test("a head stays valid after the connection's buffer is reused")
    func headOutlivesBuffer() throws {
        var decoder = HTTP1Decoder(kind: .request)
        var buffer = ByteBuffer(string: "GET /kept HTTP/1.1\r\nHost: example.com\r\n\r\n")
        guard case .head(let head) = try decoder.next(&buffer) else {
            Issue.record("no head")
            return
        }
        buffer.discardReadBytes()
        buffer.clear()
        buffer.writeString(String(repeating: "Z", count: 200))
        #expect(head.target == "/kept")
        #expect(head.firstValue("host") == "example.com")
        #expect(fieldLine(head, head.fields[0]) == bytes("Host: example.com"))
    }

    @Test("lookups among many fields find each one")
    func manyFields() throws {
        var text = "GET / HTTP/1.1\r\n"
        for index in 0..<100 { text += "X-Field-\(index % 10): v\(index)\r\n" }
        let head = try firstHead(text + "\r\n")
        #expect(head.fields.count == 100)
        for name in 0..<10 {
            #expect(head.values(named: "x-field-\(name)") == (0..<10).map { "v\($0 * 10 + name)" })
        }
        #expect(head.firstValue("x-field-9") == "v9")
    }
}

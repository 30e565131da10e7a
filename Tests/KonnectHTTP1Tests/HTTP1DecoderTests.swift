import KonnectHTTP1
import NIOCore
import Testing

// MARK: - Harness shared by the codec tests

/// The UTF-8 bytes of `text`; tests spell messages with `\r\n` so every line ending is visible.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// One header field as bytes: name as received, value without surrounding whitespace.
struct DecodedField: Equatable, Sendable, CustomStringConvertible {
    var name: [UInt8]
    var value: [UInt8]

    init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    init(_ name: String, _ value: String) {
        self.init(name: bytes(name), value: bytes(value))
    }

    var description: String {
        "\(String(decoding: name, as: UTF8.self)): \(String(decoding: value, as: UTF8.self))"
    }
}

/// A decoded message flattened to plain values, so messages decoded in different ways compare equal.
struct DecodedMessage: Equatable, Sendable {
    var method = ""
    var target = ""
    var status = 0
    var minorVersion = 1
    var fields: [DecodedField] = []
    var headBytes: [UInt8] = []
    var framing: HTTP1Decoder.Framing = .none
    var body: [UInt8] = []
    var trailers: [UInt8]?
    /// How many `.body` events carried the body.
    var bodyEvents = 0

    init() {}

    init(_ head: HTTP1Head, framing: HTTP1Decoder.Framing) {
        method = head.method
        target = head.target
        status = head.status
        minorVersion = head.minorVersion
        headBytes = Array(head.bytes.readableBytesView)
        fields = head.fields.map { field in
            DecodedField(
                name: head.bytes.getBytes(at: head.bytes.readerIndex + Int(field.nameStart), length: field.nameLength)!,
                value: head.withValueBytes(field) { Array($0) })
        }
        self.framing = framing
    }

    /// The same message with the parts that depend on how it was split removed.
    var ignoringSplits: DecodedMessage {
        var copy = self
        copy.bodyEvents = 0
        return copy
    }
}

/// The kinds of events in the order the decoder returned them.
enum EventKind: Equatable, Sendable {
    case head
    case body
    case end
}

/// Feeds a decoder and records what it returns, checking the event invariants on the way.
struct DecodeHarness {
    var decoder: HTTP1Decoder
    var buffer = ByteBuffer()
    var messages: [DecodedMessage] = []
    /// The message whose head has been returned but not yet its end.
    var open: DecodedMessage?
    var events: [EventKind] = []

    init(_ kind: HTTP1Decoder.Kind, maxHeadSize: Int = 80 * 1024, maxFieldCount: Int = 100) {
        decoder = HTTP1Decoder(kind: kind, maxHeadSize: maxHeadSize, maxFieldCount: maxFieldCount)
    }

    /// Appends `bytes` and takes every event the decoder can produce from them.
    mutating func feed(_ bytes: [UInt8]) throws(HTTP1Error) {
        buffer.writeBytes(bytes)
        while let event = try decoder.next(&buffer) { record(event) }
    }

    /// Takes at most one event, for tests that look at the buffer between events.
    mutating func step() throws(HTTP1Error) -> EventKind? {
        guard let event = try decoder.next(&buffer) else { return nil }
        record(event)
        return events.last
    }

    /// The peer closed: records the event `inputClosed` returns, if any.
    mutating func close() throws(HTTP1Error) {
        if let event = try decoder.inputClosed(remaining: buffer) { record(event) }
    }

    var leftover: [UInt8] { Array(buffer.readableBytesView) }

    private mutating func record(_ event: HTTP1Decoder.Event) {
        switch event {
        case .head(let head):
            #expect(open == nil, "a head arrived before the previous message ended")
            open = DecodedMessage(head, framing: decoder.framing)
            events.append(.head)
        case .body(let slice):
            #expect(slice.readableBytes > 0, "a body event carried no bytes")
            #expect(open != nil, "a body event outside a message")
            open?.body += Array(slice.readableBytesView)
            open?.bodyEvents += 1
            events.append(.body)
        case .end(let trailers):
            #expect(open != nil, "an end event outside a message")
            if var message = open {
                #expect(trailers?.readableBytes != 0, "trailers are nil, never empty")
                message.trailers = trailers.map { Array($0.readableBytesView) }
                messages.append(message)
            }
            open = nil
            events.append(.end)
        }
    }
}

/// `bytes` cut at the given offsets (ascending, inside the array).
func pieces(_ bytes: [UInt8], cuts: [Int]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var start = 0
    for cut in cuts where cut > start && cut < bytes.count {
        result.append(Array(bytes[start..<cut]))
        start = cut
    }
    result.append(Array(bytes[start...]))
    return result
}

/// Decodes `bytes` fed in the pieces `cuts` makes, then optionally closes the input.
func decode(
    _ bytes: [UInt8], kind: HTTP1Decoder.Kind = .request, cuts: [Int] = [], close: Bool = false,
    maxHeadSize: Int = 80 * 1024, maxFieldCount: Int = 100
) throws(HTTP1Error) -> DecodeHarness {
    var harness = DecodeHarness(kind, maxHeadSize: maxHeadSize, maxFieldCount: maxFieldCount)
    for piece in pieces(bytes, cuts: cuts) { try harness.feed(piece) }
    if close { try harness.close() }
    return harness
}

/// Decodes `text` whole and returns its only message.
func decodeOne(_ text: String, kind: HTTP1Decoder.Kind = .request) throws -> DecodedMessage {
    let harness = try decode(bytes(text), kind: kind)
    #expect(harness.messages.count == 1)
    #expect(harness.leftover.isEmpty)
    return try #require(harness.messages.first)
}

/// A message that must be refused with one exact error.
struct Rejection: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let error: HTTP1Error

    init(_ name: String, _ text: String, _ error: HTTP1Error) {
        self.init(name, bytes: Array(text.utf8), error)
    }

    init(_ name: String, bytes: [UInt8], _ error: HTTP1Error) {
        self.name = name
        self.bytes = bytes
        self.error = error
    }

    var testDescription: String { name }
}

/// Checks that `rejection` fails with its error whether it arrives whole, in two pieces (cut
/// anywhere) or a byte at a time, and without waiting for the peer to close (the close would
/// report `unexpectedEnd` instead).
func expectRejected(
    _ rejection: Rejection, kind: HTTP1Decoder.Kind, maxHeadSize: Int = 80 * 1024, maxFieldCount: Int = 100,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let count = rejection.bytes.count
    var splits: [(String, [Int])] = [("whole", []), ("byte by byte", Array(0..<count))]
    for cut in stride(from: 1, to: count, by: max(1, count / 256)) { splits.append(("cut at \(cut)", [cut])) }
    for (name, cuts) in splits {
        let outcome = Result { () throws(HTTP1Error) in
            try decode(rejection.bytes, kind: kind, cuts: cuts, close: true, maxHeadSize: maxHeadSize, maxFieldCount: maxFieldCount)
        }
        guard case .failure(let error) = outcome, error == rejection.error else {
            let got = (try? outcome.get()).map { "\($0.messages.count) message(s)" } ?? "\(outcome)"
            Issue.record("\(name): expected \(rejection.error), got \(got)", sourceLocation: sourceLocation)
            return
        }
    }
}

/// A small deterministic generator (SplitMix64), so property tests fail the same way every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

// MARK: - Valid requests

/// A valid request and the head it must decode to.
struct ValidRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let wire: String
    let method: String
    let target: String
    let minorVersion: Int
    let fields: [DecodedField]

    var testDescription: String { name }
}

@Suite("HTTP1Decoder: requests")
struct HTTP1DecoderRequestTests {
    static let validRequests: [ValidRequest] = [
        ValidRequest(name: "GET origin-form", wire: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1, fields: [DecodedField("Host", "example.com")]),
        ValidRequest(name: "POST with query, HTTP/1.0, no fields",
                     wire: "POST /api/v1/items?x=1&y=%20z HTTP/1.0\r\n\r\n",
                     method: "POST", target: "/api/v1/items?x=1&y=%20z", minorVersion: 0, fields: []),
        ValidRequest(name: "OPTIONS asterisk-form", wire: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
                     method: "OPTIONS", target: "*", minorVersion: 1, fields: [DecodedField("Host", "a")]),
        ValidRequest(name: "CONNECT authority-form",
                     wire: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                     method: "CONNECT", target: "example.com:443", minorVersion: 1,
                     fields: [DecodedField("Host", "example.com:443")]),
        ValidRequest(name: "absolute-form", wire: "GET http://example.com:8080/a/b?c=d HTTP/1.1\r\n\r\n",
                     method: "GET", target: "http://example.com:8080/a/b?c=d", minorVersion: 1, fields: []),
        ValidRequest(name: "extension method", wire: "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",
                     method: "M-SEARCH", target: "*", minorVersion: 1, fields: [DecodedField("ST", "ssdp:all")]),
        ValidRequest(name: "methods are case-sensitive and kept as sent", wire: "get /x HTTP/1.1\r\n\r\n",
                     method: "get", target: "/x", minorVersion: 1, fields: []),
        ValidRequest(name: "DELETE, PATCH-like token characters in the target",
                     wire: "DELETE /a-b_c.d~e!$&'()*+,;=:@/%7E HTTP/1.1\r\n\r\n",
                     method: "DELETE", target: "/a-b_c.d~e!$&'()*+,;=:@/%7E", minorVersion: 1, fields: []),
        ValidRequest(name: "leading empty lines are ignored",
                     wire: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1, fields: [DecodedField("Host", "a")]),
        ValidRequest(name: "optional whitespace around values is trimmed",
                     wire: "GET / HTTP/1.1\r\nA:value\r\nB:   value\r\nC:\tvalue\t \r\nD: a  b \t\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1,
                     fields: [DecodedField("A", "value"), DecodedField("B", "value"),
                              DecodedField("C", "value"), DecodedField("D", "a  b")]),
        ValidRequest(name: "empty values",
                     wire: "GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank:   \t \r\nX-After: 1\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1,
                     fields: [DecodedField("X-Empty", ""), DecodedField("X-Blank", ""), DecodedField("X-After", "1")]),
        ValidRequest(name: "every token character in a name",
                     wire: "GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1, fields: [DecodedField("!#$%&'*+-.^_`|~09azAZ", "v")]),
        ValidRequest(name: "values keep quotes, commas, colons and inner tabs",
                     wire: "GET / HTTP/1.1\r\nAccept: text/html, */*;q=0.8\r\nX-Q: \"a:b\"\tc\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1,
                     fields: [DecodedField("Accept", "text/html, */*;q=0.8"), DecodedField("X-Q", "\"a:b\"\tc")]),
        ValidRequest(name: "repeated field names stay separate and ordered",
                     wire: "GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1,
                     fields: [DecodedField("X-A", "1"), DecodedField("x-a", "2"), DecodedField("X-A", "3")]),
        // RFC 9110 §2.5: a higher minor version of a major version we implement is processed as the
        // highest minor version we support.
        ValidRequest(name: "HTTP/1.2 is handled as HTTP/1.1", wire: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
                     method: "GET", target: "/", minorVersion: 1, fields: [DecodedField("Host", "a")]),
    ]

    @Test("valid requests decode to the bytes sent", arguments: validRequests)
    func validRequest(_ request: ValidRequest) throws {
        let message = try decodeOne(request.wire)
        #expect(message.method == request.method)
        #expect(message.target == request.target)
        #expect(message.minorVersion == request.minorVersion)
        #expect(message.status == 0)
        #expect(message.fields == request.fields)
        #expect(message.framing == .none)
        #expect(message.body.isEmpty && message.bodyEvents == 0)
        #expect(message.trailers == nil)
        // The head is exactly the request's bytes, without the ignored empty lines before it.
        var expectedHead = bytes(request.wire)[...]
        while expectedHead.starts(with: [0x0D, 0x0A]) { expectedHead = expectedHead.dropFirst(2) }
        #expect(message.headBytes == Array(expectedHead))
    }

    @Test("a request without a body is a head then an end, and the decoder is between messages again")
    func headThenEnd() throws {
        var harness = DecodeHarness(.request)
        harness.buffer.writeBytes(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(harness.decoder.isBetweenMessages)
        #expect(try harness.step() == .head)
        #expect(!harness.decoder.isBetweenMessages)
        #expect(try harness.step() == .end)
        #expect(harness.decoder.isBetweenMessages)
        #expect(try harness.step() == nil)
        #expect(harness.messages.first?.trailers == nil)
    }

    @Test("obs-text (bytes 0x80 and above) in a value is kept byte for byte")
    func obsTextValue() throws {
        let value: [UInt8] = bytes("caf") + [0xE9, 0x20, 0x80, 0xFF] + bytes(" end")
        let wire = bytes("GET / HTTP/1.1\r\nX-Latin:  ") + value + bytes(" \r\nX-Utf8: h\u{E9}llo\r\n\r\n")
        let harness = try decode(wire)
        let message = try #require(harness.messages.first)
        #expect(message.fields == [DecodedField(name: bytes("X-Latin"), value: value), DecodedField("X-Utf8", "h\u{E9}llo")])
    }

    @Test("100 fields are accepted by default; the 101st is refused")
    func fieldCountLimit() throws {
        func request(fields count: Int) -> [UInt8] {
            var text = "GET / HTTP/1.1\r\n"
            for index in 0..<count { text += "X-Field-\(index): value \(index)\r\n" }
            return bytes(text + "\r\n")
        }
        let message = try #require(try decode(request(fields: 100)).messages.first)
        #expect(message.fields.count == 100)
        #expect(message.fields.last == DecodedField("X-Field-99", "value 99"))
        expectRejected(Rejection("101 fields", bytes: request(fields: 101), .tooManyFields), kind: .request)
    }

    @Test("maxFieldCount is honoured exactly")
    func customFieldCount() throws {
        let three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        let harness = try decode(bytes(three), maxFieldCount: 3)
        #expect(harness.messages.first?.fields.count == 3)
        expectRejected(Rejection("4 fields, limit 3", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", .tooManyFields),
                       kind: .request, maxFieldCount: 3)
    }

    @Test("a head of exactly maxHeadSize bytes is accepted")
    func headAtLimit() throws {
        let prefix = "GET / HTTP/1.1\r\nX-Pad: "
        let suffix = "\r\n\r\n"
        let padding = String(repeating: "p", count: 128 - prefix.utf8.count - suffix.utf8.count)
        let wire = bytes(prefix + padding + suffix)
        #expect(wire.count == 128)
        let whole = try decode(wire, maxHeadSize: 128)
        let split = try decode(wire, cuts: Array(0..<wire.count), maxHeadSize: 128)
        #expect(whole.messages.count == 1)
        #expect(split.messages == whole.messages)
    }

    @Test("a head longer than maxHeadSize is refused whether or not its end has arrived")
    func headTooLarge() {
        let long = "GET / HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: 200)
        // The end never comes: refused once more than maxHeadSize bytes are waiting.
        expectRejected(Rejection("no end in sight", long, .headTooLarge), kind: .request, maxHeadSize: 128)
        // The end is there, but past the limit.
        expectRejected(Rejection("end past the limit", long + "\r\n\r\n", .headTooLarge), kind: .request, maxHeadSize: 128)
        // One byte over.
        let prefix = "GET / HTTP/1.1\r\nX-Pad: "
        let padding = String(repeating: "p", count: 129 - prefix.utf8.count - 4)
        expectRejected(Rejection("one byte over", prefix + padding + "\r\n\r\n", .headTooLarge), kind: .request, maxHeadSize: 128)
    }

    @Test("an incomplete head is left in the buffer and completed by later reads")
    func incompleteHeadStaysInBuffer() throws {
        var harness = DecodeHarness(.request)
        let head = bytes("GET /slow HTTP/1.1\r\nHost: a\r\nX-Long: ") + Array(repeating: UInt8(ascii: "x"), count: 500)
        for byte in head {
            harness.buffer.writeInteger(byte)
            #expect(try harness.step() == nil)
        }
        #expect(harness.leftover == head)
        try harness.feed(bytes("\r\n\r\n"))
        #expect(harness.messages.count == 1)
        #expect(harness.messages.first?.target == "/slow")
        #expect(harness.messages.first?.fields.last?.value.count == 500)
    }
}

// MARK: - Rejections

@Suite("HTTP1Decoder: rejections")
struct HTTP1DecoderRejectionTests {
    static let startLines: [Rejection] = [
        Rejection("method only", "GET\r\nHost: a\r\n\r\n", .malformedStartLine),
        Rejection("no version (HTTP/0.9 shape)", "GET /\r\nHost: a\r\n\r\n", .malformedStartLine),
        Rejection("no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", .malformedStartLine),
        Rejection("no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedStartLine),
        Rejection("empty request line after the ignored ones", "\r\n \r\n\r\n", .malformedStartLine),
        Rejection("two spaces before the target", "GET  / HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("two spaces before the version", "GET /  HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("tab after the method", "GET\t/ HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("tab before the version", "GET /\tHTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("lower-case version", "GET / http/1.1\r\n\r\n", .malformedStartLine),
        Rejection("junk after the version", "GET / HTTP/1.1x\r\n\r\n", .malformedStartLine),
        Rejection("space after the version", "GET / HTTP/1.1 \r\n\r\n", .malformedStartLine),
        Rejection("two-digit minor version", "GET / HTTP/1.10\r\n\r\n", .malformedStartLine),
        Rejection("version without a dot", "GET / HTTP/11\r\n\r\n", .malformedStartLine),
        Rejection("version without a minor", "GET / HTTP/1\r\n\r\n", .malformedStartLine),
        Rejection("letters as version", "GET / HTTP/a.b\r\n\r\n", .malformedStartLine),
        Rejection("wrong protocol name", "GET / HTTPS/1.1\r\n\r\n", .malformedStartLine),
        Rejection("HTTP/2 without a minor", "GET / HTTP/2\r\n\r\n", .malformedStartLine),
        Rejection("non-token method", "G@T / HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("NUL in the target", "GET /a\u{0}b HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("control character in the target", "GET /a\u{1}b HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("DEL in the target", "GET /a\u{7F}b HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("bare CR in the target", "GET /a\rb HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("byte 0x80 in the target", bytes: bytes("GET /a") + [0x80] + bytes(" HTTP/1.1\r\n\r\n"), .malformedStartLine),
        Rejection("bare CR ending the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", .malformedStartLine),
        // RFC 9112 §2.2: a bare LF is not a line terminator here; refused at once, not after a timeout.
        Rejection("bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", .malformedStartLine),
        Rejection("bare LF line endings throughout", "GET / HTTP/1.1\nHost: a\n\n", .malformedStartLine),
        Rejection("bare LF after an ignored empty line", "\r\n\nGET / HTTP/1.1\n\n", .malformedStartLine),
    ]

    @Test("malformed request lines", arguments: startLines)
    func malformedRequestLine(_ rejection: Rejection) {
        expectRejected(rejection, kind: .request)
    }

    static let versions: [Rejection] = [
        Rejection("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
        Rejection("HTTP/3.0", "GET / HTTP/3.0\r\n\r\n", .unsupportedVersion),
        Rejection("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", .unsupportedVersion),
        Rejection("HTTP/0.1", "GET / HTTP/0.1\r\n\r\n", .unsupportedVersion),
        Rejection("HTTP/9.9", "GET / HTTP/9.9\r\nHost: a\r\n\r\n", .unsupportedVersion),
    ]

    @Test("versions other than HTTP/1.x", arguments: versions)
    func unsupportedVersion(_ rejection: Rejection) {
        expectRejected(rejection, kind: .request)
    }

    static let fields: [Rejection] = [
        Rejection("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .malformedField),
        Rejection("tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .malformedField),
        Rejection("empty field name", "GET / HTTP/1.1\r\n: a\r\n\r\n", .malformedField),
        Rejection("no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", .malformedField),
        Rejection("space inside the name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", .malformedField),
        Rejection("non-token name character", "GET / HTTP/1.1\r\nX(Y): a\r\n\r\n", .malformedField),
        Rejection("obs-text in the name", bytes: bytes("GET / HTTP/1.1\r\nX") + [0xE9] + bytes(": a\r\n\r\n"), .malformedField),
        Rejection("folded line (SP)", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", .malformedField),
        Rejection("folded line (HTAB)", "GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", .malformedField),
        Rejection("whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", .malformedField),
        Rejection("bare LF ending a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", .malformedField),
        Rejection("bare LF ending the last field", "GET / HTTP/1.1\r\nHost: a\n\r\n", .malformedField),
        Rejection("bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", .malformedField),
        Rejection("bare CR inside a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .malformedField),
        Rejection("CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", .malformedField),
        Rejection("NUL in a value", "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", .malformedField),
        Rejection("control character in a value", "GET / HTTP/1.1\r\nX: a\u{1B}b\r\n\r\n", .malformedField),
        Rejection("vertical tab in a value", "GET / HTTP/1.1\r\nX: a\u{0B}b\r\n\r\n", .malformedField),
        Rejection("form feed in a value", "GET / HTTP/1.1\r\nX: \u{0C}\r\n\r\n", .malformedField),
        Rejection("DEL in a value", "GET / HTTP/1.1\r\nX: a\u{7F}\r\n\r\n", .malformedField),
    ]

    @Test("malformed field lines", arguments: fields)
    func malformedField(_ rejection: Rejection) {
        expectRejected(rejection, kind: .request)
    }

    static let contentLengths: [Rejection] = [
        Rejection("not a number", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", .invalidContentLength),
        Rejection("empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        Rejection("negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        Rejection("plus sign", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .invalidContentLength),
        Rejection("hexadecimal", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        Rejection("decimal point", "POST / HTTP/1.1\r\nContent-Length: 5.0\r\n\r\n", .invalidContentLength),
        Rejection("inner space", "POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", .invalidContentLength),
        Rejection("a list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", .invalidContentLength),
        Rejection("19 digits", "POST / HTTP/1.1\r\nContent-Length: 1000000000000000000\r\n\r\n", .invalidContentLength),
        Rejection("20 digits", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", .invalidContentLength),
        Rejection("two differing values", "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!",
                  .invalidContentLength),
    ]

    @Test("invalid Content-Length", arguments: contentLengths)
    func invalidContentLength(_ rejection: Rejection) {
        expectRejected(rejection, kind: .request)
    }

    static let transferEncodings: [Rejection] = [
        Rejection("Content-Length and Transfer-Encoding",
                  "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                  .conflictingFraming),
        Rejection("Transfer-Encoding then Content-Length",
                  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
                  .conflictingFraming),
        Rejection("gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferCoding),
        Rejection("identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", .unsupportedTransferCoding),
        Rejection("gzip, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferCoding),
        Rejection("chunked, gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .unsupportedTransferCoding),
        Rejection("chunked, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .unsupportedTransferCoding),
        Rejection("two fields", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
                  .unsupportedTransferCoding),
        Rejection("two chunked fields", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                  .unsupportedTransferCoding),
        Rejection("empty value", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", .unsupportedTransferCoding),
        Rejection("chunked with a parameter", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
                  .unsupportedTransferCoding),
        Rejection("in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .transferEncodingInHTTP10),
        Rejection("in HTTP/1.0 with Content-Length",
                  "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
                  .transferEncodingInHTTP10),
    ]

    @Test("Transfer-Encoding other than exactly chunked, or next to Content-Length", arguments: transferEncodings)
    func transferEncoding(_ rejection: Rejection) {
        expectRejected(rejection, kind: .request)
    }

    @Test("two identical Content-Length values are one length")
    func identicalContentLengths() throws {
        let message = try decodeOne("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        #expect(message.framing == .length(5))
        #expect(message.body == bytes("hello"))
    }

    static let acceptedFraming: [(String, HTTP1Decoder.Framing)] = [
        ("GET / HTTP/1.1\r\n\r\n", .none),
        ("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", .none),
        ("POST / HTTP/1.1\r\nContent-Length: 000\r\n\r\n", .none),
        ("POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n1234567", .length(7)),
        ("POST / HTTP/1.1\r\nContent-Length:  3  \r\n\r\nabc", .length(3)),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .chunked),
        ("POST / HTTP/1.1\r\nTRANSFER-ENCODING: Chunked \r\n\r\n0\r\n\r\n", .chunked),
        ("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", .length(2)),
    ]

    @Test("accepted request framing", arguments: acceptedFraming)
    func framing(_ wire: String, _ framing: HTTP1Decoder.Framing) throws {
        #expect(try decodeOne(wire).framing == framing)
    }

    @Test("the largest Content-Length with 18 digits is accepted")
    func largestContentLength() throws {
        var harness = DecodeHarness(.request)
        try harness.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n"))
        #expect(harness.decoder.framing == .length(999_999_999_999_999_999))
        #expect(harness.events == [.head])
    }
}

// MARK: - Incremental feeding

@Suite("HTTP1Decoder: incremental feeding")
struct HTTP1DecoderSplitTests {
    /// Small streams, each a message or two, that together touch every decoder state.
    static let streams: [(String, HTTP1Decoder.Kind)] = [
        ("GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", .request),
        ("\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", .request),
        ("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: abc\r\n\r\n",
         .request),
        ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz\r\nGET /3 HTTP/1.0\r\n\r\n",
         .request),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbodyHTTP/1.1 204 No Content\r\n\r\n",
         .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", .response),
    ]

    @Test("every split point yields the same messages", arguments: streams)
    func everySplitPoint(_ text: String, _ kind: HTTP1Decoder.Kind) throws {
        let wire = bytes(text)
        let whole = try decode(wire, kind: kind)
        #expect(whole.leftover.isEmpty)
        #expect(whole.open == nil)
        let expected = whole.messages.map(\.ignoringSplits)
        for cut in 1..<wire.count {
            let split = try decode(wire, kind: kind, cuts: [cut])
            #expect(split.messages.map(\.ignoringSplits) == expected, "cut at \(cut)")
            #expect(split.leftover.isEmpty, "cut at \(cut)")
        }
        let byteByByte = try decode(wire, kind: kind, cuts: Array(0..<wire.count))
        #expect(byteByByte.messages.map(\.ignoringSplits) == expected)
    }

    @Test("the messages of the sample streams are what was sent")
    func sampleStreamsDecodeToWhatWasSent() throws {
        let chunked = try decode(bytes(Self.streams[2].0))
        #expect(chunked.messages.first?.body == bytes("hello0123456789"))
        #expect(chunked.messages.first?.trailers == bytes("X-Sum: abc\r\n"))
        let pipelined = try decode(bytes(Self.streams[3].0)).messages
        #expect(pipelined.map(\.target) == ["/1", "/2", "/3"])
        #expect(pipelined.map(\.body) == [[], bytes("xyz"), []])
        let responses = try decode(bytes(Self.streams[4].0), kind: .response).messages
        #expect(responses.map(\.status) == [200, 204])
        #expect(responses.first?.body == bytes("body"))
    }

    @Test("a head whose end straddles reads is found at every position of CRLF CRLF")
    func headEndAcrossReads() throws {
        let wire = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let expected = try decode(wire).messages
        for first in (wire.count - 5)..<wire.count {
            for second in (first + 1)...wire.count {
                let split = try decode(wire, cuts: [first, second])
                #expect(split.messages == expected, "cuts at \(first), \(second)")
            }
        }
    }
}

// MARK: - Bodies

@Suite("HTTP1Decoder: bodies")
struct HTTP1DecoderBodyTests {
    @Test("a Content-Length body split across reads concatenates to the exact body")
    func contentLengthAcrossReads() throws {
        let body = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let wire = bytes("POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n") + body
        for cuts in [[], [60], [60, 61, 500, 999], Array(stride(from: 0, to: wire.count, by: 33))] {
            let harness = try decode(wire, cuts: cuts)
            let message = try #require(harness.messages.first)
            #expect(message.framing == .length(1000))
            #expect(message.body == body)
            #expect(harness.events.first == .head && harness.events.last == .end)
        }
    }

    @Test("a body slice never takes bytes of the next message")
    func bodyStopsAtLength() throws {
        var harness = DecodeHarness(.request)
        try harness.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET"))
        #expect(harness.messages.first?.body == bytes("abc"))
        #expect(harness.leftover == bytes("GET"))
    }

    @Test("Content-Length: 0 is a head and an end with no body event")
    func zeroLength() throws {
        var harness = DecodeHarness(.request)
        try harness.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"))
        #expect(harness.events == [.head, .end])
        #expect(harness.decoder.framing == .none)
    }

    static let chunkedBodies: [(String, String, String?)] = [
        ("5\r\nhello\r\n0\r\n\r\n", "hello", nil),
        ("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", nil),
        ("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", nil),
        ("1F\r\n" + String(repeating: "x", count: 31) + "\r\n1f\r\n" + String(repeating: "y", count: 31) + "\r\n0\r\n\r\n",
         String(repeating: "x", count: 31) + String(repeating: "y", count: 31), nil),
        ("000000000000005\r\nhello\r\n0\r\n\r\n", "hello", nil),
        ("5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello", nil),
        ("5;a;b=\"c d\";e=f\r\nhello\r\n0\r\n\r\n", "hello", nil),
        ("5 ;a=b\r\nhello\r\n0\t;x\r\n\r\n", "hello", nil),
        ("5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello", "X-Checksum: abc\r\n"),
        ("5\r\nhello\r\n0\r\nA: 1\r\nb:  two words \r\n\r\n", "hello", "A: 1\r\nb:  two words \r\n"),
        ("0\r\n\r\n", "", nil),
        ("0\r\nX-Only: trailer\r\n\r\n", "", "X-Only: trailer\r\n"),
    ]

    @Test("chunked bodies and trailers", arguments: chunkedBodies)
    func chunked(_ chunks: String, _ body: String, _ trailers: String?) throws {
        let wire = bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "GET /next HTTP/1.1\r\n\r\n")
        for cuts in [[], Array(0..<wire.count)] {
            var harness = DecodeHarness(.request)
            for piece in pieces(wire, cuts: cuts) {
                harness.buffer.writeBytes(piece)
                // Stop after the first message so the next one can be checked as untouched.
                while harness.messages.isEmpty, try harness.step() != nil {}
            }
            let message = try #require(harness.messages.first)
            #expect(message.framing == .chunked)
            #expect(message.body == bytes(body))
            #expect(message.trailers == trailers.map(bytes))
            #expect(harness.leftover == bytes("GET /next HTTP/1.1\r\n\r\n"))
            if body.isEmpty { #expect(harness.events == [.head, .end]) }
        }
    }

    static let malformedChunks: [Rejection] = [
        Rejection("no digits", "\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("extension without a size", ";ext\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("not hexadecimal", "g\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("junk after the size", "5x\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        // RFC 9112 §7.1.1: whitespace after the size may only lead to a chunk extension.
        Rejection("junk after whitespace", "5 x\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("whitespace before the size", " 5\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("sign", "+5\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("16 hex digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("17 hex digits", "10000000000000000\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("bare LF after the size", "5\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("bare LF in an extension", "5;a\nb\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("control character in an extension", "5;a\u{1}\r\nhello\r\n0\r\n\r\n", .malformedChunk),
        Rejection("data longer than the size", "5\r\nhello!\r\n0\r\n\r\n", .malformedChunk),
        Rejection("bare LF after the data", "5\r\nhello\n0\r\n\r\n", .malformedChunk),
        Rejection("no line ending after the data", "5\r\nhello0\r\n\r\n", .malformedChunk),
        Rejection("size line longer than 1 KiB", "5;" + String(repeating: "e", count: 1100), .malformedChunk),
        Rejection("malformed trailer", "0\r\nbad trailer\r\n\r\n", .malformedField),
        Rejection("trailer without a name", "0\r\n: x\r\n\r\n", .malformedField),
        Rejection("folded trailer", "0\r\nA: 1\r\n 2\r\n\r\n", .malformedField),
        Rejection("bare LF in trailers", "0\r\nA: 1\nB: 2\r\n\r\n", .malformedField),
    ]

    @Test("malformed chunk framing", arguments: malformedChunks)
    func malformedChunk(_ rejection: Rejection) {
        let wire = bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") + rejection.bytes
        expectRejected(Rejection(rejection.name, bytes: wire, rejection.error), kind: .request)
    }

    @Test("trailers larger than maxHeadSize are refused")
    func trailersTooLarge() {
        let wire = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Pad: " + String(repeating: "p", count: 300)
        expectRejected(Rejection("no end", wire, .headTooLarge), kind: .request, maxHeadSize: 128)
        expectRejected(Rejection("end past the limit", wire + "\r\n\r\n", .headTooLarge), kind: .request, maxHeadSize: 128)
    }

    @Test("pipelined messages come one after another; the next message's bytes wait untouched")
    func pipelining() throws {
        let first = bytes("POST /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        let second = bytes("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        let third = bytes("POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        var harness = DecodeHarness(.request)
        harness.buffer.writeBytes(first + second + third)
        #expect(try harness.step() == .head)
        #expect(try harness.step() == .body)
        #expect(harness.leftover == second + third)
        #expect(try harness.step() == .end)
        #expect(harness.leftover == second + third)
        #expect(try harness.step() == .head)
        #expect(harness.leftover == third)
        #expect(try harness.step() == .end)
        #expect(harness.leftover == third)
        while try harness.step() != nil {}
        #expect(harness.messages.map(\.target) == ["/1", "/2", "/3"])
        #expect(harness.messages.map(\.body) == [bytes("hello"), [], bytes("abc")])
        #expect(harness.leftover.isEmpty)
        #expect(harness.decoder.isBetweenMessages)
    }
}

// MARK: - Responses

@Suite("HTTP1Decoder: responses")
struct HTTP1DecoderResponseTests {
    static let statusLines: [(String, Int, Int)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, 1),
        ("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, 0),
        ("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", 500, 1),
        ("HTTP/1.1 302\r\nContent-Length: 0\r\n\r\n", 302, 1),
        ("HTTP/1.1 418 I'm a teapot\t(really)\r\nContent-Length: 0\r\n\r\n", 418, 1),
        ("HTTP/1.1 599 Last\r\nContent-Length: 0\r\n\r\n", 599, 1),
        // RFC 9110 §2.5: a higher minor version of HTTP/1 is handled as HTTP/1.1.
        ("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", 200, 1),
    ]

    @Test("status lines with and without a reason phrase", arguments: statusLines)
    func statusLine(_ wire: String, _ status: Int, _ minor: Int) throws {
        let message = try decodeOne(wire, kind: .response)
        #expect(message.status == status)
        #expect(message.minorVersion == minor)
        #expect(message.method.isEmpty && message.target.isEmpty)
        #expect(message.fields == [DecodedField("Content-Length", "0")])
    }

    @Test("obs-text in a reason phrase is accepted")
    func obsTextReason() throws {
        let wire = bytes("HTTP/1.1 200 D") + [0xE9, 0x6A, 0xE0] + bytes(" vu\r\nContent-Length: 0\r\n\r\n")
        #expect(try decode(wire, kind: .response).messages.first?.status == 200)
    }

    static let malformedStatusLines: [Rejection] = [
        Rejection("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", .malformedStartLine),
        Rejection("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", .malformedStartLine),
        Rejection("letters as status", "HTTP/1.1 abc OK\r\n\r\n", .malformedStartLine),
        Rejection("two spaces", "HTTP/1.1  200 OK\r\n\r\n", .malformedStartLine),
        Rejection("tab separator", "HTTP/1.1\t200 OK\r\n\r\n", .malformedStartLine),
        Rejection("lower-case version", "http/1.1 200 OK\r\n\r\n", .malformedStartLine),
        Rejection("HTTP/2 without a minor", "HTTP/2 200 OK\r\n\r\n", .malformedStartLine),
        Rejection("no status", "HTTP/1.1\r\n\r\n", .malformedStartLine),
        Rejection("NUL in the reason", "HTTP/1.1 200 O\u{0}K\r\n\r\n", .malformedStartLine),
        Rejection("bare LF ending the status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", .malformedStartLine),
        // RFC 9110 §15: status codes are 100 to 599; below 100 there is no way to frame the body.
        Rejection("status below 100", "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nhi", .malformedStartLine),
        Rejection("status 000", "HTTP/1.1 000 Zero\r\n\r\n", .malformedStartLine),
        Rejection("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion),
        Rejection("HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n", .unsupportedVersion),
        Rejection("field with a space before the colon", "HTTP/1.1 200 OK\r\nServer : x\r\n\r\n", .malformedField),
        Rejection("Content-Length and Transfer-Encoding",
                  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .conflictingFraming),
        Rejection("invalid Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", .invalidContentLength),
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
        Rejection("Transfer-Encoding in HTTP/1.0",
                  "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", .transferEncodingInHTTP10),
    ]

    @Test("malformed responses", arguments: malformedStatusLines)
    func malformedResponse(_ rejection: Rejection) {
        expectRejected(rejection, kind: .response)
    }

    @Test("interim 100 and 103 responses are skipped")
    func interimSkipped() throws {
        let wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        let harness = try decode(bytes(wire), kind: .response)
        #expect(harness.events == [.head, .body, .end])
        #expect(harness.messages.map(\.status) == [200])
        #expect(harness.messages.first?.body == bytes("hi"))
    }

    @Test("101 Switching Protocols is returned and the bytes after it stay in the buffer")
    func switchingProtocols() throws {
        let frame: [UInt8] = [0x81, 0x05] + bytes("hello")
        var harness = DecodeHarness(.response)
        harness.buffer.writeBytes(bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") + frame)
        #expect(try harness.step() == .head)
        #expect(harness.decoder.framing == .none)
        #expect(try harness.step() == .end)
        #expect(harness.messages.first?.status == 101)
        #expect(harness.leftover == frame)
    }

    static let noBody: [(String, Int)] = [
        ("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 204),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 304),
        ("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 304),
        ("HTTP/1.1 204 No Content\r\n\r\n", 204),
    ]

    @Test("204 and 304 have no body whatever their fields say", arguments: noBody)
    func noBodyStatus(_ wire: String, _ status: Int) throws {
        let next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let harness = try decode(bytes(wire + next), kind: .response)
        #expect(harness.messages.map(\.status) == [status, 200])
        #expect(harness.messages.map(\.framing) == [.none, .length(2)])
        #expect(harness.messages.map(\.body) == [[], bytes("ok")])
    }

    @Test("a response to HEAD has no body even with Content-Length or chunked; the next one does")
    func responseToHEAD() throws {
        for framingField in ["Content-Length: 10", "Transfer-Encoding: chunked", "X-None: 1"] {
            var harness = DecodeHarness(.response)
            harness.decoder.expectResponse(toHEAD: true)
            try harness.feed(bytes("HTTP/1.1 200 OK\r\n\(framingField)\r\n\r\n"))
            #expect(harness.events == [.head, .end], "\(framingField)")
            #expect(harness.messages.first?.framing == HTTP1Decoder.Framing.none)
            // The flag covers one response only.
            try harness.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
            #expect(harness.messages.count == 2)
            #expect(harness.messages.last?.body == bytes("abc"))
        }
    }

    @Test("an interim response before the response to HEAD does not use up the HEAD flag")
    func interimBeforeHEADResponse() throws {
        var harness = DecodeHarness(.response)
        harness.decoder.expectResponse(toHEAD: true)
        try harness.feed(bytes("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"))
        try harness.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"))
        #expect(harness.events == [.head, .end])
        #expect(harness.messages.first?.status == 200)
        #expect(harness.messages.first?.framing == HTTP1Decoder.Framing.none)
        #expect(harness.decoder.isBetweenMessages)
    }

    static let responseFraming: [(String, HTTP1Decoder.Framing)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", .length(5)),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .none),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .chunked),
        ("HTTP/1.1 200 OK\r\n\r\n", .untilClose),
        ("HTTP/1.0 200 OK\r\n\r\n", .untilClose),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", .untilClose),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .untilClose),
        // RFC 9112 §6.3: chunked as the final coding frames the body, whatever codings precede it.
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,chunked\r\n\r\n", .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n", .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", .untilClose),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked,\r\n\r\n", .chunked),
    ]

    @Test("response framing", arguments: responseFraming)
    func framing(_ wire: String, _ framing: HTTP1Decoder.Framing) throws {
        var harness = DecodeHarness(.response)
        try harness.feed(bytes(wire))
        #expect(harness.events.first == .head)
        #expect(harness.decoder.framing == framing)
    }

    @Test("a chunked response with other codings decodes its chunks and frees the connection")
    func codedChunkedResponse() throws {
        let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\n\u{1}\u{2}\u{3}\u{4}\r\n0\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n"
        let harness = try decode(bytes(wire), kind: .response)
        #expect(harness.messages.map(\.status) == [200, 204])
        #expect(harness.messages.first?.body == [1, 2, 3, 4])
    }

    @Test("a chunked response with trailers")
    func chunkedResponse() throws {
        let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n"
        let message = try decodeOne(wire, kind: .response)
        #expect(message.body == bytes("abc"))
        #expect(message.trailers == bytes("Server-Timing: db;dur=53\r\n"))
    }

    @Test("a close-delimited body ends when the input closes")
    func untilClose() throws {
        var harness = DecodeHarness(.response)
        try harness.feed(bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"))
        #expect(harness.decoder.framing == .untilClose)
        #expect(harness.events == [.head, .body])
        try harness.feed(bytes(" world"))
        try harness.feed(bytes("\r\n\r\nHTTP/1.1 200 OK\r\n"))
        #expect(harness.messages.isEmpty)
        try harness.close()
        #expect(harness.events.last == .end)
        #expect(harness.messages.first?.body == bytes("hello world\r\n\r\nHTTP/1.1 200 OK\r\n"))
        #expect(harness.messages.first?.trailers == nil)
    }

    @Test("a close-delimited response with no body bytes still ends on close")
    func untilCloseEmpty() throws {
        var harness = DecodeHarness(.response)
        try harness.feed(bytes("HTTP/1.0 200 OK\r\n\r\n"))
        try harness.close()
        #expect(harness.events == [.head, .end])
    }

    static let cutShort: [(String, HTTP1Decoder.Kind)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", .response),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", .response),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: 1\r\n", .response),
        ("HTTP/1.1 200 OK\r\nContent-Le", .response),
        ("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", .request),
        ("GET / HTTP/1.1\r\nHost:", .request),
    ]

    @Test("the input closing mid-message is unexpectedEnd", arguments: cutShort)
    func closedMidMessage(_ wire: String, _ kind: HTTP1Decoder.Kind) {
        #expect(throws: HTTP1Error.unexpectedEnd) { try decode(bytes(wire), kind: kind, close: true) }
    }

    @Test("the input closing between messages is a clean end")
    func closedBetweenMessages() throws {
        var harness = DecodeHarness(.response)
        try harness.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        try harness.close()
        #expect(harness.events == [.head, .body, .end])
        var request = DecodeHarness(.request)
        try request.close()
        #expect(request.events.isEmpty)
    }

    @Test("the input closing right after a bodiless head still delivers the end")
    func closedWithEndPending() throws {
        var harness = DecodeHarness(.response)
        harness.buffer.writeBytes(bytes("HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(try harness.step() == .head)
        try harness.close()
        #expect(harness.events == [.head, .end])
    }
}

// MARK: - Property: random messages, random splits

/// Random, valid messages with their expected decoding.
struct MessageGenerator {
    var random: SeededGenerator

    static let tokenCharacters = Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    static let targetCharacters = Array("abcXYZ019-._~%/?=&:@!$'()*+,;".utf8)
    /// Value bytes that may start or end a value: VCHAR and obs-text.
    static let valueCharacters: [UInt8] = Array(0x21...0x7E) + Array(0x80...0xFF)

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func token(_ length: ClosedRange<Int>) -> [UInt8] {
        (0..<int(length)).map { _ in pick(Self.tokenCharacters) }
    }

    mutating func whitespace() -> [UInt8] {
        (0..<int(0...2)).map { _ in chance(50) ? 0x20 : 0x09 }
    }

    mutating func value() -> [UInt8] {
        let length = int(0...30)
        return (0..<length).map { index in
            if index > 0 && index < length - 1 && chance(10) { return chance(50) ? 0x20 : 0x09 }
            return pick(Self.valueCharacters)
        }
    }

    /// A field whose name is not a framing name; the wire form pads the value with whitespace.
    mutating func field() -> (wire: [UInt8], decoded: DecodedField) {
        var name = token(1...16)
        while ["content-length", "transfer-encoding"].contains(String(decoding: name, as: UTF8.self).lowercased()) {
            name = token(1...16)
        }
        let value = value()
        return (name + [0x3A] + whitespace() + value + whitespace() + bytes("\r\n"), DecodedField(name: name, value: value))
    }

    mutating func lowerOrUpper(_ text: String) -> [UInt8] {
        Array(text.utf8).map { byte in chance(50) ? byte : Array(String(UnicodeScalar(byte)).uppercased().utf8)[0] }
    }

    mutating func hex(_ value: Int) -> [UInt8] {
        let digits = String(value, radix: 16)
        return Array((chance(50) ? digits : digits.uppercased()).utf8)
    }

    /// A chunked body of `body`, with random chunk sizes, extensions and trailers.
    mutating func chunked(_ body: [UInt8]) -> (wire: [UInt8], trailers: [UInt8]?) {
        var wire: [UInt8] = []
        var rest = body[...]
        while !rest.isEmpty {
            let size = min(rest.count, int(1...80))
            wire += hex(size)
            if chance(25) { wire += bytes(";ext") + (chance(50) ? bytes("=\"a b\"") : []) }
            wire += bytes("\r\n") + rest.prefix(size) + bytes("\r\n")
            rest = rest.dropFirst(size)
        }
        wire += bytes(chance(20) ? "0;last\r\n" : "0\r\n")
        var trailers: [UInt8] = []
        for _ in 0..<(chance(30) ? int(1...3) : 0) {
            let field = field()
            trailers += field.wire
        }
        wire += trailers + bytes("\r\n")
        return (wire, trailers.isEmpty ? nil : trailers)
    }

    /// The framing field, the body bytes on the wire and the expected decoding of a body.
    mutating func body(chunkedAllowed: Bool) -> (field: [UInt8]?, wire: [UInt8], framing: HTTP1Decoder.Framing,
                                                  body: [UInt8], trailers: [UInt8]?) {
        switch int(0...(chunkedAllowed ? 3 : 2)) {
        case 0:
            return (nil, [], .none, [], nil)
        case 1:
            return (lowerOrUpper("content-length") + bytes(": 0\r\n"), [], .none, [], nil)
        case 2:
            let body = (0..<int(1...300)).map { _ in UInt8.random(in: 0...255, using: &random) }
            return (lowerOrUpper("content-length") + bytes(": \(body.count)\r\n"), body, .length(Int64(body.count)), body, nil)
        default:
            let body = (0..<int(0...300)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let coded = chunked(body)
            return (lowerOrUpper("transfer-encoding") + bytes(": ") + lowerOrUpper("chunked") + bytes("\r\n"),
                    coded.wire, .chunked, body, coded.trailers)
        }
    }

    /// The fields with the framing field put at a random place among them.
    mutating func head(startLine: [UInt8], framingField: [UInt8]?) -> (wire: [UInt8], fields: [DecodedField]) {
        var lines: [(wire: [UInt8], decoded: DecodedField)] = (0..<int(0...10)).map { _ in field() }
        if let framingField {
            let colon = framingField.firstIndex(of: 0x3A)!
            let value = framingField[(colon + 1)...].drop { $0 == 0x20 }.dropLast(2)
            lines.insert((framingField, DecodedField(name: Array(framingField[..<colon]), value: Array(value))),
                         at: int(0...lines.count))
        }
        return (startLine + lines.flatMap(\.wire) + bytes("\r\n"), lines.map(\.decoded))
    }

    mutating func request() -> (wire: [UInt8], expected: DecodedMessage) {
        var expected = DecodedMessage()
        expected.method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "X-CUSTOM"])
        expected.target = "/" + String(decoding: (0..<int(0...20)).map { _ in pick(Self.targetCharacters) }, as: UTF8.self)
        expected.minorVersion = int(0...1)
        let body = body(chunkedAllowed: expected.minorVersion == 1)
        let startLine = bytes("\(expected.method) \(expected.target) HTTP/1.\(expected.minorVersion)\r\n")
        let head = head(startLine: startLine, framingField: body.field)
        expected.fields = head.fields
        expected.headBytes = head.wire
        expected.framing = body.framing
        expected.body = body.body
        expected.trailers = body.trailers
        let emptyLines = chance(10) ? bytes("\r\n") : []
        return (emptyLines + head.wire + body.wire, expected)
    }

    mutating func response() -> (wire: [UInt8], expected: DecodedMessage) {
        var expected = DecodedMessage()
        expected.status = pick([200, 201, 202, 301, 302, 400, 404, 500, 503])
        expected.minorVersion = 1
        let interim = chance(20) ? bytes("HTTP/1.1 \(pick([100, 102, 103])) Interim\r\nLink: </x>\r\n\r\n") : []
        var body = body(chunkedAllowed: true)
        if body.field == nil {  // no length: the response would run until the close
            body = (bytes("Content-Length: 0\r\n"), [], .none, [], nil)
        }
        let reason = chance(50) ? " Reason Phrase" : (chance(50) ? " " : "")
        let head = head(startLine: bytes("HTTP/1.1 \(expected.status)\(reason)\r\n"), framingField: body.field)
        expected.fields = head.fields
        expected.headBytes = head.wire
        expected.framing = body.framing
        expected.body = body.body
        expected.trailers = body.trailers
        return (interim + head.wire + body.wire, expected)
    }
}

@Suite("HTTP1Decoder: random messages")
struct HTTP1DecoderPropertyTests {
    @Test("random pipelined messages decode to what was sent, however they are split", arguments: [HTTP1Decoder.Kind.request, .response])
    func randomMessages(_ kind: HTTP1Decoder.Kind) throws {
        var generator = MessageGenerator(random: SeededGenerator(seed: kind == .request ? 0x5EED_0001 : 0x5EED_0002))
        for round in 0..<250 {
            var wire: [UInt8] = []
            var expected: [DecodedMessage] = []
            for _ in 0..<generator.int(1...4) {
                let message = kind == .request ? generator.request() : generator.response()
                wire += message.wire
                expected.append(message.expected)
            }
            let whole = try decode(wire, kind: kind)
            let wholeMatches = whole.messages.map(\.ignoringSplits) == expected
            #expect(wholeMatches, "round \(round): \(whole.messages) != \(expected)")
            #expect(whole.leftover.isEmpty && whole.open == nil, "round \(round)")
            #expect(whole.decoder.isBetweenMessages, "round \(round)")

            let cuts = (0..<generator.int(1...8)).map { _ in generator.int(0...wire.count) }.sorted()
            let split = try decode(wire, kind: kind, cuts: cuts)
            let splitMatches = split.messages.map(\.ignoringSplits) == expected && split.leftover.isEmpty
            #expect(splitMatches, "round \(round), cuts \(cuts)")

            var byteMatches = true
            if round % 25 == 0 {
                let byteByByte = try decode(wire, kind: kind, cuts: Array(0..<wire.count))
                byteMatches = byteByByte.messages.map(\.ignoringSplits) == expected
                #expect(byteMatches, "round \(round), byte by byte")
            }
            // One failing round tells the story; a few hundred more would bury it.
            guard wholeMatches && splitMatches && byteMatches else { break }
        }
    }
}

import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// Feeds `pieces` to a new parser in turn: the events they complete and whether `finish()`
/// found an event pending.
func parseServerSentEvents(_ pieces: [[UInt8]]) throws(AIError) -> (events: [ServerSentEvent], pending: Bool) {
    var parser = ServerSentEventParser()
    var events: [ServerSentEvent] = []
    for piece in pieces {
        events += try parser.parse(ByteBuffer(bytes: piece))
    }
    return (events, parser.finish())
}

func parseServerSentEvents(_ text: String) throws(AIError) -> (events: [ServerSentEvent], pending: Bool) {
    try parseServerSentEvents([Array(text.utf8)])
}

/// `bytes` one byte per piece.
func oneByteAtATime(_ bytes: [UInt8]) -> [[UInt8]] { bytes.map { [$0] } }

// MARK: - Parser

@Suite struct ServerSentEventParserTests {
    /// A stream with named events, a comment, multi-line data, every line ending, a field without
    /// its space and multi-byte characters.
    static let stream = "event: message_start\ndata: {\"a\":1}\n\n"
        + ": ping\n\n"
        + "data: line one\ndata: line two\n\n"
        + "event: done\r\ndata: x\r\n\r\n"
        + "data:no-space\rdata:  two spaces\r\r"
        + "id: 7\nretry: 1000\ndata: é😀\n\n"
        + "data: [DONE]\n\n"

    static let expected = [
        ServerSentEvent(name: "message_start", data: #"{"a":1}"#),
        ServerSentEvent(data: "line one\nline two"),
        ServerSentEvent(name: "done", data: "x"),
        ServerSentEvent(data: "no-space\n two spaces"),
        ServerSentEvent(data: "é😀"),
        ServerSentEvent(data: "[DONE]"),
    ]

    @Test func aWholeStreamGivesItsEvents() throws {
        let result = try parseServerSentEvents(Self.stream)
        #expect(result.events == Self.expected)
        #expect(!result.pending)
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        let result = try parseServerSentEvents(oneByteAtATime(Array(Self.stream.utf8)))
        #expect(result.events == Self.expected)
        #expect(!result.pending)
    }

    @Test func twoPiecesCutAnywhereGiveTheSameEvents() throws {
        let bytes = Array(Self.stream.utf8)
        for cut in 0...bytes.count {
            let result = try parseServerSentEvents([Array(bytes[..<cut]), Array(bytes[cut...])])
            #expect(result.events == Self.expected, "cut at byte \(cut)")
            #expect(!result.pending, "cut at byte \(cut)")
        }
    }

    @Test func eventsArriveAsSoonAsTheirBlankLineDoes() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.parse(ByteBuffer(string: "data: a\n")) == [])
        #expect(try parser.parse(ByteBuffer(string: "\ndata: b")) == [ServerSentEvent(data: "a")])
        #expect(try parser.parse(ByteBuffer(string: "\n\n")) == [ServerSentEvent(data: "b")])
    }

    @Test(arguments: [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")])
    func everyLineEndingIsRead(name: String, end: String) throws {
        let text = ["event: delta", "data: {\"x\":1}", "", ": keep-alive", "", "data: a", "data: b", "", ""]
            .joined(separator: end)
        let expected = [ServerSentEvent(name: "delta", data: #"{"x":1}"#), ServerSentEvent(data: "a\nb")]
        #expect(try parseServerSentEvents(text).events == expected)
        #expect(try parseServerSentEvents(oneByteAtATime(Array(text.utf8))).events == expected)
    }

    @Test func aCRAtTheEndOfAPieceThenLFIsOneLineEnd() throws {
        // Were the LF read as a second line end, "a" would be sent alone.
        let result = try parseServerSentEvents([Array("data: a\r".utf8), Array("\ndata: b\r".utf8), Array("\n\r\n".utf8)])
        #expect(result.events == [ServerSentEvent(data: "a\nb")])
    }

    @Test(arguments: [
        ": ping\n\n",
        ":\n\n",
        ": ping\n: pong\n\n\n\n",
        ":data: not data\n\n",
    ])
    func commentsGiveNoEvents(text: String) throws {
        let result = try parseServerSentEvents(text)
        #expect(result.events == [])
        #expect(!result.pending)
    }

    @Test func aCommentInsideAnEventDoesNotEndIt() throws {
        let result = try parseServerSentEvents("data: a\n: keep-alive\ndata: b\n\n")
        #expect(result.events == [ServerSentEvent(data: "a\nb")])
    }

    @Test(arguments: [
        ("data\n\n", ""),
        ("data:\n\n", ""),
        ("data: \n\n", ""),
        ("data\ndata\n\n", "\n"),
        ("data:  x\n\n", " x"),
        ("data: a:b: c\n\n", "a:b: c"),
        ("data: a\n\ndata: b\n\n", "a"),
    ])
    func dataFieldsAreReadAsTheStandardSays(text: String, firstData: String) throws {
        #expect(try parseServerSentEvents(text).events.first?.data == firstData)
    }

    @Test func unknownFieldsAreIgnored() throws {
        let result = try parseServerSentEvents("id: 5\nretry: 1000\nfoo: bar\ndata: x\n\n")
        #expect(result.events == [ServerSentEvent(data: "x")])
    }

    @Test func eventNamesDoNotCarryOverToTheNextEvent() throws {
        let result = try parseServerSentEvents("event: content_block_delta\ndata: 1\n\ndata: 2\n\n")
        #expect(result.events == [ServerSentEvent(name: "content_block_delta", data: "1"), ServerSentEvent(data: "2")])
    }

    /// The standard drops an event with no data lines, however it is named.
    @Test func aNamedEventWithoutDataIsNotSent() throws {
        let result = try parseServerSentEvents("event: keep-alive\n\ndata: x\n\n")
        #expect(result.events == [ServerSentEvent(data: "x")])
    }

    // MARK: finish()

    @Test(arguments: [
        ("data: partial", true),
        ("data: a\n", true),
        ("data: a\r", true),
        ("data: a\ndata: b\n", true),
        ("data: a\n\n", false),
        ("", false),
        (": ping\n", false),
        (": ping\n\n", false),
    ])
    func finishReportsAPendingEvent(text: String, pending: Bool) throws {
        let result = try parseServerSentEvents(text)
        #expect(result.pending == pending)
    }

    @Test func finishDropsThePendingEventAndStartsAfresh() throws {
        var parser = ServerSentEventParser()
        _ = try parser.parse(ByteBuffer(string: "event: cut\ndata: half"))
        let pending = parser.finish()
        #expect(pending)
        #expect(try parser.parse(ByteBuffer(string: "\n\ndata: new\n\n")) == [ServerSentEvent(data: "new")])
        let pendingAfter = parser.finish()
        #expect(!pendingAfter)
    }

    // MARK: Size limit

    /// A provider that never sends a blank line is cut off: its data lines add up to the limit.
    @Test func anEventLargerThanTheLimitIsRefused() {
        var line = ByteBuffer(string: "data: ")
        line.writeRepeatingByte(UInt8(ascii: "b"), count: 1 << 20)
        line.writeString("\n")
        var parser = ServerSentEventParser()
        let lines = ServerSentEventParser.maximumEventBytes / (1 << 20) + 1
        let error = #expect(throws: AIError.self) {
            for _ in 0..<lines { _ = try parser.parse(line) }
        }
        #expect(error?.kind == .server)
        #expect(error?.message.contains("larger than") == true)
    }

    /// The limit is per event: a long answer made of many events is not cut.
    @Test func aLongStreamOfSmallEventsIsNotLimited() throws {
        var event = ByteBuffer(string: "data: ")
        event.writeRepeatingByte(UInt8(ascii: "c"), count: 1 << 20)
        event.writeString("\n\n")
        var parser = ServerSentEventParser()
        let events = ServerSentEventParser.maximumEventBytes / (1 << 20) + 1
        var count = 0
        for _ in 0..<events { count += try parser.parse(event).count }
        #expect(count == events)
    }
}

// MARK: - Writer

@Suite struct ServerSentEventWriterTests {
    @Test func eventsAreWrittenAsTheStandardSays() {
        var out = ByteBuffer()
        out.writeServerSentEvent(data: ByteBuffer(string: "[DONE]"))
        out.writeServerSentEvent(name: "message_stop", json: ["type": "message_stop"])
        out.writeServerSentEvent(json: ["a": 1, "b": "x\ny"])
        #expect(String(buffer: out) == "data: [DONE]\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
            + "data: {\"a\":1,\"b\":\"x\\ny\"}\n\n")
    }

    @Test func writtenEventsReadBack() throws {
        let values: [(String?, JSON)] = [
            ("message_start", ["message": ["id": "msg_1", "content": []]]),
            (nil, ["text": "two\nlines and \"quotes\""]),
            ("ping", ["type": "ping"]),
        ]
        var out = ByteBuffer()
        for (name, value) in values { out.writeServerSentEvent(name: name, json: value) }
        let events = try parseServerSentEvents(oneByteAtATime(Array(out.readableBytesView))).events
        #expect(events.map(\.name) == values.map { $0.0 })
        #expect(try events.map { try JSON.parse($0.data) } == values.map { $0.1 })
    }
}

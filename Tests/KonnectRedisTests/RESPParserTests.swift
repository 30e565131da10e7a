import NIOCore
import Testing

@testable import KonnectRedis

@Suite("RESP parser")
struct RESPParserTests {
    /// Parses every value in `bytes`, fed in the given chunks; fails if bytes are left over.
    static func parseAll(_ chunks: [[UInt8]], limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let value = try parser.next(from: &buffer) {
                values.append(value)
            }
        }
        #expect(buffer.readableBytes == 0, "bytes left over")
        return values
    }

    static func parseAll(_ text: String, limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        try parseAll([Array(text.utf8)], limits: limits)
    }

    static func bulk(_ text: String) -> RESPValue { .bulkString(text) }

    @Test("each type", arguments: [
        ("+OK\r\n", RESPValue.simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":1000\r\n", .integer(1000)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n", .array([.integer(1), bulk("foo"), .simpleString("bar")])),
        ("*2\r\n*2\r\n:1\r\n:2\r\n*0\r\n", .array([.array([.integer(1), .integer(2)]), .array([])])),
        ("*3\r\n$-1\r\n*-1\r\n-ERR x\r\n", .array([.null, .array(nil), .error("ERR x")])),
    ])
    func eachType(input: String, expected: RESPValue) throws {
        #expect(try Self.parseAll(input) == [expected])
    }

    @Test func binaryBulkString() throws {
        let payload: [UInt8] = [0, 255, 13, 10, 13, 10, 7]
        let values = try Self.parseAll([Array("$7\r\n".utf8) + payload + Array("\r\n".utf8)])
        #expect(values == [.bulkString(ByteBuffer(bytes: payload))])
    }

    /// Several replies of every kind back to back, as a pipeline's answers arrive.
    static let stream = "+OK\r\n-ERR bad\r\n:123\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*0\r\n"
        + "*3\r\n*2\r\n$1\r\na\r\n:-7\r\n$0\r\n\r\n*1\r\n*1\r\n+deep\r\n+tail\r\n"
    static let streamValues: [RESPValue] = [
        .simpleString("OK"), .error("ERR bad"), .integer(123), bulk("hello"), .null, .array(nil), .array([]),
        .array([.array([bulk("a"), .integer(-7)]), bulk(""), .array([.array([.simpleString("deep")])])]),
        .simpleString("tail"),
    ]

    @Test func manyValuesInOneBuffer() throws {
        #expect(try Self.parseAll(Self.stream) == Self.streamValues)
    }

    @Test func splitAtEveryByteOffset() throws {
        let bytes = Array(Self.stream.utf8)
        for split in 0...bytes.count {
            let values = try Self.parseAll([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(values == Self.streamValues, "split at \(split)")
        }
    }

    @Test func splitAtEveryPairOfOffsets() throws {
        let bytes = Array("*2\r\n$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n".utf8)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let chunks = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                let values = try Self.parseAll(chunks)
                #expect(values == [.array([Self.bulk("hello"), .array([.integer(1), .null])])], "split at \(first), \(second)")
            }
        }
    }

    @Test func oneByteAtATime() throws {
        let chunks = Array(Self.stream.utf8).map { [$0] }
        #expect(try Self.parseAll(chunks) == Self.streamValues)
    }

    @Test func incompleteInputWaits() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "*2\r\n:1\r\n$5\r\nhel")
        #expect(try parser.next(from: &buffer) == nil)
        buffer.writeString("lo\r")
        #expect(try parser.next(from: &buffer) == nil)
        buffer.writeString("\n")
        #expect(try parser.next(from: &buffer) == .array([.integer(1), Self.bulk("hello")]))
    }

    @Test("malformed input is a protocol error", arguments: [
        "?what\r\n",              // unknown type byte
        "hello\r\n",              // inline text
        "_\r\n",                  // RESP3 null
        ",1.5\r\n",               // RESP3 double
        ":\r\n",                  // empty integer
        ":12a\r\n",               // not a number
        ":+5\r\n",                // sign other than minus
        ":99999999999999999999\r\n", // overflows Int64
        ":9223372036854775808\r\n",  // Int.max + 1
        ":--1\r\n",
        "$-2\r\n",                // negative length other than -1
        "$abc\r\n",
        "$3\r\nabcd\r\n",         // body longer than its length
        "$3\r\nab\r\n\r\n",       // body shorter: CRLF not where expected
        "*-5\r\n",
        "*x\r\n",
        "+OK\n",                  // LF without CR
        "+O\rK\r\n",              // CR inside a line
        "*2\r\n:1\r\n?\r\n",      // bad element inside an array
    ])
    func malformed(input: String) {
        #expect(throws: RedisError.self) { try Self.parseAll(input) }
    }

    @Test func malformedSplitInputIsStillAnError() {
        let bytes = Array("$3\r\nabcX\r\n".utf8)
        #expect(throws: RedisError.self) { try Self.parseAll(bytes.map { [$0] }) }
    }

    @Test func bulkLengthLimit() throws {
        // The default limit, 512 MiB, is accepted as a header; one byte more is refused at once.
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "$\(512 * 1024 * 1024)\r\n")
        #expect(try parser.next(from: &buffer) == nil)
        #expect(throws: RedisError.self) { try Self.parseAll("$\(512 * 1024 * 1024 + 1)\r\n") }

        let small = RESPParser.Limits(maxBulkLength: 4)
        #expect(try Self.parseAll("$4\r\nabcd\r\n", limits: small) == [Self.bulk("abcd")])
        #expect(throws: RedisError.self) { try Self.parseAll("$5\r\nabcde\r\n", limits: small) }
    }

    @Test func depthLimit() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "*1\r\n", count: depth) + ":1\r\n"
        }
        var expected = RESPValue.integer(1)
        for _ in 0..<32 { expected = .array([expected]) }
        #expect(try Self.parseAll(nested(32)) == [expected])
        #expect(throws: RedisError.self) { try Self.parseAll(nested(33)) }
        #expect(throws: RedisError.self) { try Self.parseAll(String(repeating: "*1\r\n", count: 32) + "*0\r\n") }
    }

    @Test func arrayLengthLimit() throws {
        #expect(throws: RedisError.self) { try Self.parseAll("*\(Int.max)\r\n") }
        #expect(throws: RedisError.self) { try Self.parseAll("*\(16 * 1024 * 1024 + 1)\r\n") }
        let small = RESPParser.Limits(maxArrayLength: 2)
        #expect(try Self.parseAll("*2\r\n:1\r\n:2\r\n", limits: small) == [.array([.integer(1), .integer(2)])])
        #expect(throws: RedisError.self) { try Self.parseAll("*3\r\n", limits: small) }
    }

    @Test func lineLengthLimit() throws {
        let small = RESPParser.Limits(maxLineLength: 8)
        #expect(try Self.parseAll("+12345678\r\n", limits: small) == [.simpleString("12345678")])
        #expect(throws: RedisError.self) { try Self.parseAll("+123456789\r\n", limits: small) }
        // An endless line is refused once it passes the limit, without waiting for its end.
        #expect(throws: RedisError.self) { try Self.parseAll("+" + String(repeating: "x", count: 20), limits: small) }
    }

    @Test func largeArrayFedInChunks() throws {
        var text = "*10000\r\n"
        for index in 0..<10_000 { text += ":\(index)\r\n" }
        let bytes = Array(text.utf8)
        let chunks = stride(from: 0, to: bytes.count, by: 1000).map { Array(bytes[$0..<min($0 + 1000, bytes.count)]) }
        let values = try Self.parseAll(chunks)
        #expect(values == [.array((0..<10_000).map { .integer($0) })])
    }
}

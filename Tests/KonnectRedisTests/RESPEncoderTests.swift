import NIOCore
import Testing

@testable import KonnectRedis

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test func commandAsArrayOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(["SET", "key", "value"], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
    }

    @Test func lengthsCountUTF8BytesAndEmptyArguments() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(["ECHO", "héllo", ""], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$4\r\nECHO\r\n$6\r\nhéllo\r\n$0\r\n\r\n")
    }

    @Test func encodedCommandParsesBackAsArray() throws {
        var buffer = ByteBuffer()
        let command = ["EVAL", "return {KEYS[1], ARGV[1]}\r\n", "1", "k", "v"]
        RESPEncoder.encode(command, into: &buffer)
        var parser = RESPParser()
        let value = try parser.next(from: &buffer)
        #expect(value == .array(command.map { RESPValue.bulkString($0) }))
    }
}

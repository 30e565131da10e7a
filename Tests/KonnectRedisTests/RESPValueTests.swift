import NIOCore
import Testing

@testable import KonnectRedis

@Suite("RESP value")
struct RESPValueTests {
    @Test func accessors() throws {
        #expect(RESPValue.integer(5).int == 5)
        #expect(RESPValue.bulkString("17").int == 17)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.bulkString("hi").string == "hi")
        #expect(RESPValue.integer(3).string == "3")
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.array(nil).isNull)
        #expect(!RESPValue.array([]).isNull)
        #expect(RESPValue.bulkString("x").int == nil)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(throws: RedisError.server("ERR x")) { try RESPValue.error("ERR x").throwingServerError() }
        #expect(try RESPValue.integer(1).throwingServerError() == .integer(1))
    }
}

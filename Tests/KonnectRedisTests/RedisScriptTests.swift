import Testing

@testable import KonnectRedis

@Suite("Redis script")
struct RedisScriptTests {
    @Test func sha1IsLowercaseHexOfTheSource() {
        // The digest Redis itself reports for `SCRIPT LOAD "return 1"`.
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}

import NIOCore
import Testing

@testable import KonnectRedis

@Suite("Redis configuration and errors")
struct RedisConfigurationTests {
    @Test func defaultsFollowKong() {
        let configuration = RedisConfiguration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil && configuration.password == nil)
        #expect(!configuration.tls && configuration.tlsVerify)
        #expect(configuration.commandTimeout == .milliseconds(2000))
        #expect(configuration.connectTimeout == .milliseconds(2000))
        #expect(configuration.maxConnections == 4)
    }

    @Test func descriptionsNeverShowThePassword() {
        let configuration = RedisConfiguration(host: "redis.internal", username: "gateway", password: "s3cret-pass")
        #expect(!configuration.description.contains("s3cret-pass"))
        #expect(configuration.description.contains("redis.internal:6379"))
        #expect(configuration.description.contains("password=<redacted>"))
        #expect(RedisConfiguration(host: "::1").endpoint == "[::1]:6379")
    }

    @Test("error descriptions fit a log line", arguments: [
        (RedisError.server("ERR wrong number of arguments"), "Redis error reply: ERR wrong number of arguments"),
        (.timeout(.milliseconds(2000)), "Redis command got no reply within 2000 ms; connection closed"),
        (.connectionClosed, "Redis connection closed before the reply arrived"),
        (.connect(endpoint: "10.0.0.5:6379", reason: "Connection refused"),
         "cannot connect to Redis at 10.0.0.5:6379: Connection refused"),
        (.setupFailed(command: "AUTH", message: "WRONGPASS invalid username-password pair"),
         "Redis refused AUTH on a new connection: WRONGPASS invalid username-password pair"),
        (.protocolError("unknown RESP2 type byte 0x21"), "Redis protocol error: unknown RESP2 type byte 0x21"),
        (.invalidCommand("command 0 of the batch is empty"), "invalid Redis command: command 0 of the batch is empty"),
        (.clientClosed, "Redis client is shut down"),
    ])
    func errorDescriptions(error: RedisError, text: String) {
        #expect(error.description == text)
    }
}

import NIOCore
import NIOPosix
import KonnectTestSupport
import Testing

@testable import KonnectRedis

@Suite("Redis client faults")
struct RedisClientFaultTests {
    @Test func serverKilledThenRestarted() async throws {
        try await RedisServer.with { (server) async throws in
            // A long command timeout, so a quick failure can only come from noticing the loss.
            try await withClient(port: server.port, configure: { $0.commandTimeout = .seconds(30) }) { (redis) async throws in
                #expect(try await redis.send(["SET", "before", "1"]) == .simpleString("OK"))

                // A command in flight when the server dies fails at once.
                let blocked: EventLoopFuture<RESPValue> = redis.send(["BLPOP", "never", "0"])
                try await Task.sleep(for: .milliseconds(200))
                let killedAt = ContinuousClock.now
                server.kill()
                let inFlight = await expectFailure { _ = try await blocked.get() }
                #expect(inFlight.error == .connectionClosed)
                #expect(seconds(since: killedAt) < neverHangs)

                // While it is down, commands fail fast with a connect error.
                let down = await expectFailure { _ = try await redis.send(["GET", "before"]) }
                guard case .connect(let endpoint, let reason)? = down.error else {
                    Issue.record("expected a connect error, got \(String(describing: down.error))")
                    return
                }
                #expect(endpoint == "127.0.0.1:\(server.port)")
                #expect(reason.lowercased().contains("refused"))
                #expect(down.seconds < neverHangs)

                // Back on the same port (empty: no persistence), the client recovers on its own.
                try server.start()
                #expect(try await redis.send(["GET", "before"]) == .null)
                #expect(try await redis.send(["INCR", "after"]) == .integer(1))
            }
        }
    }

    @Test func serverThatNeverRepliesTimesOut() async throws {
        let hung = try await FakeRedisServer(reply: nil)
        defer { Task { await hung.close() } }
        let timeout = TimeAmount.milliseconds(300)
        try await withClient(port: hung.port, configure: {
            $0.commandTimeout = timeout
            $0.maxConnections = 1
        }) { (redis) async throws in
            // Two commands in flight on the one connection: both fail when the first times out.
            async let first = expectFailure { _ = try await redis.send(["GET", "a"]) }
            async let second = expectFailure { _ = try await redis.send(["GET", "b"]) }
            let (a, b) = await (first, second)
            #expect(a.error == .timeout(timeout))
            #expect(b.error == .timeout(timeout))
            #expect(a.seconds < neverHangs && b.seconds < neverHangs)
            #expect(redis.connectionCount == 0)

            // The next command opens a new connection, which times out the same way.
            let again = await expectFailure { _ = try await redis.send(["PING"]) }
            #expect(again.error == .timeout(timeout))
        }
    }

    @Test func closedPortFailsFastWithConnectError() async throws {
        let port = try RedisServer.freePort()
        try await withClient(port: port) { (redis) async throws in
            let failure = await expectFailure { _ = try await redis.send(["PING"]) }
            guard case .connect(let endpoint, let reason)? = failure.error else {
                Issue.record("expected a connect error, got \(String(describing: failure.error))")
                return
            }
            #expect(endpoint == "127.0.0.1:\(port)")
            #expect(reason == "Connection refused")
            #expect(failure.seconds < neverHangs)
            #expect(redis.connectionCount == 0)
            #expect(String(describing: failure.error!) == "cannot connect to Redis at 127.0.0.1:\(port): Connection refused")
        }
    }

    @Test func garbageFromServerIsAProtocolError() async throws {
        let broken = try await FakeRedisServer(reply: "HTTP/1.1 400 Bad Request\r\n\r\n")
        defer { Task { await broken.close() } }
        try await withClient(port: broken.port) { (redis) async throws in
            let failure = await expectFailure { _ = try await redis.send(["PING"]) }
            guard case .protocolError? = failure.error else {
                Issue.record("expected a protocol error, got \(String(describing: failure.error))")
                return
            }
            #expect(redis.connectionCount == 0)
        }
    }

    @Test func unsolicitedReplyIsAProtocolError() async throws {
        // Two replies to every command: the second has no command waiting for it.
        let chatty = try await FakeRedisServer(reply: "+PONG\r\n+PONG\r\n")
        defer { Task { await chatty.close() } }
        try await withClient(port: chatty.port, configure: { $0.commandTimeout = .seconds(5) }) { (redis) async throws in
            let first = try await redis.send(["PING"])
            #expect(first == .simpleString("PONG"))
            // The connection was closed for the stray reply; the client opens another.
            try await Task.sleep(for: .milliseconds(100))
            #expect(redis.connectionCount == 0)
        }
    }
}

import Foundation
import KonnectConfig
import KonnectProxy
import KonnectRedis
import KonnectTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// rate-limiting with the redis policy against a real redis-server: two gateway nodes share one
/// limit exactly, and a lost Redis is survived (fault_tolerant) or reported, never waited on.
@Suite("Plugins: rate-limiting with Redis")
struct RateLimitingRedisTests {
    /// Kong's default Redis timeout (2 s), so a loaded test machine is not mistaken for a failing Redis.
    static func configuration(origin: Int, redisPort: Int, _ extra: [String: JSONValue] = [:]) -> Configuration {
        let config: JSONValue = .object([
            "day": 5, "limit_by": "header", "header_name": "X-Client", "policy": "redis",
            "redis": .object(["host": "127.0.0.1", "port": .number(Double(redisPort)), "timeout": 2000]),
        ].merging(extra) { $1 })
        return pluginConfiguration(port: origin, plugins: [Plugin(id: "p-rl", name: "rate-limiting", config: config)])
    }

    @Test func twoNodesSharingALimitLetExactlyThatManyThrough() async throws {
        try await RedisServer.with { redis in
            // Not fault-tolerant: a Redis failure must show (as 500), not be counted around on one node.
            let strict: [String: JSONValue] = ["fault_tolerant": false]
            try await withProxy(configure: { Self.configuration(origin: $0[0], redisPort: redis.port, strict) }) { first in
                try await withProxy(configure: { Self.configuration(origin: $0[0], redisPort: redis.port, strict) }) { second in
                    let me = UUID().uuidString
                    // 24 requests at once, split over the two nodes and four connections each.
                    let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                        for node in [first, second] {
                            for _ in 0..<4 {
                                group.addTask {
                                    let client = try await node.client()
                                    defer { client.close() }
                                    var statuses: [Int] = []
                                    for _ in 0..<3 { statuses.append(try await client.get("/x", headers: [("X-Client", me)]).status) }
                                    return statuses
                                }
                            }
                        }
                        return try await group.reduce(into: [Int]()) { $0 += $1 }
                    }
                    #expect(statuses.filter { $0 == 200 }.count == 5, "\(statuses)")
                    #expect(statuses.filter { $0 == 429 }.count == 19)
                    #expect(first.origin.requests + second.origin.requests == 5)

                    // Both nodes report the shared count.
                    let other = UUID().uuidString
                    let client = try await first.client()
                    defer { client.close() }
                    _ = try await client.get("/x", headers: [("X-Client", other)])
                    let next = try await second.client()
                    defer { next.close() }
                    let response = try await next.get("/x", headers: [("X-Client", other)])
                    #expect(response.header("x-ratelimit-remaining-day") == "3")
                }
            }
        }
    }

    /// Requests that arrive together go to Redis together (one batch per turn of the event
    /// loop); each is still counted once. After the server forgets its scripts (a restart, here
    /// `SCRIPT FLUSH`), every request of a batch gets NOSCRIPT and is sent again whole.
    @Test func aBurstIsCountedExactlyEvenAfterRedisForgetsTheScript() async throws {
        try await RedisServer.with { redis in
            let strict: [String: JSONValue] = ["fault_tolerant": false]
            try await withProxy(configure: { Self.configuration(origin: $0[0], redisPort: redis.port, strict) }) { fx in
                let me = UUID().uuidString
                let first = try await fx.client()
                defer { first.close() }
                #expect(try await first.get("/x", headers: [("X-Client", me)]).status == 200)
                let admin = RedisClient(configuration: RedisConfiguration(port: redis.port), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
                #expect(try await admin.send(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
                await admin.shutdown()
                // Twelve clients at once, with four of the day's five requests left.
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<12 {
                        group.addTask {
                            let client = try await fx.client()
                            defer { client.close() }
                            return try await client.get("/x", headers: [("X-Client", me)]).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 200 }.count == 4, "\(statuses)")
                #expect(statuses.filter { $0 == 429 }.count == 8)
                #expect(fx.origin.requests == 5)
            }
        }
    }

    @Test func aSlidingWindowCountsInRedisToo() async throws {
        try await RedisServer.with { redis in
            try await withProxy(configure: {
                Self.configuration(origin: $0[0], redisPort: redis.port, ["day": 2, "window_type": "sliding"])
            }) { fx in
                let me = UUID().uuidString
                let client = try await fx.client()
                defer { client.close() }
                var statuses: [Int] = []
                for _ in 0..<3 { statuses.append(try await client.get("/x", headers: [("X-Client", me)]).status) }
                #expect(statuses == [200, 200, 429])
            }
        }
    }

    @Test func whenRedisIsLostTheGatewayCountsLocallyOrSaysSo() async throws {
        try await RedisServer.with { redis in
            try await withProxy(configure: { Self.configuration(origin: $0[0], redisPort: redis.port, ["day": 2]) }) { tolerant in
                try await withProxy(configure: {
                    Self.configuration(origin: $0[0], redisPort: redis.port, ["day": 2, "fault_tolerant": false])
                }) { strict in
                    let me = UUID().uuidString
                    let client = try await tolerant.client()
                    defer { client.close() }
                    let strictClient = try await strict.client()
                    defer { strictClient.close() }
                    #expect(try await client.get("/x", headers: [("X-Client", me)]).status == 200)

                    redis.kill()
                    // fault_tolerant: requests keep flowing, counted on this node.
                    let started = ContinuousClock.now
                    let local = try await client.get("/x", headers: [("X-Client", me)])
                    #expect(local.status == 200)
                    #expect(local.header("x-ratelimit-remaining-day") == "1")
                    // Without it: 500 with a message, well before any client would give up.
                    let refused = try await strictClient.get("/x", headers: [("X-Client", me)])
                    #expect(refused.status == 500)
                    #expect(refused.text.contains("rate-limiting counters are unavailable"))
                    #expect(ContinuousClock.now - started < .seconds(30))  // failed, not hung

                    // Redis is back (empty: it keeps nothing on disk): counting resumes there
                    // once the second it is left alone after a failure is over.
                    try redis.start()
                    try await Task.sleep(for: .milliseconds(1100))
                    let back = try await strictClient.get("/x", headers: [("X-Client", me)])
                    #expect(back.status == 200)
                    #expect(back.header("x-ratelimit-remaining-day") == "1")
                }
            }
        }
    }

    @Test func aRedisThatNeverAnswersCostsOneTimeoutNotAHang() async throws {
        // A server that accepts connections and never answers, like a Redis stuck on a slow script.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let commands = CommandCount()
        let silent = try await ServerBootstrap(group: group)
            .childChannelInitializer { $0.pipeline.addHandler(commands) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = silent.localAddress!.port!
        do {
            try await withProxy(configure: {
                Self.configuration(origin: $0[0], redisPort: port, ["day": 2, "redis": .object(["host": "127.0.0.1", "port": .number(Double(port)), "timeout": 300])])
            }) { tolerant in
                try await withProxy(configure: {
                    Self.configuration(origin: $0[0], redisPort: port, ["day": 2, "fault_tolerant": false,
                                                                       "redis": .object(["host": "127.0.0.1", "port": .number(Double(port)), "timeout": 300])])
                }) { strict in
                    let me = UUID().uuidString
                    let started = ContinuousClock.now
                    let client = try await tolerant.client()
                    defer { client.close() }
                    let counted = try await client.get("/x", headers: [("X-Client", me)])
                    #expect(counted.status == 200)
                    #expect(counted.header("x-ratelimit-remaining-day") == "1")  // counted on this node
                    let strictClient = try await strict.client()
                    defer { strictClient.close() }
                    #expect(try await strictClient.get("/x", headers: [("X-Client", me)]).status == 500)
                    let again = try await client.get("/x", headers: [("X-Client", me)])
                    #expect(again.header("x-ratelimit-remaining-day") == "0")
                    #expect(ContinuousClock.now - started < .seconds(30))  // timed out, not hung
                    // For a second after the failure the server is left alone: the requests
                    // since were decided without asking it, so without waiting for it. The
                    // failure came 300 ms after `started` at the earliest, so when everything is
                    // over within 1.3 s of it, every later request fell in that second (on a
                    // machine too busy for that, there is nothing to check).
                    if ContinuousClock.now - started < .milliseconds(1300) {
                        #expect(commands.evalshas == 1)
                    }
                }
            }
        } catch {
            try? await silent.close()
            try? await group.shutdownGracefully()
            throw error
        }
        try await silent.close()
        try await group.shutdownGracefully()
    }

    /// A reply the script cannot have written (a window past the last, a count of `inf`) is a
    /// Redis failure like any other: 500, or counted on this node. The window index once
    /// stopped the gateway.
    @Test(arguments: ["*2\r\n:100\r\n$1\r\n0\r\n", "*2\r\n:-3\r\n$1\r\n0\r\n", "*2\r\n:0\r\n$3\r\ninf\r\n"])
    func aReplyTheScriptCannotHaveWrittenIsAFailure(reply: String) async throws {
        let fake = try await FakeRedisServer(reply: reply)
        defer { Task { await fake.close() } }
        try await withProxy(configure: {
            Self.configuration(origin: $0[0], redisPort: fake.port, ["day": 2, "fault_tolerant": false])
        }) { strict in
            let client = try await strict.client()
            defer { client.close() }
            let answer = try await client.get("/x", headers: [("X-Client", UUID().uuidString)])
            if reply.contains("inf") {
                // A count that is not one counts as none.
                #expect(answer.status == 200)
                #expect(answer.header("x-ratelimit-remaining-day") == "1")
            } else {
                #expect(answer.status == 500)
                #expect(answer.text.contains("rate-limiting counters are unavailable"))
            }
        }
    }

    /// The Redis timeout bounds the whole wait, not each step: a server that answers every
    /// command just within the timeout (NOSCRIPT to EVALSHA, then the script's reply to EVAL)
    /// still takes longer than one timeout in all, and the request does not wait for it.
    @Test func theTimeoutBoundsTheWholeWaitNotEachStep() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let slow = try await ServerBootstrap(group: group)
            .childChannelInitializer { $0.pipeline.addHandler(SlowRedis(delay: .milliseconds(250))) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = slow.localAddress!.port!
        let redis: JSONValue = .object(["host": "127.0.0.1", "port": .number(Double(port)), "timeout": 400])
        do {
            try await withProxy(configure: {
                Self.configuration(origin: $0[0], redisPort: port, ["day": 2, "fault_tolerant": false, "redis": redis])
            }) { strict in
                let client = try await strict.client()
                defer { client.close() }
                // 250 ms for EVALSHA, then 250 ms for EVAL: each step within 400 ms, the two past it.
                let refused = try await client.get("/x", headers: [("X-Client", UUID().uuidString)])
                #expect(refused.status == 500)
                #expect(refused.text.contains("rate-limiting counters are unavailable"))
            }
        } catch {
            try? await slow.close()
            try? await group.shutdownGracefully()
            throw error
        }
        try await slow.close()
        try await group.shutdownGracefully()
    }
}

/// Counts the EVALSHA commands a server receives.
final class CommandCount: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let count = NIOLockedValueBox(0)
    var evalshas: Int { count.withLockedValue { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: unwrapInboundIn(data))
        count.withLockedValue { $0 += text.components(separatedBy: "EVALSHA").count - 1 }
    }
}

/// A Redis that takes `delay` over each command: EVALSHA gets NOSCRIPT, EVAL a rate-limiting
/// script's reply for one window with nothing counted yet.
final class SlowRedis: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let delay: TimeAmount
    private var buffer = ByteBuffer()
    private var parser = RESPParser()

    init(delay: TimeAmount) {
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while let command = try? parser.next(from: &buffer) {
            let name = command.array?.first?.string?.uppercased()
            let reply = name == "EVALSHA" ? "-NOSCRIPT No matching script.\r\n" : "*2\r\n:0\r\n$1\r\n0\r\n"
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let context = loopBound.value
                context.writeAndFlush(NIOAny(ByteBuffer(string: reply)), promise: nil)
            }
        }
    }
}

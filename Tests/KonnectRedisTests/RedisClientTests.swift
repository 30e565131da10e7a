import Foundation
import NIOCore
import NIOPosix
import KonnectTestSupport
import Testing

@testable import KonnectRedis

@Suite("Redis client against a real server")
struct RedisClientTests {
    @Test func setGetIncrExpire() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                #expect(try await redis.send(["SET", "greeting", "héllo"]) == .simpleString("OK"))
                #expect(try await redis.send(["GET", "greeting"]).string == "héllo")
                #expect(try await redis.send(["GET", "missing"]) == .null)
                #expect(try await redis.send(["INCR", "counter"]) == .integer(1))
                #expect(try await redis.send(["INCRBY", "counter", "41"]) == .integer(42))
                #expect(try await redis.send(["GET", "counter"]).int == 42)
                #expect(try await redis.send(["EXPIRE", "counter", "100"]) == .integer(1))
                let ttl = try await redis.send(["TTL", "counter"]).int ?? -1
                #expect(ttl > 0 && ttl <= 100)

                let failure = await expectFailure { _ = try await redis.send(["INCR", "greeting"]) }
                guard case .server(let message)? = failure.error else {
                    Issue.record("expected a server error, got \(String(describing: failure.error))")
                    return
                }
                #expect(message.hasPrefix("ERR value is not an integer"))
                // The connection is still usable after an error reply.
                #expect(try await redis.send(["PING"]) == .simpleString("PONG"))
            }
        }
    }

    @Test func futureAPI() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                let future: EventLoopFuture<RESPValue> = redis.send(["ECHO", "hi"])
                #expect(try await future.get().string == "hi")
                let batch: EventLoopFuture<[RESPValue]> = redis.send([["SET", "a", "1"], ["GET", "a"]])
                #expect(try await batch.get() == [.simpleString("OK"), .bulkString("1")])
            }
        }
    }

    @Test func pipelineOf1000IncrsAnswersInOrder() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                let replies = try await redis.send(Array(repeating: ["INCR", "pipelined"], count: 1000))
                #expect(replies == (1...1000).map { RESPValue.integer($0) })
            }
        }
    }

    @Test func pipelineReportsEachCommandsErrorInPlace() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                let replies = try await redis.send([["SET", "k", "1"], ["INCR", "k"], ["LPUSH", "k", "x"], ["GET", "k"]])
                #expect(replies.count == 4)
                #expect(replies[0] == .simpleString("OK"))
                #expect(replies[1] == .integer(2))
                #expect(replies[2].errorMessage?.hasPrefix("WRONGTYPE") == true)
                #expect(replies[3].string == "2")
                #expect(try await redis.send([[String]]()) == [])
                let empty = await expectFailure { _ = try await redis.send([["PING"], []]) }
                guard case .invalidCommand? = empty.error else {
                    Issue.record("expected invalidCommand, got \(String(describing: empty.error))")
                    return
                }
            }
        }
    }

    @Test func concurrentIncrsThroughThePoolAreExact() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port, configure: { $0.maxConnections = 4 }) { (redis) async throws in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            for _ in 0..<100 {
                                _ = try await redis.send(["INCR", "shared"])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await redis.send(["GET", "shared"]).int == 5000)
                #expect(redis.connectionCount <= 4)
            }
        }
    }

    @Test func poolNeverExceedsMaxConnections() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port, configure: { $0.maxConnections = 3 }) { (redis) async throws in
                let peak = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<300 {
                        group.addTask {
                            _ = try await redis.send(["INCR", "key\(index % 7)"])
                            return redis.connectionCount
                        }
                    }
                    return try await group.reduce(0) { max($0, $1) }
                }
                #expect(peak <= 3)
                #expect(redis.connectionCount == 3)
                // The server sees exactly the client's connections, this CLIENT LIST's own included.
                let clients = try await redis.send(["CLIENT", "LIST"]).string ?? ""
                let lines = clients.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                #expect(lines.count == 3)
            }
        }
    }

    @Test func passwordAuthentication() async throws {
        let password = "right-horse-battery"
        try await RedisServer.with(password: password) { (server) async throws in
            try await withClient(port: server.port, configure: { $0.password = password }) { (redis) async throws in
                #expect(try await redis.send(["PING"]) == .simpleString("PONG"))
            }
            try await withClient(port: server.port, configure: { $0.password = "wrong-password" }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .setupFailed(let command, let message)? = failure.error else {
                    Issue.record("expected setupFailed, got \(String(describing: failure.error))")
                    return
                }
                #expect(command == "AUTH")
                #expect(message.hasPrefix("WRONGPASS"))
                #expect(!String(describing: failure.error!).contains("wrong-password"))
                #expect(redis.connectionCount == 0)
            }
            try await withClient(port: server.port) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["GET", "x"]) }
                guard case .server(let message)? = failure.error else {
                    Issue.record("expected a NOAUTH error reply, got \(String(describing: failure.error))")
                    return
                }
                #expect(message.hasPrefix("NOAUTH"))
            }
        }
    }

    @Test func aclUsernameAuthentication() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (admin) async throws in
                let reply = try await admin.send(["ACL", "SETUSER", "gateway", "on", ">gw-pass", "~rl:*", "+@all"])
                #expect(reply == .simpleString("OK"))
            }
            try await withClient(port: server.port, configure: {
                $0.username = "gateway"
                $0.password = "gw-pass"
            }) { (redis) async throws in
                #expect(try await redis.send(["ACL", "WHOAMI"]).string == "gateway")
                #expect(try await redis.send(["INCR", "rl:minute"]) == .integer(1))
                let denied = await expectFailure { _ = try await redis.send(["INCR", "other"]) }
                guard case .server(let message)? = denied.error else {
                    Issue.record("expected NOPERM, got \(String(describing: denied.error))")
                    return
                }
                #expect(message.hasPrefix("NOPERM"))
            }
            try await withClient(port: server.port, configure: {
                $0.username = "gateway"
                $0.password = "not-it"
            }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .setupFailed(let command, _)? = failure.error else {
                    Issue.record("expected setupFailed, got \(String(describing: failure.error))")
                    return
                }
                #expect(command == "AUTH")
            }
        }
    }

    @Test func selectedDatabasesAreIsolated() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (db0) async throws in
                try await withClient(port: server.port, configure: { $0.database = 3 }) { (db3) async throws in
                    _ = try await db0.send(["SET", "k", "zero"])
                    _ = try await db3.send(["SET", "k", "three"])
                    #expect(try await db0.send(["GET", "k"]).string == "zero")
                    #expect(try await db3.send(["GET", "k"]).string == "three")
                    #expect(try await db3.send(["DBSIZE"]) == .integer(1))
                }
            }
            try await withClient(port: server.port, configure: { $0.database = 999 }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .setupFailed(let command, _)? = failure.error else {
                    Issue.record("expected setupFailed, got \(String(describing: failure.error))")
                    return
                }
                #expect(command == "SELECT")
            }
        }
    }

    @Test func evalWithKeysAndArguments() async throws {
        let script = RedisScript("""
            local total = redis.call('INCRBY', KEYS[1], ARGV[1])
            redis.call('EXPIRE', KEYS[1], ARGV[2])
            return {total, KEYS[1], ARGV[3]}
            """)
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                // The digest agrees with the server's.
                #expect(try await redis.send(["SCRIPT", "LOAD", script.source]).string == script.sha1)
                let first = try await redis.eval(script, keys: ["rl:a"], arguments: ["5", "60", "tag"])
                #expect(first == .array([.integer(5), .bulkString("rl:a"), .bulkString("tag")]))
                let second = try await redis.eval(script, keys: ["rl:a"], arguments: ["2", "60", "tag"])
                #expect(second.array?.first == .integer(7))
                #expect(try await redis.send(["TTL", "rl:a"]).int ?? 0 > 0)

                let failing = RedisScript("return redis.error_reply('LIMIT reached')")
                let failure = await expectFailure { _ = try await redis.eval(failing) }
                #expect(failure.error == .server("LIMIT reached"))
            }
        }
    }

    @Test func evalFallsBackToEvalAfterScriptFlush() async throws {
        let script = RedisScript("return redis.call('INCR', KEYS[1])")
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port) { (redis) async throws in
                // Not cached yet: EVALSHA gets NOSCRIPT, EVAL runs and caches it.
                #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))
                #expect(try await redis.eval(script, keys: ["n"]) == .integer(1))
                #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
                #expect(try await redis.send(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
                #expect(try await redis.eval(script, keys: ["n"]) == .integer(2))
                #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
                #expect(try await redis.eval(script, keys: ["n"]) == .integer(3))
            }
        }
    }

    @Test func shutdownFailsPendingAndLaterCommands() async throws {
        try await RedisServer.with { (server) async throws in
            var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
            configuration.commandTimeout = .seconds(30)
            let redis = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            _ = try await redis.send(["PING"])
            let blocked: EventLoopFuture<RESPValue> = redis.send(["BLPOP", "never", "0"])
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            await redis.shutdown()
            let failure = await expectFailure { _ = try await blocked.get() }
            #expect(failure.error == .connectionClosed)
            #expect(seconds(since: start) < neverHangs)
            let later = await expectFailure { _ = try await redis.send(["PING"]) }
            #expect(later.error == .clientClosed)
            #expect(redis.connectionCount == 0)
        }
    }
}

import NIOCore
import NIOConcurrencyHelpers
import NIOEmbedded
import Testing

@testable import KonnectRedis

/// The handler alone on an `EmbeddedChannel`, whose clock only moves when told to.
@Suite("Redis channel handler")
struct RedisChannelHandlerTests {
    static let timeout = TimeAmount.seconds(2)

    /// A handler on an active embedded channel, and a count of its `onClose` calls.
    final class Harness {
        let channel: EmbeddedChannel
        let closes = NIOLockedValueBox(0)

        init() throws {
            let closes = self.closes
            channel = EmbeddedChannel(handler: RedisChannelHandler(
                commandTimeout: RedisChannelHandlerTests.timeout, handshake: nil,
                onClose: { closes.withLockedValue { $0 += 1 } }))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        /// Writes `commands` as one request, as `RedisConnection` does; returns a box that fills in
        /// when it completes.
        func send(_ commands: [[String]]) -> Outcome {
            var bytes = ByteBuffer()
            for command in commands { RESPEncoder.encode(command, into: &bytes) }
            let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
            let outcome = Outcome()
            promise.futureResult.assumeIsolated().whenComplete { outcome.result = $0 }
            RedisRequest(bytes: bytes, count: commands.count, promise: promise).write(on: channel)
            return outcome
        }

        func receive(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func advance(by amount: TimeAmount) {
            channel.embeddedEventLoop.advanceTime(by: amount)
        }
    }

    final class Outcome {
        var result: Result<[RESPValue], any Error>?
        var replies: [RESPValue]? { try? result?.get() }
        var error: RedisError? {
            guard case .failure(let error)? = result else { return nil }
            return error as? RedisError
        }
    }

    @Test func writesTheEncodedCommandsAndMatchesRepliesInOrder() throws {
        let harness = try Harness()
        let first = harness.send([["SET", "a", "1"]])
        let second = harness.send([["INCR", "a"], ["GET", "a"]])
        let written = try harness.channel.readOutbound(as: ByteBuffer.self)
        #expect(written.map { String(buffer: $0) } == "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n")

        try harness.receive("+OK\r\n:2\r")
        #expect(first.replies == [.simpleString("OK")])
        #expect(second.result == nil)
        try harness.receive("\n$1\r\n2\r\n")
        #expect(second.replies == [.integer(2), .bulkString("2")])
        #expect(harness.closes.withLockedValue { $0 } == 0)
    }

    @Test func lateReplyFailsEveryWaitingRequestAndCloses() throws {
        let harness = try Harness()
        let first = harness.send([["GET", "a"]])
        harness.advance(by: .seconds(1))
        let second = harness.send([["GET", "b"]])
        harness.advance(by: .milliseconds(999))
        #expect(first.result == nil)
        harness.advance(by: .milliseconds(1))
        #expect(first.error == .timeout(Self.timeout))
        #expect(second.error == .timeout(Self.timeout))
        #expect(harness.closes.withLockedValue { $0 } == 1)
        #expect(!harness.channel.isActive)

        // A request written after the close fails at once.
        let late = harness.send([["PING"]])
        #expect(late.error == .connectionClosed)
    }

    @Test func timerMovesOnToTheNextRequestsDeadline() throws {
        let harness = try Harness()
        let first = harness.send([["GET", "a"]])
        harness.advance(by: .milliseconds(1500))
        let second = harness.send([["GET", "b"]])
        try harness.receive("$-1\r\n")
        #expect(first.replies == [.null])
        // The first deadline passes with the second request still inside its own.
        harness.advance(by: .milliseconds(600))
        #expect(second.result == nil)
        #expect(harness.channel.isActive)
        harness.advance(by: .milliseconds(1400))
        #expect(second.error == .timeout(Self.timeout))
    }

    @Test func answeredRequestsNeverTimeOut() throws {
        let harness = try Harness()
        for _ in 0..<5 {
            let request = harness.send([["PING"]])
            try harness.receive("+PONG\r\n")
            #expect(request.replies == [.simpleString("PONG")])
            harness.advance(by: .seconds(1))
        }
        harness.advance(by: .seconds(10))
        #expect(harness.channel.isActive)
    }

    @Test func unsolicitedReplyIsAProtocolError() throws {
        let harness = try Harness()
        try harness.receive("+surprise\r\n")
        #expect(!harness.channel.isActive)
        #expect(harness.closes.withLockedValue { $0 } == 1)
    }

    @Test func malformedReplyFailsWaitingRequests() throws {
        let harness = try Harness()
        let request = harness.send([["GET", "a"]])
        try? harness.receive("!oops\r\n")
        guard case .protocolError? = request.error else {
            Issue.record("expected a protocol error, got \(String(describing: request.result))")
            return
        }
        #expect(!harness.channel.isActive)
    }

    @Test func closedConnectionFailsWaitingRequests() throws {
        let harness = try Harness()
        let request = harness.send([["BLPOP", "q", "0"]])
        harness.channel.pipeline.fireChannelInactive()
        #expect(request.error == .connectionClosed)
        #expect(harness.closes.withLockedValue { $0 } == 1)
    }
}

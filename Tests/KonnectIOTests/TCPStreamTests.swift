import Glibc
import KonnectIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite struct TCPListenerTests {
    @Test func connectionsGoToTheLoopsInTurn() async throws {
        let first = SocketLoop(name: "t-spread-0")
        let second = SocketLoop(name: "t-spread-1")
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let served = NIOLockedValueBox<[(index: Int, onItsLoop: Bool)]>([])
        let streams = NIOLockedValueBox<[UncheckedStream]>([])
        try await first.submit {
            try listener.startAccepting(on: first, handingTo: [first, second]) { stream, index in
                let expected = index == 0 ? first : second
                served.withLockedValue { $0.append((index, stream.loop === expected && expected.inEventLoop)) }
                streams.withLockedValue { $0.append(UncheckedStream(stream)) }
            }
        }.get()
        let peers = try (0..<6).map { _ in try PeerSocket.connect(to: listener.port) }
        let result = try await eventually("six connections to be served") {
            served.withLockedValue { $0.count == 6 ? $0 : nil }
        }
        #expect(result.filter { $0.index == 0 }.count == 3)
        #expect(result.filter { $0.index == 1 }.count == 3)
        #expect(result.allSatisfy { $0.onItsLoop }, "a stream was handed to its delegate off its own loop")
        for peer in peers { peer.close() }
        try await first.submit { listener.stopAccepting(on: first) }.get()
        listener.close()
        for stream in streams.withLockedValue({ $0 }) {
            try await stream.stream.loop.submit { stream.stream.close() }.get()
        }
        try await first.shutdownGracefully()
        try await second.shutdownGracefully()
    }

    @Test func portZeroPicksAFreePortThatTakesConnections() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        #expect(listener.port != 0)
        // The kernel completes the handshake against the listening socket, accepted or not.
        let peer = try PeerSocket.connect(to: listener.port)
        peer.close()
    }

    @Test func bindingAPortAlreadyInUseThrows() throws {
        let first = try TCPListener(host: "127.0.0.1", port: 0)
        defer { first.close() }
        let error = #expect(throws: IOError.self) { try TCPListener(host: "127.0.0.1", port: first.port) }
        #expect(error?.errnoCode == EADDRINUSE)
    }

    @Test func anAcceptedStreamEchoesToAPlainSocketAndKnowsThePeersAddress() async throws {
        try await withSocketLoop("t-echo-plain") { loop in
            let server = try await TestServer.start(on: loop, echo: true)
            let peer = try PeerSocket.connect(to: server.port)
            defer { peer.close() }
            let stream = try await server.stream(0)
            #expect(try await stream.withStream { $0.remoteIP } == "127.0.0.1")

            let payload = patternBytes(0..<300_000)
            let echoed = try await blocking {
                try peer.send(payload)
                return try peer.receive(exactly: payload.count)
            }
            #expect(firstPatternMismatch(echoed) == nil, "the echo differs from what was sent")
            #expect(stream.log.closes.isEmpty)
            try await server.stop()
        }
    }

    @Test func aStreamThatLetItsReadBufferGoStillReadsWhatComesNext() async throws {
        try await withSocketLoop("t-release") { loop in
            let server = try await TestServer.start(on: loop, echo: true)
            let peer = try PeerSocket.connect(to: server.port)
            defer { peer.close() }
            let stream = try await server.stream(0)
            let first = try await blocking {
                try peer.send("first")
                return try peer.receive(exactly: 5)
            }
            try await stream.withStream { $0.releaseReadBuffer() }
            let second = try await blocking {
                try peer.send("second")
                return try peer.receive(exactly: 6)
            }
            #expect(String(decoding: first + second, as: UTF8.self) == "firstsecond")
            #expect(stream.log.text == "firstsecond")
            try await server.stop()
        }
    }

    @Test func anAcceptedStreamEchoesToANIOClientAndReportsItsOrderlyClose() async throws {
        try await withSocketLoop("t-echo-nio") { loop in
            let server = try await TestServer.start(on: loop, echo: true)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let payload = patternBytes(0..<200_000)
            let echoed = group.next().makePromise(of: [UInt8].self)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(expected: payload.count, done: echoed))
                    }
                }
                .connect(host: "127.0.0.1", port: server.port).get()
            try await channel.writeAndFlush(ByteBuffer(bytes: payload))
            // A did-not-hang bound, from the write on (a busy test run may delay what comes before).
            group.next().scheduleTask(in: .seconds(30)) {
                echoed.fail(TimedOut(description: "the echo did not come back within 30 s"))
            }
            let bytes = try await echoed.futureResult.get()
            #expect(bytes.count == payload.count)
            #expect(firstPatternMismatch(bytes) == nil, "the echo differs from what was sent")

            try await channel.close()
            let stream = try await server.stream(0)
            try await stream.log.waitUntilClosed()
            #expect(stream.log.closes == [.closed(error: nil)])
            try await server.stop()
            try await group.shutdownGracefully()
        }
    }

    @Test func streamsAreAcceptedOneByOneEachWithItsOwnBytes() async throws {
        try await withSocketLoop("t-accept-many") { loop in
            let server = try await TestServer.start(on: loop, echo: true)
            let peers = try (0..<5).map { _ in try PeerSocket.connect(to: server.port) }
            defer { for peer in peers { peer.close() } }
            for (index, peer) in peers.enumerated() {
                let reply = try await blocking {
                    try peer.send("peer \(index)")
                    return try peer.receive(exactly: "peer \(index)".utf8.count)
                }
                #expect(String(decoding: reply, as: UTF8.self) == "peer \(index)")
            }
            _ = try await server.stream(4)
            try await server.stop()
        }
    }
}

/// Collects what a NIO channel reads until `expected` bytes have come.
private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let expected: Int
    private let done: EventLoopPromise<[UInt8]>
    private var bytes: [UInt8] = []

    init(expected: Int, done: EventLoopPromise<[UInt8]>) {
        self.expected = expected
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        if bytes.count >= expected { done.succeed(bytes) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(TimedOut(description: "the connection closed after \(bytes.count) of \(expected) echoed bytes"))
    }
}

@Suite struct TCPStreamTests {
    @Test func aPeerThatDoesNotReadTurnsTheStreamUnwritableUntilItCatchesUp() async throws {
        try await withSocketLoop("t-backpressure") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port, receiveBuffer: 65_536)
            defer { peer.close() }
            let stream = try await server.stream(0)

            // Write through the socket until the kernel's buffers are full and more than the high
            // water mark waits in the stream, then a little more: a few MB in all.
            let total = try await stream.withStream { stream -> Int in
                let chunk = 65_536
                var written = 0
                while (stream.isWritable || written < 4 << 20) && written < 256 << 20 {
                    stream.writeAndFlush(ByteBuffer(bytes: patternBytes(written..<written + chunk)))
                    written += chunk
                }
                return written
            }
            #expect(total < 256 << 20, "the stream stayed writable through 256 MiB")
            #expect(stream.log.writabilityChanges == [false])
            #expect(try await stream.withStream { $0.isWritable } == false)

            let received = try await blocking { try peer.receive(exactly: total) }
            #expect(firstPatternMismatch(received) == nil, "bytes arrived out of order or changed")
            try await stream.log.waitUntil("writability to come back") { events, _ in
                events.contains(.writability(true))
            }
            #expect(stream.log.writabilityChanges == [false, true])
            #expect(try await stream.withStream { $0.isWritable })
            #expect(stream.log.closes.isEmpty)
            try await server.stop()
        }
    }

    @Test func heldReadsDeliverNothingUntilReleased() async throws {
        try await withSocketLoop("t-hold") { loop in
            let server = try await TestServer.start(on: loop) { $0.holdReads(true) }
            let heldPeer = try PeerSocket.connect(to: server.port)
            defer { heldPeer.close() }
            let held = try await server.stream(0)
            let fencePeer = try PeerSocket.connect(to: server.port)
            defer { fencePeer.close() }
            let fence = try await server.stream(1)
            try await fence.withStream { $0.holdReads(false) }

            let payload = patternBytes(0..<20_000)
            try heldPeer.send(payload)
            // Bytes sent later on another connection of the same loop have been read, and the loop
            // has finished that batch of events: the held stream has seen its own by now.
            try fencePeer.send("fence")
            try await fence.log.waitUntil("the fence bytes") { _, bytes in bytes == Array("fence".utf8) }
            try await loop.submit {}.get()
            #expect(held.log.events.isEmpty, "a held stream reported \(held.log.events)")

            try await held.withStream { $0.holdReads(false) }
            try await held.log.waitUntil("the held bytes") { _, bytes in bytes.count >= payload.count }
            #expect(held.log.bytes == payload)
            #expect(held.log.closes.isEmpty)
            try await server.stop()
        }
    }

    @Test func holdingReadsFromInsideStreamReadStopsTheBatch() async throws {
        try await withSocketLoop("t-hold-inside") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port, receiveBuffer: 65_536)
            defer { peer.close() }
            let stream = try await server.stream(0)
            // A delegate that holds reads after the first one, as a proxy does when its other side
            // cannot take more.
            let firstRead = NIOLockedValueBox(0)
            try await stream.withStream { stream in
                let recorder = stream.delegate
                stream.delegate = HoldAfterFirstRead(forwardingTo: recorder, stream: stream, firstRead: firstRead)
            }
            let size = 1 << 20
            // Held reads push back on the sender, so the send finishes only after the release.
            let sending = Task { try await blocking { try peer.send(patternBytes(0..<size)) } }
            try await stream.log.waitUntil("the first read") { _, bytes in !bytes.isEmpty }
            try await loop.submit {}.get()
            let afterHold = stream.log.bytes.count
            #expect(afterHold == firstRead.withLockedValue { $0 }, "reads went on after holdReads(true)")
            #expect(afterHold < size)

            try await stream.withStream { $0.holdReads(false) }
            try await stream.log.waitUntil("all \(size) bytes") { _, bytes in bytes.count >= size }
            #expect(firstPatternMismatch(stream.log.bytes) == nil)
            #expect(stream.log.bytes.count == size)
            try await sending.value
            try await server.stop()
        }
    }

    @Test func withHalfClosureThePeersEOFIsReportedAndTheStreamCanStillReply() async throws {
        try await withSocketLoop("t-half-close") { loop in
            let server = try await TestServer.start(on: loop) { $0.allowHalfClosure = true }
            let peer = try PeerSocket.connect(to: server.port)
            defer { peer.close() }
            let stream = try await server.stream(0)

            try peer.send("request")
            peer.shutdownWrite()
            try await stream.log.waitUntil("streamInputClosed") { events, _ in events.contains(.inputClosed) }
            #expect(stream.log.text == "request")
            let events = stream.log.events
            let lastRead = events.lastIndex { if case .read = $0 { true } else { false } }
            #expect(lastRead.map { $0 < events.firstIndex(of: .inputClosed)! } == true,
                    "streamInputClosed came before the bytes sent ahead of the EOF: \(events)")
            #expect(stream.log.closes.isEmpty)
            #expect(try await stream.withStream { $0.isOpen })

            try await stream.withStream { stream in
                stream.writeAndFlush(ByteBuffer(string: "reply"))
                stream.closeAfterFlush(.all)
            }
            let reply = try await blocking { try peer.receiveUntilEOF() }
            #expect(String(decoding: reply, as: UTF8.self) == "reply")
            try await stream.log.waitUntilClosed()
            #expect(stream.log.closes == [.closed(error: nil)])
            #expect(stream.log.events.filter { $0 == .inputClosed }.count == 1)
            try await server.stop()
        }
    }

    @Test func withoutHalfClosureThePeersEOFClosesTheStream() async throws {
        try await withSocketLoop("t-no-half-close") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port)
            defer { peer.close() }
            let stream = try await server.stream(0)

            try peer.send("request")
            peer.shutdownWrite()
            try await stream.log.waitUntilClosed()
            #expect(stream.log.text == "request")
            #expect(stream.log.closes == [.closed(error: nil)])
            #expect(!stream.log.events.contains(.inputClosed))
            #expect(try await blocking { try peer.receiveUntilEOF() } == [], "the peer should see the stream's EOF")
            #expect(try await stream.withStream { $0.isOpen } == false)
            try await server.stop()
        }
    }

    @Test func closeAfterFlushAllSendsEverythingQueuedBeforeTheEOF() async throws {
        try await withSocketLoop("t-close-all") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port, receiveBuffer: 65_536)
            defer { peer.close() }
            let stream = try await server.stream(0)

            let size = 8 << 20
            try await stream.queuePattern(count: size)
            let openAfterCall = try await stream.withStream { stream in
                stream.closeAfterFlush(.all)
                return stream.isOpen
            }
            #expect(openAfterCall, "closeAfterFlush(.all) closed with megabytes still queued")
            let received = try await blocking { try peer.receiveUntilEOF() }
            #expect(received.count == size)
            #expect(firstPatternMismatch(received) == nil)
            try await stream.log.waitUntilClosed()
            #expect(stream.log.closes == [.closed(error: nil)])
            try await server.stop()
        }
    }

    @Test func closeAfterFlushOutputSendsEOFAndKeepsReading() async throws {
        try await withSocketLoop("t-close-output") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port, receiveBuffer: 65_536)
            defer { peer.close() }
            let stream = try await server.stream(0)

            // More than the kernel's buffers take, so the shutdown has to wait for the queue.
            let size = 8 << 20
            try await stream.queuePattern(count: size)
            try await stream.withStream { $0.closeAfterFlush(.output) }
            let received = try await blocking { try peer.receiveUntilEOF() }
            #expect(received.count == size)
            #expect(firstPatternMismatch(received) == nil)
            #expect(try await stream.withStream { $0.isOpen }, "closing the output closed the whole stream")

            try peer.send("sent after the EOF")
            try await stream.log.waitUntil("the bytes sent after the EOF") { _, bytes in
                bytes == Array("sent after the EOF".utf8)
            }
            #expect(stream.log.closes.isEmpty)

            peer.close()
            try await stream.log.waitUntilClosed()
            #expect(stream.log.closes == [.closed(error: nil)])
            try await server.stop()
        }
    }

    enum ResetMoment: String, CaseIterable, Sendable {
        case whileIdle, rightAfterSendingBytes, whileTheStreamHasWritesQueued
    }

    @Test(arguments: ResetMoment.allCases)
    func aPeerResetClosesTheStreamExactlyOnce(moment: ResetMoment) async throws {
        try await withSocketLoop("t-reset") { loop in
            let server = try await TestServer.start(on: loop)
            let peer = try PeerSocket.connect(to: server.port, receiveBuffer: 65_536)
            let stream = try await server.stream(0)
            switch moment {
            case .whileIdle:
                break
            case .rightAfterSendingBytes:
                try peer.send(patternBytes(0..<10_000))
            case .whileTheStreamHasWritesQueued:
                try await stream.queuePattern(count: 8 << 20)
                try await stream.withStream { $0.flush() }
            }
            peer.reset()
            try await stream.log.waitUntilClosed()

            // Nothing a user does after the close may bring a second report.
            try await stream.withStream { stream in
                stream.close()
                stream.writeAndFlush(ByteBuffer(string: "late"))
                stream.closeAfterFlush(.all)
                stream.closeAfterFlush(.output)
                stream.holdReads(true)
                stream.holdReads(false)
            }
            try await loop.scheduleTask(in: .milliseconds(20)) {}.futureResult.get()
            #expect(stream.log.closes.count == 1, "streamClosed came \(stream.log.closes.count) times")
            #expect(stream.log.events.last?.isClose == true, "events after streamClosed: \(stream.log.events)")
            #expect(try await stream.withStream { $0.isOpen } == false)
            try await server.stop()
        }
    }

    /// After `streamInputClosed`, `readNow` returns at once (`inputClosed`), so the EPOLLHUP and
    /// EPOLLERR a reset brings go unread and the stream stays open on a dead connection until a
    /// write fails.
    @Test func aResetAfterTheInputClosedIsReported() async throws {
        try await withSocketLoop("t-reset-half-closed") { loop in
            let server = try await TestServer.start(on: loop) { $0.allowHalfClosure = true }
            let peer = try PeerSocket.connect(to: server.port)
            let stream = try await server.stream(0)
            peer.shutdownWrite()
            try await stream.log.waitUntil("streamInputClosed") { events, _ in events.contains(.inputClosed) }
            peer.reset()
            try await stream.log.waitUntilClosed(timeout: .seconds(3))
            try await server.stop()
        }
    }

    /// A write to a connection the peer has reset must give EPIPE, not a SIGPIPE that ends a
    /// process which never asked to ignore it.
    @Test func writingToAResetPeerDoesNotRaiseSIGPIPE() async {
        await #expect(processExitsWith: .success) {
            try await SIGPIPEScenario.run()
        }
    }
}

/// Forwards to the recording delegate and holds reads after the first `streamRead`.
private final class HoldAfterFirstRead: TCPStreamDelegate {
    private let recorder: TCPStreamDelegate?
    private weak var stream: TCPStream?
    private let firstRead: NIOLockedValueBox<Int>
    private var holding = true

    init(forwardingTo recorder: TCPStreamDelegate?, stream: TCPStream, firstRead: NIOLockedValueBox<Int>) {
        self.recorder = recorder
        self.stream = stream
        self.firstRead = firstRead
    }

    func streamRead(_ buffer: ByteBuffer) {
        recorder?.streamRead(buffer)
        if holding {
            holding = false
            firstRead.withLockedValue { $0 = buffer.readableBytes }
            stream?.holdReads(true)
        }
    }

    func streamReadComplete() { recorder?.streamReadComplete() }
    func streamWritabilityChanged(isWritable: Bool) { recorder?.streamWritabilityChanged(isWritable: isWritable) }
    func streamInputClosed() { recorder?.streamInputClosed() }
    func streamClosed(error: Error?) { recorder?.streamClosed(error: error) }
}

/// Runs in a child process with SIGPIPE at its default action, as in a `konnect` that has not
/// happened to open a NIOPosix socket (NIOPosix ignores SIGPIPE when it opens its first one).
enum SIGPIPEScenario {
    static func run() async throws {
        _ = sigpipeIgnored
        signal(SIGPIPE, SIG_DFL)
        try await withSocketLoop("t-sigpipe") { loop in
            let server = try await TestServer.start(on: loop) { $0.allowHalfClosure = true }
            let peer = try PeerSocket.connect(to: server.port)
            let stream = try await server.stream(0)
            // The stream's side is now in CLOSE_WAIT, where a reset leaves EPIPE as the socket's error.
            peer.shutdownWrite()
            try await stream.log.waitUntil("streamInputClosed") { events, _ in events.contains(.inputClosed) }
            peer.reset()
            for _ in 0..<20 {
                guard try await stream.withStream({ $0.isOpen }) else { break }
                try await stream.writeAndFlush("reply")
            }
            try await stream.log.waitUntilClosed()
            guard case .closed(error: .some) = stream.log.closes.first else {
                throw TimedOut(description: "the failed write closed the stream without an error: \(stream.log.events)")
            }
            try await server.stop()
        }
    }
}

// MARK: Connecting

private enum ConnectOutcome: Sendable {
    case connected(StreamHandle)
    case failed(any Error)
    case reportedOffTheLoop
}

/// Starts `TCPStream.connect` to 127.0.0.1:`port` from inside a loop task, then runs `thenOnLoop`
/// in that same task; `calls` counts how often the completion ran.
private func startConnect(on loop: SocketLoop, port: Int, timeout: TimeAmount = .seconds(10),
                          calls: NIOLockedValueBox<Int> = NIOLockedValueBox(0),
                          thenOnLoop: @escaping @Sendable () -> Void = {}) throws -> EventLoopFuture<ConnectOutcome> {
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
    let outcome = loop.makePromise(of: ConnectOutcome.self)
    loop.execute {
        TCPStream.connect(to: address, on: loop, timeout: timeout) { result in
            calls.withLockedValue { $0 += 1 }
            guard loop.inEventLoop else { return outcome.succeed(.reportedOffTheLoop) }
            switch result {
            case .success(let stream): outcome.succeed(.connected(StreamHandle(attachingTo: stream)))
            case .failure(let error): outcome.succeed(.failed(error))
            }
        }
        thenOnLoop()
    }
    return outcome.futureResult
}

@Suite struct TCPStreamConnectTests {
    @Test func connectingToAListeningPortGivesAWorkingStream() async throws {
        try await withSocketLoop("t-connect") { loop in
            let listener = try PeerListener()
            defer { listener.close() }
            let calls = NIOLockedValueBox(0)
            let future = try startConnect(on: loop, port: listener.port, calls: calls)
            let peer = try await blocking { try listener.accept() }
            defer { peer.close() }
            let outcome = try await future.get()
            guard case .connected(let stream) = outcome else {
                Issue.record("the connect did not succeed on the loop: \(outcome)")
                return
            }
            #expect(try await stream.withStream { $0.remoteIP } == "127.0.0.1")

            try peer.send("ping")
            try await stream.log.waitUntil("ping") { _, bytes in bytes == Array("ping".utf8) }
            try await stream.writeAndFlush("pong")
            #expect(try await blocking { try peer.receive(exactly: 4) } == Array("pong".utf8))
            #expect(calls.withLockedValue { $0 } == 1)
            try await stream.withStream { $0.close() }
        }
    }

    @Test func connectingToAClosedPortFailsWithConnectionRefusedOnTheLoop() async throws {
        try await withSocketLoop("t-refused") { loop in
            let port = try PeerListener.closedPort()
            let calls = NIOLockedValueBox(0)
            let outcome = try await startConnect(on: loop, port: port, timeout: .milliseconds(200), calls: calls).get()
            guard case .failed(let error) = outcome else {
                Issue.record("expected a refused connect reported on the loop, got \(outcome)")
                return
            }
            let ioError = try #require(error as? IOError, "expected an IOError, got \(error)")
            #expect(ioError.errnoCode == ECONNREFUSED)
            // Past the connect timeout: the timer was cancelled and reports nothing more.
            try await loop.scheduleTask(in: .milliseconds(400)) {}.futureResult.get()
            #expect(calls.withLockedValue { $0 } == 1)
        }
    }

    @Test func aConnectNobodyAnswersTimesOut() async throws {
        try await withSocketLoop("t-connect-timeout") { loop in
            // With a backlog of 0 the accept queue holds one connection; once it is taken, the
            // kernel drops further SYNs, so the next connect hears nothing back.
            let listener = try PeerListener(backlog: 0)
            defer { listener.close() }
            let filler = try PeerSocket.connect(to: listener.port)
            defer { filler.close() }
            let calls = NIOLockedValueBox(0)
            let outcome = try await startConnect(on: loop, port: listener.port, timeout: .milliseconds(300), calls: calls).get()
            guard case .failed(let error) = outcome, case ChannelError.connectTimeout(let amount)? = error as? ChannelError else {
                Issue.record("expected ChannelError.connectTimeout, got \(outcome)")
                return
            }
            #expect(amount == .milliseconds(300))
            #expect(calls.withLockedValue { $0 } == 1)
        }
    }

    /// The socket is edge-triggered: if the event that completes the connect also carries the
    /// peer's first bytes and they are not read then, no further event announces them.
    @Test func bytesThatArriveWithTheConnectionAreRead() async throws {
        try await withSocketLoop("t-connect-greeting") { loop in
            let listener = try PeerListener()
            defer { listener.close() }
            let accepted = NIOLockedValueBox<Result<PeerSocket, PeerError>?>(nil)
            let future = try startConnect(on: loop, port: listener.port) {
                // Still inside the task that started the connect: the loop sees neither the
                // established connection nor the greeting until this returns.
                accepted.withLockedValue { $0 = greet(listener) }
            }
            let outcome = try await future.get()
            let peer = try #require(accepted.withLockedValue { $0 }).get()
            defer { peer.close() }
            guard case .connected(let stream) = outcome else {
                Issue.record("the connect did not succeed on the loop: \(outcome)")
                return
            }
            try await stream.log.waitUntil("the greeting") { _, bytes in bytes == Array("hello".utf8) }
            try await stream.withStream { $0.close() }
        }
    }
}

/// Accepts one connection, sends "hello" on it, and waits until the other side's kernel has
/// acknowledged it (so it sits in that socket's receive queue).
private func greet(_ listener: PeerListener) -> Result<PeerSocket, PeerError> {
    do {
        let peer = try listener.accept()
        try peer.send("hello")
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while peer.unacknowledgedBytes > 0 && clock.now < deadline { sched_yield() }
        return .success(peer)
    } catch let error as PeerError {
        return .failure(error)
    } catch {
        return .failure(PeerError(call: "\(error)", code: 0))
    }
}

/// A stream carried to the test task so that it can be closed on its own loop at the end.
private struct UncheckedStream: @unchecked Sendable {
    // Only touched on `stream.loop`, through `submit`.
    let stream: TCPStream
    init(_ stream: TCPStream) { self.stream = stream }
}

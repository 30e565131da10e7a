import NIOCore
import NIOPosix

/// Sends DNS queries over UDP from one event loop and matches the answers to them.
///
/// One socket per address family, opened on first use and reused; each query gets a random
/// 16-bit id, and an answer counts only when it comes from a configured nameserver with that id
/// and the same question. Without an answer within `timeout`, the next nameserver is asked,
/// for `attempts` rounds over the list.
///
/// `@unchecked Sendable`: its state is only touched on `eventLoop`; the UDP sockets may live on
/// another loop (`socketLoop`, which must be a NIO loop), whose events hop to `eventLoop` first.
final class DNSClient: @unchecked Sendable {
    private struct Pending {
        let question: DNSQuestion
        let message: [UInt8]
        let promise: EventLoopPromise<DNSAnswer>
        var attempt = 0
        var timer: Scheduled<Void>?
    }

    private let eventLoop: EventLoop
    private let socketLoop: EventLoop
    private let nameservers: [SocketAddress]
    private let timeout: TimeAmount
    private let totalAttempts: Int
    private var channels: [NIOBSDSocket.ProtocolFamily: EventLoopFuture<Channel>] = [:]
    private var pending: [UInt16: Pending] = [:]

    init(eventLoop: EventLoop, socketLoop: EventLoop, nameservers: [SocketAddress], timeout: TimeAmount, attempts: Int) {
        precondition(!nameservers.isEmpty, "a DNS client needs at least one nameserver")
        self.eventLoop = eventLoop
        self.socketLoop = socketLoop
        self.nameservers = nameservers
        self.timeout = timeout
        self.totalAttempts = max(1, attempts) * nameservers.count
    }

    /// Asks the nameservers `question`. The future always succeeds: timeouts and socket errors
    /// come back as `.failure`, so that the cache can remember them like any other answer.
    func query(_ question: DNSQuestion) -> EventLoopFuture<DNSAnswer> {
        eventLoop.preconditionInEventLoop()
        var id = UInt16.random(in: .min ... .max)
        while pending[id] != nil { id &+= 1 }
        let message: [UInt8]
        do {
            message = try DNSMessage.query(id: id, question).encoded()
        } catch {
            return eventLoop.makeSucceededFuture(.failure("\(error)"))
        }
        let promise = eventLoop.makePromise(of: DNSAnswer.self)
        pending[id] = Pending(question: question, message: message, promise: promise)
        send(id)
        return promise.futureResult
    }

    /// Sends attempt `pending[id].attempt` to the nameserver whose turn it is and arms its timer.
    private func send(_ id: UInt16) {
        guard var query = pending[id] else { return }
        let server = nameservers[query.attempt % nameservers.count]
        query.timer = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            retryOrFail(id, reason: "no answer from \(nameserverList) after \(totalAttempts) attempt(s)")
        }
        pending[id] = query
        let bytes = query.message
        channel(for: server).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                let envelope = AddressedEnvelope(remoteAddress: server, data: channel.allocator.buffer(bytes: bytes))
                channel.writeAndFlush(envelope, promise: nil)
            case .failure(let error):
                finish(id, .failure("cannot open a UDP socket to ask \(server): \(error)"))
            }
        }
    }

    private func retryOrFail(_ id: UInt16, reason: String) {
        guard var query = pending[id] else { return }
        query.timer?.cancel()
        query.attempt += 1
        pending[id] = query
        if query.attempt < totalAttempts {
            send(id)
        } else {
            finish(id, .failure(reason))
        }
    }

    private func finish(_ id: UInt16, _ answer: DNSAnswer) {
        guard let query = pending.removeValue(forKey: id) else { return }
        query.timer?.cancel()
        query.promise.succeed(answer)
    }

    private func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard nameservers.contains(envelope.remoteAddress),
              let message = try? DNSMessage(decoding: Array(envelope.data.readableBytesView)),
              message.isResponse,
              let query = pending[message.id],
              message.questions == [query.question]
        else { return }
        let answer = message.answer(to: query.question)
        if case .failure(let reason) = answer {
            retryOrFail(message.id, reason: "\(envelope.remoteAddress): \(reason)")
        } else {
            finish(message.id, answer)
        }
    }

    private func closed(_ family: NIOBSDSocket.ProtocolFamily) {
        channels[family] = nil
        let ids = pending.keys
        for id in ids { finish(id, .failure("the DNS socket closed")) }
    }

    private var nameserverList: String {
        nameservers.map { "\($0.ipAddress ?? "?"):\($0.port ?? 53)" }.joined(separator: ", ")
    }

    private func channel(for server: SocketAddress) -> EventLoopFuture<Channel> {
        let family = server.protocol
        if let channel = channels[family] { return channel }
        let eventLoop = self.eventLoop
        let handler = DNSClientHandler(
            onRead: { [weak self] envelope in
                guard let self else { return }
                eventLoop.execute { self.received(envelope) }
            },
            onClose: { [weak self] in
                guard let self else { return }
                eventLoop.execute { self.closed(family) }
            }
        )
        let channel = DatagramBootstrap(group: socketLoop)
            .bind(host: family == .inet6 ? "::" : "0.0.0.0", port: 0)
            .flatMapThrowing { channel in
                try channel.pipeline.syncOperations.addHandler(handler)
                return channel
            }
            .hop(to: eventLoop)
        channels[family] = channel
        channel.assumeIsolated().whenFailure { [weak self] _ in self?.channels[family] = nil }
        return channel
    }
}

/// Hands datagrams from the DNS socket to its `DNSClient`.
private final class DNSClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let onRead: @Sendable (AddressedEnvelope<ByteBuffer>) -> Void
    private let onClose: @Sendable () -> Void

    init(onRead: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.onRead = onRead
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onRead(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }

    /// A datagram error (an ICMP port unreachable, say) concerns one query; its timer handles it.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}

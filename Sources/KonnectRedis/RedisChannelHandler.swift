import NIOCore
import NIOTLS

/// One or more encoded commands, written together, and the promise for their replies in order.
struct RedisRequest {
    var bytes: ByteBuffer
    var count: Int
    var promise: EventLoopPromise<[RESPValue]>

    /// Writes the request on `channel`; if the channel is already gone, fails it as closed.
    func write(on channel: any Channel) {
        channel.writeAndFlush(self).whenFailure { [promise] _ in
            promise.fail(RedisError.connectionClosed)
        }
    }
}

/// Matches replies to requests first-in first-out on one connection.
///
/// Replies carry no request id, so once one reply is missing or malformed every later one may be
/// mismatched: a late reply, a protocol error or a broken socket therefore fails every waiting
/// request and closes the connection. One timer per connection watches the oldest request only.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var promise: EventLoopPromise<[RESPValue]>
        var count: Int
        var deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    /// Told once, before waiting requests are failed, so the pool stops handing out this connection.
    private let onClose: @Sendable () -> Void
    /// Completed when the TLS handshake finishes, or failed with its cause; `nil` without TLS.
    private var handshake: EventLoopPromise<Void>?

    private var waiting = CircularBuffer<Waiting>()
    /// Replies gathered so far for the oldest waiting request.
    private var replies: [RESPValue] = []
    private var parser = RESPParser()
    private var inbound: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var closed = false

    init(commandTimeout: TimeAmount, handshake: EventLoopPromise<Void>?, onClose: @escaping @Sendable () -> Void) {
        self.commandTimeout = commandTimeout
        self.handshake = handshake
        self.onClose = onClose
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            request.promise.fail(RedisError.connectionClosed)
            promise?.fail(RedisError.connectionClosed)
            return
        }
        let deadline = context.eventLoop.now + commandTimeout
        waiting.append(Waiting(promise: request.promise, count: request.count, deadline: deadline))
        armTimer(context: context)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var buffer = unwrapInboundIn(data)
        if var pending = inbound.take() {
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        do {
            while let value = try parser.next(from: &buffer) {
                try deliver(value)
            }
        } catch {
            fail(error, cause: nil, context: context)
            return
        }
        if buffer.readableBytes > 0 {
            if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
            inbound = buffer
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed, cause: nil, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error as? RedisError ?? .connectionClosed, cause: error, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshake.take()?.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(.connectionClosed, cause: nil, context: context)
    }

    /// Adds `value` to the oldest waiting request's replies, completing it when all have come.
    private func deliver(_ value: RESPValue) throws(RedisError) {
        guard let oldest = waiting.first else {
            throw .protocolError("reply with no command waiting for it: \(String(describing: value).prefix(200))")
        }
        replies.append(value)
        guard replies.count == oldest.count else { return }
        waiting.removeFirst()
        let done = replies
        replies = []
        oldest.promise.succeed(done)
    }

    /// Makes sure a timer is set while requests wait. It fires at the oldest request's deadline; if
    /// that one was answered meanwhile, it sets itself again for the new oldest.
    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let oldest = waiting.first else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: oldest.deadline) { [self] in
            timer = nil
            guard let oldest = waiting.first else { return }
            if oldest.deadline <= context.eventLoop.now {
                fail(.timeout(commandTimeout), cause: nil, context: context)
            } else {
                armTimer(context: context)
            }
        }
    }

    /// Ends the connection: fails every waiting request with `error` and closes the channel.
    /// `cause` is the underlying error, given to a pending TLS handshake so it can be reported.
    private func fail(_ error: RedisError, cause: Error?, context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        inbound = nil
        onClose()
        context.close(promise: nil)
        handshake.take()?.fail(cause ?? error)
        let failed = waiting
        waiting.removeAll()
        replies = []
        for request in failed {
            request.promise.fail(error)
        }
    }
}

import NIOCore
import KonnectHTTP1
import NIOPosix

/// Identifies interchangeable upstream connections: same host name (or address) and port.
struct PoolKey: Hashable, Sendable {
    let host: String
    let port: Int
}

/// Keep-alive upstream connections of one event loop, so a request never leaves its thread.
///
/// Only touched on its event loop.
final class UpstreamPool {
    private let eventLoop: EventLoop
    private let settings: ProxySettings
    /// Idle connections per key, most recently used last. The lists are objects so taking and
    /// returning a connection mutates a list without going through the dictionary's mutating
    /// accessors (which allocate).
    private var idle: [PoolKey: IdleList] = [:]
    private var sweeper: Scheduled<Void>?
    let resolver: NameResolver

    init(eventLoop: EventLoop, settings: ProxySettings, resolver: NameResolver) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.resolver = resolver
    }

    /// The most recently used live idle connection for `key`, if any.
    func takeIdle(_ key: PoolKey) -> UpstreamConnection? {
        guard let list = idle[key] else { return nil }
        while let connection = list.connections.popLast() {
            if connection.isUsable { return connection }
            connection.close()
        }
        return nil
    }

    /// Returns a connection after a complete exchange; closes it when the pool is full or closing.
    func release(_ connection: UpstreamConnection) {
        guard connection.isUsable, connection.requestCount < settings.upstreamKeepaliveMaxRequests else {
            connection.close()
            return
        }
        connection.idleSince = .now()
        if let list = idle[connection.key] {
            guard list.connections.count < settings.upstreamKeepalivePoolSize else {
                connection.close()
                return
            }
            list.connections.append(connection)
        } else {
            idle[connection.key] = IdleList(connection)
        }
        startSweeperIfNeeded()
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: UpstreamConnection) {
        guard let list = idle[connection.key],
              let index = list.connections.firstIndex(where: { $0 === connection }) else { return }
        list.connections.remove(at: index)
    }

    /// Opens a new connection to `target` on this event loop; `attach(_:)` then yields its handler.
    func connect(_ target: TargetAddress, timeout: TimeAmount) -> EventLoopFuture<Channel> {
        let addressFuture: EventLoopFuture<SocketAddress>
        if let address = target.address {
            addressFuture = eventLoop.makeSucceededFuture(address)
        } else {
            addressFuture = resolver.resolve(host: target.host, port: target.port, on: eventLoop)
        }
        let key = target.poolKey
        let eventLoop = self.eventLoop
        return addressFuture.flatMap { address in
            ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.allowRemoteHalfClosure, value: false)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UpstreamConnection(key: key, maxHeadSize: 80 * 1024))
                    }
                }
                .connect(to: address)
        }
    }

    /// The handler of a channel opened by `connect`, tied to this pool; call on the event loop.
    func attach(_ channel: Channel) throws -> UpstreamConnection {
        let connection = try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self)
        connection.pool = self
        return connection
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        let all = idle.values.flatMap(\.connections)
        idle.removeAll()
        sweeper?.cancel()
        sweeper = nil
        for connection in all { connection.close() }
    }

    private func startSweeperIfNeeded() {
        guard sweeper == nil else { return }
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: .seconds(5)) { [self] in
            sweeper = nil
            let cutoff = NIODeadline.now() - settings.upstreamKeepaliveTimeout
            for (key, list) in idle {
                let (keep, expired) = list.connections.partitioned(by: { $0.idleSince > cutoff && $0.isUsable })
                for connection in expired { connection.close() }
                if keep.isEmpty { idle[key] = nil } else { list.connections = keep }
            }
            if !idle.isEmpty { startSweeperIfNeeded() }
        }
    }
}

/// The idle connections of one pool key.
private final class IdleList {
    var connections: [UpstreamConnection]

    init(_ first: UpstreamConnection) {
        connections = [first]
        connections.reserveCapacity(8)
    }
}

extension Array {
    /// The elements that satisfy `predicate`, and those that do not, each in order.
    fileprivate func partitioned(by predicate: (Element) -> Bool) -> ([Element], [Element]) {
        var yes: [Element] = [], no: [Element] = []
        for element in self {
            if predicate(element) { yes.append(element) } else { no.append(element) }
        }
        return (yes, no)
    }
}

/// What an upstream connection reports to the exchange that currently owns it.
protocol UpstreamConnectionOwner: AnyObject {
    func upstreamHead(_ head: HTTP1Head, framing: HTTP1Decoder.Framing)
    func upstreamBody(_ buffer: ByteBuffer)
    func upstreamEnd(trailers: ByteBuffer?)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    func upstreamClosed(error: Error?)
}

/// The only handler of an upstream channel: decodes responses with `HTTP1Decoder`, hands their
/// parts to its owner, and lets the owner hold reads while the client cannot take more bytes.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let key: PoolKey
    weak var pool: UpstreamPool?
    var owner: UpstreamConnectionOwner?
    var requestCount = 0
    var idleSince = NIODeadline.now()
    /// Set once it was reused from the pool, so a failure before any response can be retried.
    var wasReused = false
    private var context: ChannelHandlerContext?
    private var decoder: HTTP1Decoder
    private var inbound = UpstreamConnection.empty
    private var readsHeld = false
    private var readPending = false
    private var closed = false
    private var pendingError: Error?

    private static let empty = ByteBuffer()

    init(key: PoolKey, maxHeadSize: Int) {
        self.key = key
        self.decoder = HTTP1Decoder(kind: .response, maxHeadSize: maxHeadSize, maxFieldCount: 1000)
    }

    /// Liveness and writability are tracked from channel events, so the hot path never asks the channel.
    var isUsable: Bool { !closed && decoder.isBetweenMessages && inbound.readableBytes == 0 }
    private(set) var isWritable = true

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Prepares the decoder for the response to the request about to be written.
    func expectResponse(toHEAD: Bool) {
        decoder.expectResponse(toHEAD: toHEAD)
    }

    func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    func flush() { context?.flush() }

    func close() {
        guard !closed else { return }
        closed = true
        context?.close(promise: nil)
    }

    /// Stops or resumes reading from the upstream socket (back-pressure from the client side).
    func holdReads(_ hold: Bool) {
        readsHeld = hold
        if !hold, readPending, let context {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld { readPending = true } else { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard owner != nil else {
            close()  // bytes on an idle connection: it cannot be trusted with another request
            return
        }
        if inbound.readableBytes == 0 { inbound = buffer } else { inbound.writeBuffer(&buffer) }
        decodeEvents()
    }

    private func decodeEvents() {
        do {
            while let owner, let event = try decoder.next(&inbound) {
                switch event {
                case .head(let head): owner.upstreamHead(head, framing: decoder.framing)
                case .body(let body): owner.upstreamBody(body)
                case .end(let trailers): owner.upstreamEnd(trailers: trailers)
                }
            }
        } catch {
            pendingError = error
            close()
        }
        if inbound.readableBytes == 0 {
            inbound = Self.empty
        } else if owner == nil {
            close()  // bytes after a complete response: the connection is out of step
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { owner?.upstreamReadComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        owner?.upstreamWritabilityChanged(isWritable: isWritable)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        pendingError = error
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        pool?.remove(self)
        if let owner, pendingError == nil {
            // A body delimited by the close ends here.
            if let event = try? decoder.inputClosed(remaining: inbound), case .end(let trailers) = event {
                owner.upstreamEnd(trailers: trailers)
            }
        }
        if let owner {
            self.owner = nil
            owner.upstreamClosed(error: pendingError)
        }
        self.context = nil
    }
}

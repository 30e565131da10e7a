import NIOCore
import NIOHTTP1
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
    private var idle: [PoolKey: [UpstreamConnection]] = [:]
    private var sweeper: Scheduled<Void>?
    let resolver: NameResolver

    init(eventLoop: EventLoop, settings: ProxySettings, resolver: NameResolver) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.resolver = resolver
    }

    /// The most recently used live idle connection for `key`, if any.
    func takeIdle(_ key: PoolKey) -> UpstreamConnection? {
        while let connection = idle[key]?.popLast() {
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
        if (idle[connection.key]?.count ?? 0) >= settings.upstreamKeepalivePoolSize {
            connection.close()
            return
        }
        idle[connection.key, default: []].append(connection)  // in place: no copy of the list
        startSweeperIfNeeded()
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: UpstreamConnection) {
        guard var list = idle[connection.key], let index = list.firstIndex(where: { $0 === connection }) else { return }
        list.remove(at: index)
        idle[connection.key] = list.isEmpty ? nil : list
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
                        let sync = channel.pipeline.syncOperations
                        try sync.addHTTPClientHandlers(
                            leftOverBytesStrategy: .dropBytes,
                            enableOutboundHeaderValidation: false,
                            encoderConfiguration: .noFramingTransformation
                        )
                        try sync.addHandler(UpstreamConnection(key: key))
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
        let all = idle.values.flatMap { $0 }
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
                let keep = list.filter { $0.idleSince > cutoff && $0.isUsable }
                for connection in list where !keep.contains(where: { $0 === connection }) { connection.close() }
                idle[key] = keep.isEmpty ? nil : keep
            }
            if !idle.isEmpty { startSweeperIfNeeded() }
        }
    }
}

extension HTTPRequestEncoder.Configuration {
    /// Konnect sets Content-Length / Transfer-Encoding itself for every upstream request.
    static var noFramingTransformation: Self {
        var configuration = Self()
        configuration.automaticallySetFramingHeaders = false
        return configuration
    }
}

/// What an upstream connection reports to the exchange that currently owns it.
protocol UpstreamConnectionOwner: AnyObject {
    func upstreamRead(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    func upstreamClosed(error: Error?)
}

/// The last handler of an upstream channel: hands response parts to its owner and lets the
/// owner hold reads while the client cannot take more bytes.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let key: PoolKey
    weak var pool: UpstreamPool?
    var owner: UpstreamConnectionOwner?
    var requestCount = 0
    var idleSince = NIODeadline.now()
    /// Set once it was reused from the pool, so a failure before any response can be retried.
    var wasReused = false
    private var context: ChannelHandlerContext?
    private var readsHeld = false
    private var readPending = false
    private var closed = false
    private var pendingError: Error?

    init(key: PoolKey) { self.key = key }

    var isUsable: Bool { !closed && (context?.channel.isActive ?? false) }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
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
        let part = unwrapInboundIn(data)
        if let owner { owner.upstreamRead(part) } else { close() }  // bytes on an idle connection: unusable
    }

    func channelReadComplete(context: ChannelHandlerContext) { owner?.upstreamReadComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        pendingError = error
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        pool?.remove(self)
        if let owner {
            self.owner = nil
            owner.upstreamClosed(error: pendingError)
        }
        self.context = nil
    }
}

import KonnectHTTP1
import KonnectIO
import NIOCore

/// Identifies interchangeable upstream connections: same host name (or address) and port.
/// Its hash is worked out once, when the configuration is compiled, since every request looks
/// its key up twice (taking a connection and giving it back).
struct PoolKey: Hashable, Sendable {
    let host: String
    let port: Int
    private let hashValueOfHostAndPort: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
        var hasher = Hasher()
        hasher.combine(host)
        hasher.combine(port)
        hashValueOfHostAndPort = hasher.finalize()
    }

    static func == (lhs: PoolKey, rhs: PoolKey) -> Bool {
        lhs.hashValueOfHostAndPort == rhs.hashValueOfHostAndPort && lhs.port == rhs.port && lhs.host == rhs.host
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hashValueOfHostAndPort)
    }
}

/// Keep-alive upstream connections of one event loop, so a request never leaves its thread.
///
/// Only touched on its event loop.
final class UpstreamPool {
    private let eventLoop: SocketLoop
    private let settings: ProxySettings
    /// Idle connections per key, most recently used last. The lists are objects so taking and
    /// returning a connection mutates a list without going through the dictionary's mutating
    /// accessors (which allocate).
    private var idle: [PoolKey: IdleList] = [:]
    private var sweeper: Scheduled<Void>?
    let resolver: NameResolver

    init(eventLoop: SocketLoop, settings: ProxySettings, resolver: NameResolver) {
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
        connection.idleSince = eventLoop.eventTime
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

    /// Opens a new connection to `target` from this event loop (resolving its host name first
    /// when it has no address); `done` runs on the loop.
    func connect(_ target: TargetAddress, timeout: TimeAmount, _ done: @escaping (Result<UpstreamConnection, Error>) -> Void) {
        let key = target.poolKey
        let open = { [self] (address: SocketAddress) in
            TCPStream.connect(to: address, on: eventLoop, timeout: timeout) { [self] result in
                done(result.map { UpstreamConnection(stream: $0, key: key, pool: self, maxHeadSize: 80 * 1024) })
            }
        }
        if let address = target.address {
            open(address)
            return
        }
        resolver.resolve(host: target.host, port: target.port, on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let address): open(address)
            case .failure(let error): done(.failure(error))
            }
        }
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

/// One upstream connection: decodes responses with `HTTP1Decoder`, hands their parts to its
/// owner, and lets the owner hold reads while the client cannot take more bytes.
final class UpstreamConnection: TCPStreamDelegate {
    let key: PoolKey
    private let stream: TCPStream
    /// Unowned, not weak: the pool lives as long as its loop, and a weak reference would move the
    /// pool's reference count to a side table, which makes every retain of it slower.
    private unowned let pool: UpstreamPool
    /// The exchange using the connection; it gets the response's parts. Nil while pooled.
    var owner: ProxyHandler?
    var requestCount = 0
    var idleSince = NIODeadline.now()
    /// Set once it was reused from the pool, so a failure before any response can be retried.
    var wasReused = false
    private var decoder: HTTP1Decoder
    private var inbound = UpstreamConnection.empty
    private var closed = false
    private var pendingError: Error?

    private static let empty = ByteBuffer()

    init(stream: TCPStream, key: PoolKey, pool: UpstreamPool, maxHeadSize: Int) {
        self.stream = stream
        self.key = key
        self.pool = pool
        self.decoder = HTTP1Decoder(kind: .response, maxHeadSize: maxHeadSize, maxFieldCount: 1000)
        stream.delegate = self
    }

    var isUsable: Bool { !closed && decoder.isBetweenMessages && inbound.readableBytes == 0 }
    var isWritable: Bool { stream.isWritable }

    /// Prepares the decoder for the response to the request about to be written.
    func expectResponse(toHEAD: Bool) {
        decoder.expectResponse(toHEAD: toHEAD)
    }

    func write(_ buffer: ByteBuffer) { stream.write(buffer) }

    func flush() { stream.flush() }

    func writeAndFlush(_ buffer: ByteBuffer) { stream.writeAndFlush(buffer) }

    func close() {
        guard !closed else { return }
        closed = true
        stream.close()
    }

    /// Stops or resumes reading from the upstream socket (back-pressure from the client side).
    func holdReads(_ hold: Bool) { stream.holdReads(hold) }

    func streamRead(_ buffer: ByteBuffer) {
        var buffer = buffer
        guard owner != nil else {
            close()  // bytes on an idle connection: it cannot be trusted with another request
            return
        }
        if inbound.readableBytes == 0 { inbound = buffer } else { inbound.writeBuffer(&buffer) }
        decodeEvents()
    }

    private func decodeEvents() {
        // One reference to the owner for the whole batch; a response that ends gives the
        // connection back to the pool, which clears `owner` and ends the batch.
        guard let owner else { return close() }
        do {
            while self.owner === owner, let event = try decoder.next(&inbound) {
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
        } else if self.owner !== owner {
            close()  // bytes after a complete response: the connection is out of step
        }
    }

    func streamReadComplete() { owner?.upstreamReadComplete() }

    func streamWritabilityChanged(isWritable: Bool) {
        owner?.upstreamWritabilityChanged(isWritable: isWritable)
    }

    /// Upstreams are not half-closed: the stream closes when the peer stops sending.
    func streamInputClosed() {}

    func streamClosed(error: Error?) {
        if pendingError == nil { pendingError = error }
        closed = true
        pool.remove(self)
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
    }
}

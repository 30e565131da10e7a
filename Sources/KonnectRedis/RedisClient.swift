import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// A pooled, pipelining Redis client, safe to share between event loops and tasks.
///
/// Connections open lazily, up to `maxConnections`; each carries many commands in flight, replies
/// matched in order. A command that gets no reply within `commandTimeout` fails with
/// `RedisError.timeout` and takes its connection down with it; a broken connection fails its
/// commands at once; the next command opens a fresh connection, so the client recovers from a
/// server restart on its own. Call `shutdown()` when done: the client does not own its
/// `EventLoopGroup`, but its connections live on it.
///
/// Futures complete on the event loop of the connection that carried the command. In an `async`
/// context the `async` overloads of `send` are chosen; annotate the type
/// (`let f: EventLoopFuture<RESPValue> = client.send(...)`) to get a future there.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let tlsContext: Result<NIOSSLContext, any Error>?
    private let pool: NIOLockedValueBox<RedisPoolState<RedisConnection>>

    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.pool = NIOLockedValueBox(RedisPoolState(maxConnections: configuration.maxConnections))
        if configuration.tls {
            self.tlsContext = Result { try NIOSSLContext(configuration: Self.tlsConfiguration(for: configuration)) }
        } else {
            self.tlsContext = nil
        }
    }

    /// Connections open or opening right now.
    public var connectionCount: Int {
        pool.withLockedValue { $0.entries.count }
    }

    // MARK: Commands

    /// Sends one command (name then arguments) and returns its reply; an error reply fails the
    /// future with `RedisError.server`.
    public func send(_ command: [String]) -> EventLoopFuture<RESPValue> {
        send([command]).flatMapThrowing { replies in
            try replies[0].throwingServerError()
        }
    }

    /// Sends `commands` pipelined, in one write on one connection, and returns their replies in the
    /// same order. An error reply does not fail the batch: it comes back as a `RESPValue.error` at
    /// its command's position (see `RESPValue.throwingServerError()`), so the caller sees which
    /// command failed. The future fails only when the batch as a whole could not be answered
    /// (timeout, connection lost, connect error).
    public func send(_ commands: [[String]]) -> EventLoopFuture<[RESPValue]> {
        guard !commands.isEmpty else { return group.any().makeSucceededFuture([]) }
        if let index = commands.firstIndex(where: \.isEmpty) {
            return group.any().makeFailedFuture(RedisError.invalidCommand("command \(index) of the batch is empty"))
        }

        let lease = pool.withLockedValue { pool in
            pool.lease { id in RedisConnection(id: id, eventLoop: self.group.next()) }
        }
        let connection: RedisConnection
        switch lease {
        case .closed:
            return group.any().makeFailedFuture(RedisError.clientClosed)
        case .existing(let existing):
            connection = existing
        case .new(let new):
            connection = new
            new.start(configuration: configuration, tlsContext: tlsContext) { [pool, id = new.id] in
                pool.withLockedValue { $0.remove(id: id) }
            }
        }

        var bytes = ByteBufferAllocator().buffer(
            capacity: commands.reduce(0) { $0 + RESPEncoder.estimatedSize(of: $1) })
        for command in commands {
            RESPEncoder.encode(command, into: &bytes)
        }
        let replies = connection.send(bytes, count: commands.count)
        replies.whenComplete { [pool, id = connection.id] _ in
            pool.withLockedValue { $0.release(id: id) }
        }
        return replies
    }

    /// Sends one command and returns its reply; an error reply throws `RedisError.server`.
    public func send(_ command: [String]) async throws -> RESPValue {
        try await send(command).get()
    }

    /// Sends `commands` pipelined and returns their replies in order, error replies included as
    /// `RESPValue.error` (see the future-returning variant).
    public func send(_ commands: [[String]]) async throws -> [RESPValue] {
        try await send(commands).get()
    }

    // MARK: Scripts

    /// Runs `script` with `EVALSHA`; if the server does not have it cached (`NOSCRIPT`), sends it
    /// whole with `EVAL`, which also caches it for next time.
    public func eval(_ script: RedisScript, keys: [String] = [], arguments: [String] = []) -> EventLoopFuture<RESPValue> {
        let tail = [String(keys.count)] + keys + arguments
        return send(["EVALSHA", script.sha1] + tail).flatMapError { error in
            guard case RedisError.server(let message) = error, message.hasPrefix("NOSCRIPT") else {
                return self.group.any().makeFailedFuture(error)
            }
            return self.send(["EVAL", script.source] + tail)
        }
    }

    /// Runs `script` as `eval(_:keys:arguments:)` does.
    public func eval(_ script: RedisScript, keys: [String] = [], arguments: [String] = []) async throws -> RESPValue {
        try await eval(script, keys: keys, arguments: arguments).get()
    }

    // MARK: Shutdown

    /// Closes every connection, failing the commands still waiting on them; later commands fail
    /// with `RedisError.clientClosed`. The future completes once all connections are closed.
    public func close() -> EventLoopFuture<Void> {
        let connections = pool.withLockedValue { $0.close() }
        let loop = group.any()
        return EventLoopFuture.andAllComplete(connections.map { $0.close() }, on: loop)
    }

    /// Closes every connection, as `close()` does, and waits for them to close.
    public func shutdown() async {
        try? await close().get()
    }

    // MARK: TLS

    private static func tlsConfiguration(for configuration: RedisConfiguration) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = configuration.tlsVerify ? .fullVerification : .none
        if let path = configuration.tlsTrustedCertificatesPath {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        }
        return tls
    }
}

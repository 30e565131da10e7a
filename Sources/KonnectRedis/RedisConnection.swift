#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import NIOSSL

/// One pooled connection. Commands given to it before it is ready wait until the TCP connection,
/// the TLS handshake and the set-up commands (`AUTH`, `SELECT`) have all succeeded, and fail with
/// their error otherwise.
final class RedisConnection: Sendable {
    let id: Int
    let eventLoop: any EventLoop
    private let ready: EventLoopPromise<any Channel>

    init(id: Int, eventLoop: any EventLoop) {
        self.id = id
        self.eventLoop = eventLoop
        self.ready = eventLoop.makePromise()
    }

    /// Opens the connection. `onClose` is called when it closes or fails to open, maybe more than once.
    func start(configuration: RedisConfiguration, tlsContext: Result<NIOSSLContext, any Error>?,
               onClose: @escaping @Sendable () -> Void) {
        let endpoint = configuration.endpoint
        let eventLoop = self.eventLoop
        let sslContext: NIOSSLContext?
        do {
            sslContext = configuration.tls ? try tlsContext?.get() : nil
        } catch {
            onClose()
            ready.fail(RedisError.connect(endpoint: endpoint, reason: "invalid TLS settings: \(error)"))
            return
        }
        let handshake: EventLoopPromise<Void>? = sslContext == nil ? nil : eventLoop.makePromise()
        let sniName = configuration.serverName ?? (Self.isIPAddress(configuration.host) ? nil : configuration.host)
        let commandTimeout = configuration.commandTimeout

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: sniName)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    let handler = RedisChannelHandler(commandTimeout: commandTimeout, handshake: handshake,
                                                      onClose: onClose)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        bootstrap.connect(host: configuration.host, port: configuration.port)
            .flatMapError { error -> EventLoopFuture<any Channel> in
                handshake?.fail(error)
                return eventLoop.makeFailedFuture(
                    RedisError.connect(endpoint: endpoint, reason: Self.describe(connectError: error)))
            }
            .flatMap { channel in
                guard let handshake else { return eventLoop.makeSucceededFuture(channel) }
                return Self.awaitHandshake(handshake, on: channel, timeout: configuration.connectTimeout,
                                           endpoint: endpoint)
            }
            .flatMap { channel in
                Self.setUp(channel, configuration: configuration)
            }
            .whenComplete { [ready] result in
                if case .failure = result { onClose() }
                ready.completeWith(result)
            }
    }

    /// Writes `count` encoded commands in one flush; the replies come back in order.
    func send(_ bytes: ByteBuffer, count: Int) -> EventLoopFuture<[RESPValue]> {
        ready.futureResult.flatMap { channel in
            let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
            RedisRequest(bytes: bytes, count: count, promise: promise).write(on: channel)
            return promise.futureResult
        }
    }

    /// Closes the connection once it is open (at once if it already is); never fails.
    func close() -> EventLoopFuture<Void> {
        ready.futureResult
            .flatMap { channel in channel.close() }
            .recover { _ in }
    }

    /// Waits for the TLS handshake, for at most `timeout`.
    private static func awaitHandshake(_ handshake: EventLoopPromise<Void>, on channel: any Channel,
                                       timeout: TimeAmount, endpoint: String) -> EventLoopFuture<any Channel> {
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            handshake.fail(RedisError.connect(
                endpoint: endpoint, reason: "TLS handshake timed out after \(timeout.nanoseconds / 1_000_000) ms"))
        }
        return handshake.futureResult
            .map { channel }
            .flatMapError { error in
                timer.cancel()
                channel.close(promise: nil)
                let redisError = error as? RedisError
                if case .connect = redisError { return channel.eventLoop.makeFailedFuture(error) }
                let reason = redisError == .connectionClosed ? "connection closed" : "\(error)"
                return channel.eventLoop.makeFailedFuture(
                    RedisError.connect(endpoint: endpoint, reason: "TLS handshake failed: \(reason)"))
            }
            .always { _ in timer.cancel() }
    }

    /// Sends `AUTH` and `SELECT` as the configuration asks, before any other command.
    private static func setUp(_ channel: any Channel, configuration: RedisConfiguration) -> EventLoopFuture<any Channel> {
        var commands: [[String]] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(["AUTH", username, password])
            } else {
                commands.append(["AUTH", password])
            }
        }
        if configuration.database != 0 {
            commands.append(["SELECT", String(configuration.database)])
        }
        guard !commands.isEmpty else { return channel.eventLoop.makeSucceededFuture(channel) }
        let names = commands.map { $0[0] }

        var bytes = channel.allocator.buffer(capacity: 128)
        for command in commands {
            RESPEncoder.encode(command, into: &bytes)
        }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        RedisRequest(bytes: bytes, count: commands.count, promise: promise).write(on: channel)
        return promise.futureResult
            .flatMapThrowing { replies in
                for (name, reply) in zip(names, replies) {
                    if case .error(let message) = reply {
                        throw RedisError.setupFailed(command: name, message: message)
                    }
                }
                return channel
            }
            .flatMapError { error in
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(error)
            }
    }

    /// A short reason for a failed TCP connect: "Connection refused", "connect timed out after 2000 ms".
    static func describe(connectError error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let dnsError = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve host: \(dnsError)"
            }
            if let first = error.connectionErrors.first {
                return describe(connectError: first.error)
            }
            return "no address to connect to"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case ChannelError.connectTimeout(let amount):
            return "connect timed out after \(amount.nanoseconds / 1_000_000) ms"
        default:
            return "\(error)"
        }
    }

    /// Whether `host` is an IPv4 or IPv6 literal, which SNI may not carry.
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

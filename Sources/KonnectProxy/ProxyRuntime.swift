import Atomics
import KonnectConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The running data plane: event loops, their per-loop state, the listener, and the current
/// configuration snapshot.
public final class ProxyRuntime: Sendable {
    public let settings: ProxySettings
    public let group: MultiThreadedEventLoopGroup
    let loops: [LoopContext]
    private let logger: Logger
    private let openConnections = ManagedAtomic<Int>(0)
    private let snapshotVersion = ManagedAtomic<Int>(0)
    private let serverChannel = NIOLockedValueBox<Channel?>(nil)

    public init(settings: ProxySettings, configuration: Configuration = .empty, logger: Logger = Logger(label: "konnect.proxy")) {
        self.settings = settings
        self.logger = logger
        let threads = max(1, settings.threads)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let snapshot = ConfigSnapshot(configuration: configuration, version: 1, loopCount: threads)
        snapshotVersion.store(1, ordering: .relaxed)
        var loops: [LoopContext] = []
        for (index, eventLoop) in group.makeIterator().enumerated() {
            loops.append(LoopContext(eventLoop: eventLoop, index: index, snapshot: snapshot, settings: settings))
        }
        self.loops = loops
    }

    public var openConnectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Compiles `configuration` on the calling task (never an event loop) and swaps it into every
    /// loop; requests already running finish with the snapshot they started with.
    public func apply(_ configuration: Configuration) async throws {
        let version = snapshotVersion.wrappingIncrementThenLoad(ordering: .relaxed)
        let snapshot = ConfigSnapshot(configuration: configuration, version: version, loopCount: loops.count)
        for loop in loops {
            try await loop.eventLoop.submit { loop.snapshot = snapshot }.get()
        }
        logger.info("configuration applied", metadata: [
            "version": "\(version)", "services": "\(configuration.services.count)",
            "routes": "\(configuration.routes.count)",
        ])
    }

    /// Binds the proxy listener; returns the bound port (useful when `settings.port` is 0).
    @discardableResult
    public func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // A client may close its sending side after a request and still read the answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.initializeClientChannel(channel)
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch {
            throw ListenError(address: "\(settings.host):\(settings.port)", underlying: error)
        }
        serverChannel.withLockedValue { $0 = channel }
        let port = channel.localAddress?.port ?? settings.port
        logger.info("proxy listening", metadata: ["address": "\(settings.host):\(port)", "threads": "\(loops.count)"])
        return port
    }

    /// The proxy could not listen where it was told to.
    public struct ListenError: Error, CustomStringConvertible {
        public let address: String
        public let underlying: Error

        public var description: String {
            let reason = (underlying as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(underlying)"
            return "cannot listen on \(address): \(reason) (choose another with --proxy-listen or KONNECT_PROXY_LISTEN)"
        }
    }

    private func initializeClientChannel(_ channel: Channel) throws {
        let count = openConnections.wrappingIncrementThenLoad(ordering: .relaxed)
        guard count <= settings.maxConnections, let loop = loops.first(where: { $0.eventLoop === channel.eventLoop }) else {
            openConnections.wrappingDecrement(ordering: .relaxed)
            channel.close(promise: nil)
            return
        }
        do {
            try channel.pipeline.syncOperations.addHandler(ProxyHandler(loop: loop, runtime: self))
        } catch {
            openConnections.wrappingDecrement(ordering: .relaxed)  // no handler to count its close
            throw error
        }
    }

    func connectionClosed() {
        openConnections.wrappingDecrement(ordering: .relaxed)
    }

    /// Stops accepting, lets in-flight requests finish for up to the grace period, then closes
    /// what remains and stops the event loops.
    public func shutdown() async {
        if let channel = serverChannel.withLockedValue({ $0 }) {
            try? await channel.close()
        }
        for loop in loops {
            try? await loop.eventLoop.submit {
                loop.draining = true
                for connection in loop.connections.values { connection.drain() }
            }.get()
        }
        let deadline = NIODeadline.now() + settings.shutdownGracePeriod
        while openConnectionCount > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if openConnectionCount > 0 {
            logger.warning("grace period over, closing connections", metadata: ["open": "\(openConnectionCount)"])
        }
        for loop in loops {
            try? await loop.eventLoop.submit {
                for connection in loop.connections.values { connection.forceClose() }
                loop.pool.closeAll()
                loop.stopDeadlineTick()
            }.get()
        }
        try? await group.shutdownGracefully()
    }
}

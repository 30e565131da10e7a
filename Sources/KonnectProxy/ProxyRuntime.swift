import Atomics
import KonnectConfig
import KonnectIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The running data plane: event loops, their per-loop state, the listener, and the current
/// configuration snapshot.
public final class ProxyRuntime: Sendable {
    public let settings: ProxySettings
    let loops: [LoopContext]
    /// A NIO loop for what needs NIO's own sockets (the DNS client's UDP).
    private let helperGroup: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let openConnections = ManagedAtomic<Int>(0)
    private let snapshotVersion = ManagedAtomic<Int>(0)
    private let listener = NIOLockedValueBox<TCPListener?>(nil)

    public init(settings: ProxySettings, configuration: Configuration = .empty, logger: Logger = Logger(label: "konnect.proxy")) {
        self.settings = settings
        self.logger = logger
        let threads = max(1, settings.threads)
        self.helperGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let snapshot = ConfigSnapshot(configuration: configuration, version: 1, loopCount: threads,
                                      customPlugins: settings.customPlugins)
        for problem in snapshot.pluginProblems { logger.warning("\(problem)") }
        snapshotVersion.store(1, ordering: .relaxed)
        let dnsLoop = helperGroup.next()
        self.loops = (0..<threads).map { index in
            LoopContext(eventLoop: SocketLoop(name: "konnect-proxy-\(index)"), index: index, snapshot: snapshot,
                        settings: settings, dnsLoop: dnsLoop)
        }
    }

    public var openConnectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Requests started since the node started, asked of each loop (so counting costs the
    /// request path a plain increment).
    public func totalRequests() async -> Int {
        var total = 0
        for loop in loops {
            total += (try? await loop.eventLoop.submit { loop.requestCount }.get()) ?? 0
        }
        return total
    }

    /// Compiles `configuration` on the calling task (never an event loop) and swaps it into every
    /// loop; requests already running finish with the snapshot they started with.
    public func apply(_ configuration: Configuration) async throws {
        let version = snapshotVersion.wrappingIncrementThenLoad(ordering: .relaxed)
        let snapshot = ConfigSnapshot(configuration: configuration, version: version, loopCount: loops.count,
                                      customPlugins: settings.customPlugins)
        for problem in snapshot.pluginProblems { logger.warning("\(problem)") }
        for loop in loops {
            // The old snapshot comes back here, so that freeing a large one (a router of
            // thousands of routes) happens on this task, not on the loop, unless a request on
            // the loop still holds it.
            let previous = try await loop.eventLoop.submit { () -> ConfigSnapshot in
                let previous = loop.snapshot
                loop.snapshot = snapshot
                return previous
            }.get()
            withExtendedLifetime(previous) {}
        }
        logger.info("configuration applied", metadata: [
            "version": "\(version)", "services": "\(configuration.services.count)",
            "routes": "\(configuration.routes.count)",
        ])
    }

    /// Binds the proxy listener; returns the bound port (useful when `settings.port` is 0).
    @discardableResult
    public func start() async throws -> Int {
        let listener: TCPListener
        do {
            listener = try TCPListener(host: settings.host, port: settings.port)
        } catch {
            throw ListenError(address: "\(settings.host):\(settings.port)", underlying: error)
        }
        self.listener.withLockedValue { $0 = listener }
        let port = listener.port
        let acceptor = loops[0].eventLoop
        try await acceptor.submit { [self] in
            try listener.startAccepting(on: acceptor, handingTo: loops.map(\.eventLoop)) { [self] stream, index in
                accepted(stream, on: loops[index], port: port)
            }
        }.get()
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

    /// A new client connection on `loop`: served there, or closed at once beyond the connection cap.
    private func accepted(_ stream: TCPStream, on loop: LoopContext, port: Int) {
        let count = openConnections.wrappingIncrementThenLoad(ordering: .relaxed)
        guard count <= settings.maxConnections else {
            openConnections.wrappingDecrement(ordering: .relaxed)
            stream.close()
            return
        }
        // The stream keeps its handler (its delegate) until it closes.
        _ = ProxyHandler(stream: stream, loop: loop, runtime: self, serverPort: port)
    }

    func connectionClosed() {
        openConnections.wrappingDecrement(ordering: .relaxed)
    }

    /// Stops accepting, lets in-flight requests finish for up to the grace period, then closes
    /// what remains and stops the event loops.
    public func shutdown() async {
        if let listener = listener.withLockedValue({ $0 }) {
            let acceptor = loops[0].eventLoop
            try? await acceptor.submit { listener.stopAccepting(on: acceptor) }.get()
            listener.close()
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
        for loop in loops { try? await loop.eventLoop.shutdownGracefully() }
        try? await helperGroup.shutdownGracefully()
    }
}

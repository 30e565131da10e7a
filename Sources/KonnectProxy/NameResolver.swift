import NIOCore
import NIOPosix

/// Resolves service and target host names, caching answers per event loop.
///
/// Resolution goes through the system resolver (`getaddrinfo`, so `/etc/hosts` applies) on
/// NIO's blocking pool, never on an event loop. The system resolver does not report record
/// TTLs, so answers are kept for `ttl`.
final class NameResolver {
    private struct Entry {
        let address: SocketAddress
        let expires: NIODeadline
    }

    private var cache: [PoolKey: Entry] = [:]
    private let ttl: TimeAmount

    init(ttl: TimeAmount = .seconds(30)) { self.ttl = ttl }

    func resolve(host: String, port: Int, on eventLoop: EventLoop) -> EventLoopFuture<SocketAddress> {
        let key = PoolKey(host: host, port: port)
        let now = NIODeadline.now()
        if let entry = cache[key], entry.expires > now {
            return eventLoop.makeSucceededFuture(entry.address)
        }
        let ttl = self.ttl
        return NIOSingletons.posixBlockingThreadPool.runIfActive(eventLoop: eventLoop) {
            try SocketAddress.makeAddressResolvingHost(host, port: port)
        }.map { address in
            self.cache[key] = Entry(address: address, expires: .now() + ttl)
            return address
        }
    }
}

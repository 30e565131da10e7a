import NIOCore
import NIOPosix

/// A host name that resolves to no address.
struct NameResolutionError: Error, CustomStringConvertible {
    let host: String
    let reason: String

    var description: String { "could not resolve host '\(host)': \(reason)" }
}

/// Resolves service and target host names for one event loop, honouring DNS record TTLs.
///
/// Order: the hosts file (and `localhost`), then DNS over UDP — A records, AAAA when a name
/// has none — through the search list, with answers cached per name and type until their TTL
/// runs out. Several addresses are handed out in turn. Concurrent lookups of one name share
/// one query. Without nameservers, or when an answer is truncated, the system resolver
/// (`getaddrinfo`, on NIO's blocking pool) answers instead. Only touched on its event loop.
final class NameResolver {
    private let configuration: DNSConfiguration
    private let clock: () -> NIODeadline
    /// Where the DNS client's UDP sockets live (a NIO loop); nil means the loop of each lookup.
    private let socketLoop: EventLoop?
    private var cache: DNSCache
    private var client: DNSClient?
    private var inFlight: [DNSCacheKey: EventLoopFuture<Void>] = [:]

    init(configuration: DNSConfiguration, socketLoop: EventLoop? = nil, clock: @escaping () -> NIODeadline = { .now() }) {
        self.configuration = configuration
        self.socketLoop = socketLoop
        self.clock = clock
        self.cache = DNSCache(policy: configuration.cachePolicy)
    }

    func resolve(host: String, port: Int, on eventLoop: EventLoop) -> EventLoopFuture<SocketAddress> {
        if let address = configuration.hosts.address(for: host) {
            return eventLoop.makeCompletedFuture { try address.socketAddress(port: port) }
        }
        let candidates = configuration.nameservers.isEmpty ? [DNSMessage.canonicalName(host)] : configuration.candidates(for: host)
        return lookup(host: host, candidates: candidates, on: eventLoop, queriesLeft: 32)
            .flatMapThrowing { try $0.socketAddress(port: port) }
    }

    private func lookup(host: String, candidates: [String], on eventLoop: EventLoop,
                        queriesLeft: Int) -> EventLoopFuture<DNSAddress> {
        switch cache.step(candidates: candidates, now: clock()) {
        case .address(let address):
            return eventLoop.makeSucceededFuture(address)
        case .failed(let failure):
            return eventLoop.makeFailedFuture(NameResolutionError(host: host, reason: failure.description))
        case .query(let key):
            guard queriesLeft > 0 else {
                return eventLoop.makeFailedFuture(NameResolutionError(host: host, reason: "answers expired while resolving"))
            }
            return fetch(key, on: eventLoop).assumeIsolated().flatMap { [self] in
                lookup(host: host, candidates: candidates, on: eventLoop, queriesLeft: queriesLeft - 1)
            }.nonisolated()
        }
    }

    /// Asks for `key` and stores the answer; a query already on its way is shared.
    private func fetch(_ key: DNSCacheKey, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if let running = inFlight[key] { return running }
        let promise = eventLoop.makePromise(of: Void.self)
        inFlight[key] = promise.futureResult
        query(key, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            let answer: DNSAnswer
            switch result {
            case .success(let value): answer = value
            case .failure(let error): answer = .failure("\(error)")
            }
            cache.store(answer, for: key, now: clock())
            inFlight[key] = nil
            promise.succeed()
        }
        return promise.futureResult
    }

    private func query(_ key: DNSCacheKey, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
        guard !configuration.nameservers.isEmpty else { return systemLookup(key.name, on: eventLoop) }
        let client = self.client ?? DNSClient(eventLoop: eventLoop, socketLoop: socketLoop ?? eventLoop, nameservers: configuration.nameservers,
                                              timeout: configuration.timeout, attempts: configuration.attempts)
        self.client = client
        return client.query(DNSQuestion(name: key.name, type: key.type)).assumeIsolated().flatMap { [self] answer in
            if answer == .truncated { return systemLookup(key.name, on: eventLoop) }
            return eventLoop.makeSucceededFuture(answer)
        }.nonisolated()
    }

    /// One address from `getaddrinfo`, kept for `systemTTL` since it reports no TTL.
    private func systemLookup(_ name: String, on eventLoop: EventLoop) -> EventLoopFuture<DNSAnswer> {
        let ttl = UInt32(configuration.systemTTL.nanoseconds / 1_000_000_000)
        return NIOSingletons.posixBlockingThreadPool.runIfActive(eventLoop: eventLoop) {
            do {
                let address = try SocketAddress.makeAddressResolvingHost(name, port: 0)
                guard let ip = DNSAddress(address) else { return DNSAnswer.failure("the system resolver gave \(address)") }
                return DNSAnswer.addresses([ip], ttl: ttl)
            } catch {
                return DNSAnswer.failure("the system resolver found no address (\(error))")
            }
        }
    }
}

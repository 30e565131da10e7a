import Foundation
import KonnectConfig
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import KonnectProxy

/// An in-process DNS server on 127.0.0.1 that answers from a list of records and counts the
/// questions it is asked. Names with no record at all get NXDOMAIN.
final class DNSTestServer: Sendable {
    struct State {
        var records: [DNSRecord]
        var questions: [DNSQuestion] = []
        /// Never answer (a dead nameserver).
        var silent = false
        /// Answer everything with the TC bit and no records.
        var truncateAll = false

        func response(to query: DNSMessage) -> DNSMessage {
            let question = query.questions[0]
            var reply = DNSMessage(id: query.id, isResponse: true, questions: query.questions)
            if truncateAll {
                reply.truncated = true
                return reply
            }
            var name = question.name
            for _ in 0..<8 {
                let matching = records.filter { $0.name == name && $0.type == question.type }
                if !matching.isEmpty {
                    reply.answers += matching
                    break
                }
                guard let alias = records.first(where: { $0.name == name && $0.type == .cname }),
                      case .name(let target) = alias.data
                else { break }
                reply.answers.append(alias)
                name = target
            }
            if reply.answers.isEmpty && !records.contains(where: { $0.name == question.name }) {
                reply.responseCode = .nameError
            }
            return reply
        }
    }

    let address: SocketAddress
    private let channel: Channel
    private let state: NIOLockedValueBox<State>

    init(group: EventLoopGroup, records: [DNSRecord]) async throws {
        let state = NIOLockedValueBox(State(records: records))
        self.state = state
        channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSTestServerHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        address = channel.localAddress!
    }

    func questions(_ name: String, _ type: DNSRecordType = .a) -> Int {
        state.withLockedValue { $0.questions.filter { $0 == DNSQuestion(name: name, type: type) }.count }
    }

    var totalQuestions: Int { state.withLockedValue { $0.questions.count } }

    func update(_ change: @Sendable (inout State) -> Void) {
        state.withLockedValue { change(&$0) }
    }

    func close() async throws {
        try await channel.close()
    }
}

private final class DNSTestServerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let state: NIOLockedValueBox<DNSTestServer.State>

    init(state: NIOLockedValueBox<DNSTestServer.State>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let query = try? DNSMessage(decoding: Array(envelope.data.readableBytesView)),
              let question = query.questions.first
        else { return }
        let reply: DNSMessage? = state.withLockedValue { state in
            state.questions.append(question)
            return state.silent ? nil : state.response(to: query)
        }
        guard let reply, let bytes = try? reply.encoded() else { return }
        let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: bytes))
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}

/// A `NameResolver` on its own event loop, asking one or more `DNSTestServer`s, with a manual clock.
private struct ResolverHarness {
    let group: MultiThreadedEventLoopGroup
    let servers: [DNSTestServer]
    let loop: EventLoop
    let resolver: NIOLoopBound<NameResolver>
    let clock: NIOLockedValueBox<NIODeadline>

    var server: DNSTestServer { servers[0] }

    static func start(records: [DNSRecord], serverCount: Int = 1,
                      configure: (inout DNSConfiguration) -> Void = { _ in }) async throws -> ResolverHarness {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var servers: [DNSTestServer] = []
        for _ in 0..<serverCount { servers.append(try await DNSTestServer(group: group, records: records)) }
        var configuration = DNSConfiguration()
        configuration.nameservers = servers.map(\.address)
        configuration.timeout = .milliseconds(300)
        configuration.attempts = 1
        configure(&configuration)
        let clock = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(1_000_000_000_000))
        let loop = group.next()
        let final = configuration
        let resolver = try await loop.submit {
            NIOLoopBound(NameResolver(configuration: final, clock: { clock.withLockedValue { $0 } }), eventLoop: loop)
        }.get()
        return ResolverHarness(group: group, servers: servers, loop: loop, resolver: resolver, clock: clock)
    }

    func resolve(_ host: String, port: Int = 8080) async throws -> SocketAddress {
        try await loop.flatSubmit { resolver.value.resolve(host: host, port: port, on: loop) }.get()
    }

    /// The resolved address as `ip:port`, or the error it failed with.
    func address(_ host: String, port: Int = 8080) async -> String {
        do {
            return ip(try await resolve(host, port: port))
        } catch {
            return "error: \(error)"
        }
    }

    /// Starts `count` lookups of `host` at once on the loop and waits for all of them.
    func resolveConcurrently(_ host: String, count: Int) async throws -> [SocketAddress] {
        try await loop.flatSubmit {
            let futures = (0..<count).map { _ in resolver.value.resolve(host: host, port: 80, on: loop) }
            return EventLoopFuture.whenAllSucceed(futures, on: loop)
        }.get()
    }

    func advance(_ amount: TimeAmount) {
        clock.withLockedValue { $0 = $0 + amount }
    }

    func stop() async throws {
        for server in servers { try await server.close() }
        try await group.shutdownGracefully()
    }
}

/// Runs `body` with a harness and always stops it.
private func withResolver(records: [DNSRecord], serverCount: Int = 1, configure: (inout DNSConfiguration) -> Void = { _ in },
                          _ body: (ResolverHarness) async throws -> Void) async throws {
    let harness = try await ResolverHarness.start(records: records, serverCount: serverCount, configure: configure)
    do {
        try await body(harness)
    } catch {
        try? await harness.stop()
        throw error
    }
    try await harness.stop()
}

private func ip(_ address: SocketAddress) -> String { "\(address.ipAddress ?? "?"):\(address.port ?? 0)" }

@Suite("Name resolution over DNS")
struct DNSResolverTests {
    @Test func answerIsCachedForItsTTLThenAskedAgain() async throws {
        try await withResolver(records: [.address("api.test", DNSAddress(10, 0, 0, 7), ttl: 1)]) { dns in
            #expect(await dns.address("api.test") == "10.0.0.7:8080")
            dns.advance(.milliseconds(900))
            #expect(await dns.address("API.test", port: 9000) == "10.0.0.7:9000")
            #expect(dns.server.questions("api.test") == 1)
            dns.advance(.milliseconds(100))
            #expect(await dns.address("api.test") == "10.0.0.7:8080")
            #expect(dns.server.questions("api.test") == 2)
        }
    }

    @Test func changedRecordsAreSeenAfterTheTTL() async throws {
        try await withResolver(records: [.address("move.test", DNSAddress(10, 0, 0, 1), ttl: 30)]) { dns in
            #expect(await dns.address("move.test") == "10.0.0.1:8080")
            dns.server.update { $0.records = [.address("move.test", DNSAddress(10, 0, 0, 2), ttl: 30)] }
            dns.advance(.seconds(29))
            #expect(await dns.address("move.test") == "10.0.0.1:8080")
            dns.advance(.seconds(1))
            #expect(await dns.address("move.test") == "10.0.0.2:8080")
        }
    }

    @Test func severalAddressesAreUsedInTurn() async throws {
        let records = (1...3).map { DNSRecord.address("pool.test", DNSAddress(10, 0, 0, UInt8($0)), ttl: 60) }
        try await withResolver(records: records) { dns in
            var seen: [String] = []
            for _ in 0..<4 { seen.append(await dns.address("pool.test")) }
            #expect(seen == ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.1:8080"])
            #expect(dns.server.questions("pool.test") == 1)
        }
    }

    @Test func concurrentLookupsShareOneQuery() async throws {
        let records = (1...2).map { DNSRecord.address("busy.test", DNSAddress(10, 0, 0, UInt8($0)), ttl: 60) }
        try await withResolver(records: records) { dns in
            let addresses = try await dns.resolveConcurrently("busy.test", count: 4)
            #expect(addresses.map(ip) == ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.2:80"])
            #expect(dns.server.questions("busy.test") == 1)
        }
    }

    @Test func aaaaIsUsedWhenThereIsNoARecord() async throws {
        let v6 = try #require(DNSAddress("2001:db8::10"))
        try await withResolver(records: [.address("six.test", v6, ttl: 60)]) { dns in
            let address = try await dns.resolve("six.test")
            #expect(address.protocol == .inet6)
            #expect(address.ipAddress == "2001:db8::10")
            #expect(dns.server.questions("six.test", .a) == 1)
            #expect(dns.server.questions("six.test", .aaaa) == 1)
        }
    }

    @Test func cnameChainIsFollowed() async throws {
        let records: [DNSRecord] = [
            .cname("www.test", "lb.test", ttl: 60),
            .cname("lb.test", "node.test", ttl: 60),
            .address("node.test", DNSAddress(10, 3, 3, 3), ttl: 60),
        ]
        try await withResolver(records: records) { dns in
            #expect(await dns.address("www.test") == "10.3.3.3:8080")
        }
    }

    @Test func searchDomainsAreTried() async throws {
        try await withResolver(records: [.address("billing.svc.test", DNSAddress(10, 4, 0, 1), ttl: 60)],
                               configure: { $0.search = ["default.test", "svc.test"] }) { dns in
            #expect(await dns.address("billing") == "10.4.0.1:8080")
            #expect(dns.server.questions("billing.default.test") == 1)
            #expect(dns.server.questions("billing") == 0)
        }
    }

    @Test func unresolvableNameFailsWithAnErrorNamingTheHost() async throws {
        try await withResolver(records: []) { dns in
            let error = await #expect(throws: NameResolutionError.self) { try await dns.resolve("missing.test") }
            #expect(error?.description.contains("missing.test") == true)
            #expect(error?.description.contains("no such name") == true)
            // Not found is remembered: asking again sends nothing.
            await #expect(throws: NameResolutionError.self) { try await dns.resolve("missing.test") }
            #expect(dns.server.questions("missing.test") == 1)
        }
    }

    @Test func nextNameserverIsAskedWhenOneDoesNotAnswer() async throws {
        try await withResolver(records: [.address("api.test", DNSAddress(10, 0, 0, 9), ttl: 60)], serverCount: 2) { dns in
            dns.servers[0].update { $0.silent = true }
            #expect(await dns.address("api.test") == "10.0.0.9:8080")
            #expect(dns.servers[0].questions("api.test") == 1)
            #expect(dns.servers[1].questions("api.test") == 1)
        }
    }

    @Test func silentNameserversFailTheLookup() async throws {
        try await withResolver(records: [], configure: { $0.timeout = .milliseconds(100) }) { dns in
            dns.server.update { $0.silent = true }
            let error = await #expect(throws: NameResolutionError.self) { try await dns.resolve("api.test") }
            #expect(error?.description.contains("api.test") == true)
            #expect(error?.description.contains("no answer") == true)
        }
    }

    @Test func truncatedAnswerFallsBackToTheSystemResolver() async throws {
        // The server truncates every answer. An IP literal, which the proxy never sends here,
        // gives the system resolver a name it answers without any network.
        try await withResolver(records: []) { dns in
            dns.server.update { $0.truncateAll = true }
            #expect(await dns.address("127.0.0.2") == "127.0.0.2:8080")
            #expect(dns.server.questions("127.0.0.2") == 1)
        }
    }

    @Test func hostsFileComesFirst() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("konnect-hosts-\(UUID().uuidString)").path
        try "10.8.8.8 billing.internal\n# 10.9.9.9 other.internal\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var settings = ProxySettings()
        settings.dnsHostsFile = path
        let hosts = DNSConfiguration(settings: settings).hosts
        try await withResolver(records: [.address("billing.internal", DNSAddress(10, 0, 0, 1), ttl: 60)],
                               configure: { $0.hosts = hosts }) { dns in
            #expect(await dns.address("billing.internal") == "10.8.8.8:8080")
            #expect(await dns.address("localhost") == "127.0.0.1:8080")
            #expect(dns.server.totalQuestions == 0)
        }
    }

    @Test func requestIsProxiedThroughADNSName() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let dns = try await DNSTestServer(group: group, records: [.address("origin.test", DNSAddress(127, 0, 0, 1), ttl: 60)])
        let configure: ([Int]) -> Configuration = { ports in
            Configuration(
                services: [
                    Service(id: "s1", name: "named", host: "origin.test", port: ports[0]),
                    Service(id: "s2", name: "missing", host: "missing.test", port: ports[0], retries: 0),
                ],
                routes: [
                    Route(id: "r1", name: "named", paths: ["/named"], serviceID: "s1"),
                    Route(id: "r2", name: "missing", paths: ["/missing"], serviceID: "s2"),
                ])
        }
        do {
            try await withProxy(threads: 1, settings: {
                $0.dnsResolvers = [dns.address]
                $0.dnsResolvConf = ""
                $0.dnsHostsFile = ""
            }, configure: configure) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.get("/named/hello")
                #expect(response.status == 200)
                #expect(response.text.hasPrefix("GET /hello "))
                let failed = try await client.get("/missing/hello")
                #expect(failed.status == 502)
                #expect(fx.origin.requests == 1)
            }
        } catch {
            try? await dns.close()
            try? await group.shutdownGracefully()
            throw error
        }
        #expect(dns.questions("origin.test") == 1)
        #expect(dns.questions("missing.test") == 1)
        try await dns.close()
        try await group.shutdownGracefully()
    }
}

import Foundation
import KonnectConfig
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP server whose answers a test sets: stands in for an identity provider's JWKS
/// endpoint or a token introspection endpoint.
final class StubServer: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: String
    }

    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<(requests: [Request], answer: @Sendable (Request) -> (Int, String))>

    init(group: EventLoopGroup, answer: @escaping @Sendable (Request) -> (Int, String)) async throws {
        let state = NIOLockedValueBox<(requests: [Request], answer: @Sendable (Request) -> (Int, String))>(([], answer))
        self.state = state
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StubHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    var requests: [Request] { state.withLockedValue { $0.requests } }

    func answer(with answer: @escaping @Sendable (Request) -> (Int, String)) {
        state.withLockedValue { $0.answer = answer }
    }

    func close() async throws { try await channel.close() }
}

private final class StubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let state: NIOLockedValueBox<(requests: [StubServer.Request], answer: @Sendable (StubServer.Request) -> (Int, String))>
    var head: HTTPRequestHead?
    var body = ""

    init(state: NIOLockedValueBox<(requests: [StubServer.Request], answer: @Sendable (StubServer.Request) -> (Int, String))>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            guard let head else { return }
            let request = StubServer.Request(method: "\(head.method)", uri: head.uri,
                                             headers: head.headers.map { ($0.name, $0.value) }, body: body)
            let (status, text) = state.withLockedValue { state in
                state.requests.append(request)
                return state.answer(request)
            }
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(text.utf8.count))])
            // A test may ask for more fields: `?header=Name:value` in the request target.
            for item in head.uri.split(separator: "?").dropFirst().joined().split(separator: "&") where item.hasPrefix("header=") {
                let field = item.dropFirst("header=".count).removingPercentEncoding ?? ""
                if let colon = field.firstIndex(of: ":") { headers.add(name: String(field[..<colon]), value: String(field[field.index(after: colon)...])) }
            }
            headers.add(name: "Connection", value: "close")
            // `?delay=N` answers after N milliseconds.
            let delay = head.uri.split(separator: "?").dropFirst().joined().split(separator: "&")
                .first { $0.hasPrefix("delay=") }.flatMap { Int64($0.dropFirst("delay=".count)) } ?? 0
            let answer = { [self] in
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
            if delay > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) { answer() }
            } else {
                answer()
            }
        }
    }
}

/// One route `/` on the echo origin with `plugins` on it, and these consumers and credentials.
func pluginConfiguration(port: Int, plugins: [Plugin], consumers: [Consumer] = [],
                         edit: (inout Configuration) -> Void = { _ in }) -> Configuration {
    var configuration = Configuration(
        services: [Service(id: "s1", name: "echo", host: "127.0.0.1", port: port)],
        routes: [Route(id: "r1", name: "echo", paths: ["/"], serviceID: "s1")],
        consumers: consumers,
        plugins: plugins.map { plugin in
            var plugin = plugin
            if plugin.routeID == nil && plugin.serviceID == nil && plugin.consumerID == nil && plugin.consumerGroupID == nil {
                plugin.routeID = "r1"
            }
            return plugin
        })
    edit(&configuration)
    return configuration
}

/// Runs `body` with a `StubServer` answering with `answer`, on a loop group of its own; both are
/// shut down afterwards, whatever happens.
func withStubServer<T>(answer: @escaping @Sendable (StubServer.Request) -> (Int, String),
                       _ body: (StubServer) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server: StubServer
    do {
        server = try await StubServer(group: group, answer: answer)
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
    do {
        let result = try await body(server)
        try await server.close()
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await server.close()
        try? await group.shutdownGracefully()
        throw error
    }
}

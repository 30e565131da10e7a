import NIOCore
import NIOHTTP1
import NIOPosix
import NIOConcurrencyHelpers

/// An in-process HTTP/1.1 origin for proxy tests.
///
/// By default it answers 200 with a text echo of what it received: the request line, every
/// header as `name: value`, then the body. Query parameters change that:
/// `status=N`, `delay=MS` (before the head), `chunks=N&size=M` (a chunked body of N parts of
/// M bytes), `bytes=N` (a Content-Length body of N bytes), `drip=MS` (pause between chunks),
/// `reset=1` (close without answering), `garbage=1` (an invalid status line), `close=1`
/// `early=1` (answer 200 "early" as soon as the head arrives, ignoring the body),
/// `te=CODING` (with `chunks`: the body's codings are `CODING, chunked`),
/// (`Connection: close`), `trailer=1` (a chunked response with a trailer).
final class MockUpstream: Sendable {
    let group: EventLoopGroup
    let port: Int
    private let channel: Channel
    private let stats: NIOLockedValueBox<Stats>

    struct Stats {
        var connections = 0
        var requests = 0
        var lastHead: HTTPRequestHead?
        var lastBodyBytes = 0
    }

    init(group: EventLoopGroup, port: Int = 0) async throws {
        let stats = NIOLockedValueBox(Stats())
        self.stats = stats
        self.group = group
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                stats.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MockHandler(stats: stats))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        self.port = channel.localAddress!.port!
    }

    var connections: Int { stats.withLockedValue { $0.connections } }
    var requests: Int { stats.withLockedValue { $0.requests } }
    var lastHead: HTTPRequestHead? { stats.withLockedValue { $0.lastHead } }
    var lastBodyBytes: Int { stats.withLockedValue { $0.lastBodyBytes } }

    func close() async throws {
        try await channel.close()
    }
}

private final class MockHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let stats: NIOLockedValueBox<MockUpstream.Stats>
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var bodyBytes = 0

    init(stats: NIOLockedValueBox<MockUpstream.Stats>) { self.stats = stats }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            bodyBytes = 0
            if Self.query(head.uri)["early"] != nil {
                // Answer before the body arrives, and ignore the body (like an origin refusing an upload).
                self.head = nil
                let headers: HTTPHeaders = ["Content-Length": "5"]
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "early")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        case .body(var buffer):
            bodyBytes += buffer.readableBytes
            if (body?.readableBytes ?? 0) < 1 << 20 { body?.writeBuffer(&buffer) }
        case .end:
            guard let head else { return }
            let count = bodyBytes
            stats.withLockedValue {
                $0.requests += 1
                $0.lastHead = head
                $0.lastBodyBytes = count
            }
            respond(context: context, head: head, body: body ?? ByteBuffer())
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer) {
        let query = Self.query(head.uri)
        let delay = Int64(query["delay"] ?? "0") ?? 0
        if query["reset"] != nil {
            context.close(promise: nil)
            return
        }
        let loop = context.eventLoop.assumeIsolated()
        loop.scheduleTask(in: .milliseconds(delay)) { [self] in
            if query["garbage"] != nil {
                // Written below the HTTP encoder, straight to the socket.
                let raw = try! context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
                raw.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "NOT HTTP AT ALL\r\n\r\n")), promise: nil)
                context.close(promise: nil)
                return
            }
            let status = HTTPResponseStatus(statusCode: Int(query["status"] ?? "200") ?? 200)
            var headers = HTTPHeaders()
            headers.add(name: "X-Upstream", value: "mock")
            if query["close"] != nil { headers.add(name: "Connection", value: "close") }
            if let chunks = Int(query["chunks"] ?? ""), let size = Int(query["size"] ?? "") {
                if let coding = query["te"] {
                    // NIO's encoder would rewrite this framing, so it is written raw, below it.
                    let raw = try! context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
                    var text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: \(coding), chunked\r\nConnection: close\r\n\r\n"
                    for _ in 0..<chunks { text += String(size, radix: 16) + "\r\n" + String(repeating: "c", count: size) + "\r\n" }
                    raw.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: text + "0\r\n\r\n")), promise: nil)
                    context.close(promise: nil)
                    return
                }
                headers.add(name: "Transfer-Encoding", value: "chunked")
                if query["trailer"] != nil { headers.add(name: "Trailer", value: "X-Checksum") }
                context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                let drip = Int64(query["drip"] ?? "0") ?? 0
                self.sendChunks(context: context, remaining: chunks, size: size, drip: drip, trailer: query["trailer"] != nil)
                return
            }
            var payload: ByteBuffer
            if let count = Int(query["bytes"] ?? "") {
                payload = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: count)
            } else {
                var text = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\n"
                for (name, value) in head.headers { text += "\(name.lowercased()): \(value)\n" }
                text += "\n"
                payload = context.channel.allocator.buffer(string: text)
                var copy = body
                payload.writeBuffer(&copy)
            }
            headers.add(name: "Content-Length", value: String(payload.readableBytes))
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD && status.mayHaveResponseBody {
                context.write(self.wrapOutboundOut(.body(.byteBuffer(payload))), promise: nil)
            }
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            if query["close"] != nil { context.close(promise: nil) }
        }
    }

    private func sendChunks(context: ChannelHandlerContext, remaining: Int, size: Int, drip: Int64, trailer: Bool) {
        if remaining == 0 {
            var trailers: HTTPHeaders?
            if trailer { trailers = ["X-Checksum": "abc123"] }
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            return
        }
        let chunk = context.channel.allocator.buffer(repeating: UInt8(ascii: "c"), count: size)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(drip)) { [self] in
            sendChunks(context: context, remaining: remaining - 1, size: size, drip: drip, trailer: trailer)
        }
    }

    static func query(_ uri: String) -> [String: String] {
        guard let mark = uri.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }
}

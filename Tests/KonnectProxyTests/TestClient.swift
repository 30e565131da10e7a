import NIOCore
import NIOPosix

/// A deliberately plain HTTP/1.1 client for proxy tests: it writes raw bytes, so malformed
/// requests can be sent exactly, and parses the responses it reads back itself.
final class TestClient {
    let channel: Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()

    struct Response {
        var status: Int
        var version: String
        var headers: [(String, String)]
        var body: [UInt8]
        var trailers: [(String, String)] = []

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        func headerValues(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    init(port: Int, group: EventLoopGroup) async throws {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamingHandler(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        iterator = stream.makeAsyncIterator()
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Closes the sending side only, as a client that has said everything it means to.
    func closeSendingSide() async throws {
        try await channel.close(mode: .output)
    }

    /// Sends a GET and returns the response.
    func get(_ path: String, host: String = "example.com", headers: [(String, String)] = []) async throws -> Response {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        try await send(text + "\r\n")
        return try await readResponse()
    }

    /// True when the server closed the connection (reads nothing more).
    func isClosedByServer() async throws -> Bool {
        while true {
            if buffer.readableBytes > 0 { return false }
            guard var next = await iterator.next() else { return true }
            buffer.writeBuffer(&next)
        }
    }

    private func fill() async throws -> Bool {
        guard var next = await iterator.next() else { return false }
        buffer.writeBuffer(&next)
        return true
    }

    private func readLine() async throws -> String? {
        while true {
            if let view = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = view - buffer.readerIndex + 1
                var line = buffer.readString(length: length)!
                line.removeLast()
                if line.hasSuffix("\r") { line.removeLast() }
                return line
            }
            if try await !fill() { return nil }
        }
    }

    private func readBytes(_ count: Int) async throws -> [UInt8] {
        while buffer.readableBytes < count {
            if try await !fill() { throw TestClientError.closedEarly }
        }
        return buffer.readBytes(length: count)!
    }

    /// Reads one response; `headOnly` for responses to HEAD.
    /// Reads one response head, interim (1xx) ones included, and returns its status.
    func readStatus() async throws -> Int {
        guard let statusLine = try await readLine() else { throw TestClientError.closedEarly }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestClientError.badStatusLine(statusLine) }
        while let line = try await readLine(), !line.isEmpty {}
        return status
    }

    func readResponse(headOnly: Bool = false) async throws -> Response {
        var response: Response
        repeat {
            guard let statusLine = try await readLine() else { throw TestClientError.closedEarly }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TestClientError.badStatusLine(statusLine) }
            response = Response(status: status, version: String(parts[0]), headers: [], body: [])
            while let line = try await readLine(), !line.isEmpty {
                let colon = line.firstIndex(of: ":")!
                response.headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")))
            }
        } while response.status >= 100 && response.status < 200 && response.status != 101
        if headOnly || response.status == 204 || response.status == 304 { return response }
        if let length = response.header("content-length") {
            response.body = try await readBytes(Int(length)!)
        } else if response.header("transfer-encoding")?.lowercased().hasSuffix("chunked") == true {
            while true {
                guard let sizeLine = try await readLine(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw TestClientError.closedEarly
                }
                if size == 0 {
                    while let line = try await readLine(), !line.isEmpty {
                        let colon = line.firstIndex(of: ":")!
                        response.trailers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")))
                    }
                    break
                }
                response.body += try await readBytes(size)
                _ = try await readLine()
            }
        } else {
            while try await fill() {}
            response.body = buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        return response
    }
}

enum TestClientError: Error {
    case closedEarly
    case badStatusLine(String)
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var s = Substring(self)
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return String(s)
    }
}

/// Hands every received buffer to an AsyncStream and finishes it when the connection closes.
private final class StreamingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let continuation: AsyncStream<ByteBuffer>.Continuation

    init(continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

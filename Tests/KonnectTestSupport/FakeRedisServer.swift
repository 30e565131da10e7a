import NIOCore
import NIOPosix

/// An in-process TCP server on 127.0.0.1 that accepts connections and answers each read with a
/// fixed reply, or never answers at all: a stand-in for a hung or broken Redis.
public final class FakeRedisServer: Sendable {
    let channel: any Channel
    public var port: Int { channel.localAddress!.port! }

    public init(reply: String?) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(FixedReplyHandler(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    public func close() async {
        try? await channel.close()
    }

    private final class FixedReplyHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let reply: String?

        init(reply: String?) {
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let reply {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

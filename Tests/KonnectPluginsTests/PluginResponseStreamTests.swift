import KonnectPlugins
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A plugin's response stream: parts reach the client in order, and a producer waits while the
/// client's connection takes no more.
@Suite("Plugin response streams")
struct PluginResponseStreamTests {
    final class Client: PluginResponseStreamConsumer {
        var parts: [String] = []
        var ended: Bool?
        func streamPart(_ part: ByteBuffer) { parts.append(String(buffer: part)) }
        func streamEnded(failed: Bool) { ended = failed }
    }

    @Test func partsWrittenBeforeTheProxyAttachesAreNotLost() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        try await loop.submit {
            let stream = PluginResponseStream(eventLoop: loop)
            stream.write(ByteBuffer(string: "a"))
            let client = Client()
            stream.attach(client)
            stream.write(ByteBuffer(string: "b"))
            stream.finish()
            stream.write(ByteBuffer(string: "after the end"))
            #expect(client.parts == ["a", "b"])
            #expect(client.ended == false)
        }.get()
    }

    @Test func aProducerWaitsUntilTheClientTakesMore() async throws {
        let stream = PluginResponseStream(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        await stream.writable()  // writable at first: no wait
        stream.setWritable(false)
        let resumed = NIOLockedValueBox(false)
        let producer = Task {
            await stream.writable()
            resumed.withLockedValue { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!resumed.withLockedValue { $0 })  // still waiting for room
        stream.setWritable(true)
        await producer.value
        #expect(resumed.withLockedValue { $0 })
    }

    @Test func cancellingReleasesAWaitingProducer() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let stream = PluginResponseStream(eventLoop: loop)
        stream.setWritable(false)
        let cancelled = NIOLockedValueBox(false)
        try await loop.submit { stream.onCancel { cancelled.withLockedValue { $0 = true } } }.get()
        let producer = Task { await stream.writable() }
        try await loop.submit { stream.cancel() }.get()
        await producer.value  // does not hang
        #expect(cancelled.withLockedValue { $0 })
    }
}

import NIOConcurrencyHelpers
import NIOCore

/// A response body a plugin produces over time (an AI answer relayed as the provider streams
/// it). The plugin writes parts and finishes; the proxy sends each part to the client as it comes,
/// chunked, and tells the plugin when the client has gone so it can stop its own work.
///
/// Confined to the request's event loop, like the context: every call is made there, except
/// `writable()`, which a producer on another thread awaits before it writes more (back-pressure
/// from a client that reads slowly).
public final class PluginResponseStream: @unchecked Sendable, Equatable {
    public let eventLoop: any EventLoop
    /// Parts written before the proxy attached.
    private var pending: [ByteBuffer] = []
    private var finished = false
    private var failed = false
    private weak var consumer: (any PluginResponseStreamConsumer)?
    private var cancelHandler: (() -> Void)?
    public private(set) var isCancelled = false
    /// Whether the client's connection takes more now, and the producer waiting until it does.
    private let flow = NIOLockedValueBox<(writable: Bool, waiter: CheckedContinuation<Void, Never>?)>((true, nil))

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Returns once the client's connection takes more (at once, usually), or the stream is
    /// cancelled. From any thread.
    public func writable() async {
        // Most of the time it is: no suspension then.
        if flow.withLockedValue({ $0.writable }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = flow.withLockedValue { state in
                if state.writable { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// The proxy's side: whether the client's connection takes more.
    public func setWritable(_ writable: Bool) {
        let waiter = flow.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.writable = writable
            guard writable else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Sends `part` to the client.
    public func write(_ part: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard !finished, !isCancelled, part.readableBytes > 0 else { return }
        if let consumer { consumer.streamPart(part) } else { pending.append(part) }
    }

    /// The body is complete.
    public func finish() {
        eventLoop.preconditionInEventLoop()
        guard !finished, !isCancelled else { return }
        finished = true
        consumer?.streamEnded(failed: false)
    }

    /// The body cannot be completed: the client's connection is closed (the only honest signal
    /// once a response has begun).
    public func fail() {
        eventLoop.preconditionInEventLoop()
        guard !finished, !isCancelled else { return }
        finished = true
        failed = true
        consumer?.streamEnded(failed: true)
    }

    /// Calls `handler` (once, on the loop) if the client goes away before the body is finished.
    public func onCancel(_ handler: @escaping () -> Void) {
        eventLoop.preconditionInEventLoop()
        if isCancelled { handler() } else { cancelHandler = handler }
    }

    // MARK: The proxy's side

    /// Starts delivering to `consumer`: what was written so far, then each part as it comes.
    public func attach(_ consumer: any PluginResponseStreamConsumer) {
        self.consumer = consumer
        let parts = pending
        pending = []
        for part in parts { consumer.streamPart(part) }
        if finished { consumer.streamEnded(failed: failed) }
    }

    /// The client has gone: nothing more is delivered, and the plugin is told.
    public func cancel() {
        guard !finished, !isCancelled else { return }
        isCancelled = true
        consumer = nil
        pending = []
        setWritable(true)  // a producer waiting for room goes on, and finds it cancelled
        let handler = cancelHandler
        cancelHandler = nil
        handler?()
    }

    public static func == (a: PluginResponseStream, b: PluginResponseStream) -> Bool { a === b }
}

/// Where a plugin's response stream goes (the client connection).
public protocol PluginResponseStreamConsumer: AnyObject {
    func streamPart(_ part: ByteBuffer)
    func streamEnded(failed: Bool)
}

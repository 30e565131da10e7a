import Dispatch
import Glibc
import KonnectIO
import NIOConcurrencyHelpers
import NIOCore

// Shared pieces for the KonnectIO tests: a recording delegate, a loop-bound handle on a stream, a
// listener fixture, and a plain blocking socket for the far end of each connection.

/// The byte at `offset` of a test payload. 251 is prime, so the pattern never lines up with a
/// power-of-two chunk: a dropped, repeated or reordered chunk changes what is read.
func patternByte(at offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset % 251) }

func patternBytes(_ range: Range<Int>) -> [UInt8] { range.map(patternByte(at:)) }

/// Where `bytes` first differs from the pattern starting at offset 0, or nil if it matches.
func firstPatternMismatch(_ bytes: [UInt8]) -> Int? {
    bytes.indices.first { bytes[$0] != patternByte(at: $0) }
}

/// What a test waited for did not happen in time.
struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Polls `probe` every few milliseconds until it returns a value; throws `TimedOut` after `timeout`.
func eventually<T>(_ what: String, timeout: Duration = .seconds(10), _ probe: () throws -> T?) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try probe() { return value }
        guard clock.now < deadline else { throw TimedOut(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// Runs blocking socket calls on a Dispatch thread, so they never hold up the test's own executor.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs `body` with a fresh loop and always shuts the loop down afterwards.
func withSocketLoop<T>(_ name: String, _ body: (SocketLoop) async throws -> T) async throws -> T {
    let loop = SocketLoop(name: name)
    let result: T
    do {
        result = try await body(loop)
    } catch {
        try? await loop.shutdownGracefully()
        throw error
    }
    try await loop.shutdownGracefully()
    return result
}

/// The test processes ignore SIGPIPE as NIOPosix does once it opens a socket, so that which tests
/// happen to run first does not decide whether a write to a reset peer kills the process. The
/// default disposition is covered on its own, in a child process.
let sigpipeIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

// MARK: Recording what a stream reports

/// One call a stream made on its delegate.
enum StreamEvent: Equatable, Sendable {
    case read(Int)
    case readComplete
    case writability(Bool)
    case inputClosed
    case closed(error: String?)

    var isClose: Bool { if case .closed = self { true } else { false } }
}

/// Everything a stream reported, readable from any thread.
final class StreamLog: Sendable {
    private let state = NIOLockedValueBox<(events: [StreamEvent], bytes: [UInt8])>(([], []))

    func record(_ event: StreamEvent) {
        state.withLockedValue { $0.events.append(event) }
    }

    func received(_ buffer: ByteBuffer) {
        state.withLockedValue {
            $0.events.append(.read(buffer.readableBytes))
            $0.bytes.append(contentsOf: buffer.readableBytesView)
        }
    }

    var events: [StreamEvent] { state.withLockedValue { $0.events } }
    var bytes: [UInt8] { state.withLockedValue { $0.bytes } }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var closes: [StreamEvent] { events.filter(\.isClose) }
    /// The writability changes in the order they were reported.
    var writabilityChanges: [Bool] {
        events.compactMap { if case .writability(let value) = $0 { value } else { nil } }
    }

    /// Waits until `condition` holds for the events and bytes so far.
    func waitUntil(_ what: String, timeout: Duration = .seconds(10),
                   _ condition: (_ events: [StreamEvent], _ bytes: [UInt8]) -> Bool) async throws {
        do {
            try await eventually(what, timeout: timeout) {
                state.withLockedValue { condition($0.events, $0.bytes) } ? () : nil
            }
        } catch let error as TimedOut {
            throw TimedOut(description: "\(error.description); events so far: \(events)")
        }
    }

    func waitUntilClosed(timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("streamClosed", timeout: timeout) { events, _ in events.contains(where: \.isClose) }
    }
}

/// A delegate that logs every call; with `echo` it also writes each read back and flushes at the
/// end of the batch.
final class RecordingDelegate: TCPStreamDelegate {
    let log: StreamLog
    let echo: Bool
    weak var stream: TCPStream?

    init(log: StreamLog, echo: Bool) {
        self.log = log
        self.echo = echo
    }

    func streamRead(_ buffer: ByteBuffer) {
        log.received(buffer)
        if echo { stream?.write(buffer) }
    }

    func streamReadComplete() {
        log.record(.readComplete)
        if echo { stream?.flush() }
    }

    func streamWritabilityChanged(isWritable: Bool) { log.record(.writability(isWritable)) }
    func streamInputClosed() { log.record(.inputClosed) }
    func streamClosed(error: Error?) { log.record(.closed(error: error.map { "\($0)" })) }
}

/// A stream reachable from the test: its log from anywhere, the stream itself only on its loop.
final class StreamHandle: Sendable {
    let loop: SocketLoop
    let log: StreamLog
    private let stream: NIOLoopBoundBox<TCPStream>

    /// Gives `stream` a recording delegate; call on the stream's loop.
    init(attachingTo stream: TCPStream, echo: Bool = false) {
        let log = StreamLog()
        let delegate = RecordingDelegate(log: log, echo: echo)
        delegate.stream = stream
        stream.delegate = delegate
        self.loop = stream.loop
        self.log = log
        self.stream = NIOLoopBoundBox(stream, eventLoop: stream.loop)
    }

    /// Runs `body` with the stream on its loop.
    func withStream<T: Sendable>(_ body: @escaping @Sendable (TCPStream) throws -> T) async throws -> T {
        try await loop.submit { [stream] in try body(stream.value) }.get()
    }

    func writeAndFlush(_ text: String) async throws {
        try await withStream { $0.writeAndFlush(ByteBuffer(string: text)) }
    }

    /// Queues `count` pattern bytes in 64 KiB buffers without flushing.
    func queuePattern(count: Int) async throws {
        try await withStream { stream in
            var offset = 0
            while offset < count {
                let end = min(offset + 65_536, count)
                stream.write(ByteBuffer(bytes: patternBytes(offset..<end)))
                offset = end
            }
        }
    }
}

/// A `TCPListener` on 127.0.0.1 accepting on one loop, keeping every stream it accepts.
final class TestServer: Sendable {
    let loop: SocketLoop
    let listener: TCPListener
    private let accepted = NIOLockedValueBox<[StreamHandle]>([])

    var port: Int { listener.port }

    private init(loop: SocketLoop, listener: TCPListener) {
        self.loop = loop
        self.listener = listener
    }

    /// Starts accepting; `configure` runs on the loop for each new stream, before any event of it.
    static func start(on loop: SocketLoop, echo: Bool = false,
                      configure: @escaping @Sendable (TCPStream) -> Void = { _ in }) async throws -> TestServer {
        _ = sigpipeIgnored
        let server = TestServer(loop: loop, listener: try TCPListener(host: "127.0.0.1", port: 0))
        try await loop.submit {
            try server.listener.startAccepting(on: loop, handingTo: [loop]) { stream, _ in
                let handle = StreamHandle(attachingTo: stream, echo: echo)
                configure(stream)
                server.accepted.withLockedValue { $0.append(handle) }
            }
        }.get()
        return server
    }

    /// The `index`th accepted stream (from 0), once it is accepted.
    func stream(_ index: Int) async throws -> StreamHandle {
        try await eventually("connection #\(index) to be accepted") {
            accepted.withLockedValue { $0.count > index ? $0[index] : nil }
        }
    }

    /// Stops accepting, closes every accepted stream and the listening socket.
    func stop() async throws {
        let handles = accepted.withLockedValue { $0 }
        for handle in handles { try await handle.withStream { $0.close() } }
        try await loop.submit { [listener, loop] in
            listener.stopAccepting(on: loop)
            listener.close()
        }.get()
    }
}

// MARK: The far end

/// A failed system call on a test's own socket.
struct PeerError: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

private let peerTimeout = timeval(tv_sec: 10, tv_usec: 0)

private func setTimeouts(_ fd: Int32) {
    var timeout = peerTimeout
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
}

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
    return address
}

/// A plain blocking TCP socket; every call gives up after 10 seconds, so no test can hang on it.
struct PeerSocket: Sendable {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
        setTimeouts(fd)
    }

    /// Connects to 127.0.0.1:`port`; `receiveBuffer` caps the kernel's receive buffer (and turns
    /// off its growth), so a peer that does not read pushes back sooner.
    static func connect(to port: Int, receiveBuffer: Int32? = nil) throws -> PeerSocket {
        _ = sigpipeIgnored
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError(call: "socket", code: errno) }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw PeerError(call: "connect", code: code)
        }
        return PeerSocket(fd: fd)
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw PeerError(call: "send", code: errno)
            }
            sent += count
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads exactly `count` bytes; throws if the connection ends first.
    func receive(exactly count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let result = bytes.withUnsafeMutableBytes {
                Glibc.recv(fd, $0.baseAddress! + received, count - received, 0)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw PeerError(call: "recv after \(received) of \(count) bytes", code: errno)
            }
            if result == 0 { throw PeerError(call: "recv: end of stream after \(received) of \(count) bytes", code: 0) }
            received += result
        }
        return bytes
    }

    /// Reads until the other side closes its sending side.
    func receiveUntilEOF() throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let result = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if result < 0 {
                if errno == EINTR { continue }
                throw PeerError(call: "recv after \(bytes.count) bytes", code: errno)
            }
            if result == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<result])
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func close() { Glibc.close(fd) }

    /// Closes abortively: with a zero linger time the kernel sends a reset instead of a FIN.
    func reset() {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    /// Bytes sent but not yet acknowledged by the other side's kernel.
    var unacknowledgedBytes: Int32 {
        var count: Int32 = 0
        _ = ioctl(fd, UInt(TIOCOUTQ), &count)
        return count
    }
}

/// A plain blocking listening socket on 127.0.0.1, for the far end of `TCPStream.connect`.
struct PeerListener: Sendable {
    let fd: Int32
    let port: Int

    init(backlog: Int32 = 16) throws {
        _ = sigpipeIgnored
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError(call: "socket", code: errno) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw PeerError(call: "bind/listen", code: code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        setTimeouts(fd)
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func accept() throws -> PeerSocket {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw PeerError(call: "accept", code: errno) }
        return PeerSocket(fd: client)
    }

    func close() { Glibc.close(fd) }

    /// A loopback port nothing listens on: bound for a moment, then released.
    static func closedPort() throws -> Int {
        let listener = try PeerListener()
        listener.close()
        return listener.port
    }
}

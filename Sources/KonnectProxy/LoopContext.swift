import KonnectHTTP1
import KonnectIO
import NIOCore

/// State that belongs to one event loop: its current snapshot, its upstream pool and its
/// client connections.
///
/// `@unchecked Sendable`: created once per loop and afterwards read and written only on that
/// loop (every access goes through `eventLoop.execute` or code already running on it).
final class LoopContext: @unchecked Sendable {
    let eventLoop: SocketLoop
    let index: Int
    var snapshot: ConfigSnapshot
    /// Requests this loop has started, for `/status` (read on the loop, summed by the runtime).
    var requestCount = 0
    let pool: UpstreamPool
    private var random: RequestIDGenerator
    /// Live client connections, for graceful shutdown.
    var connections: [ObjectIdentifier: ProxyHandler] = [:]
    var draining = false
    private var deadlineTick: RepeatedTask?

    /// How often connections' timeouts are checked: the precision of every proxy timeout.
    static let deadlineTickInterval = TimeAmount.milliseconds(100)

    /// `dnsLoop`: a NIO event loop for the DNS client's UDP sockets (answers hop back here).
    init(eventLoop: SocketLoop, index: Int, snapshot: ConfigSnapshot, settings: ProxySettings, dnsLoop: EventLoop) {
        self.eventLoop = eventLoop
        self.index = index
        self.snapshot = snapshot
        let resolver = NameResolver(configuration: DNSConfiguration(settings: settings), socketLoop: dnsLoop)
        self.pool = UpstreamPool(eventLoop: eventLoop, settings: settings, resolver: resolver)
        self.random = RequestIDGenerator(seed: UInt64.random(in: .min ... .max) ^ UInt64(index))
        let interval = Self.deadlineTickInterval
        self.deadlineTick = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            let now = NIODeadline.now()
            for connection in connections.values { connection.checkDeadlines(now: now) }
        }
    }

    func stopDeadlineTick() {
        deadlineTick?.cancel()
        deadlineTick = nil
    }

    func nextRequestID() -> RequestID {
        let (high, low) = random.next128()
        return .generated(high, low)
    }
}

/// 128-bit random request ids as 32 lowercase hex digits, from a per-loop xoshiro256** stream
/// (seeded from the system generator once, so ids cost no system call).
struct RequestIDGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    private mutating func next64() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    mutating func next128() -> (UInt64, UInt64) {
        (next64(), next64())
    }
}

/// A request's id: 128 random bits written as 32 lowercase hex digits, or the client's own
/// `X-Request-Id`. Generated ids stay two integers until written, so they cost no allocation.
enum RequestID: CustomStringConvertible {
    case generated(UInt64, UInt64)
    case given(String)

    func write(to out: inout HTTP1HeadWriter) {
        switch self {
        case .given(let text):
            out.write(text)
        case .generated(let high, let low):
            withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { buffer in
                Self.writeHex(high, low, into: buffer)
                out.write(UnsafeRawBufferPointer(buffer))
            }
        }
    }

    var description: String {
        switch self {
        case .given(let text):
            return text
        case .generated(let high, let low):
            return String(unsafeUninitializedCapacity: 32) { buffer in
                Self.writeHex(high, low, into: UnsafeMutableRawBufferPointer(buffer))
                return 32
            }
        }
    }

    private static func writeHex(_ high: UInt64, _ low: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { hex in
            for i in 0..<16 { buffer[i] = hex[Int((high >> (60 - 4 * UInt64(i))) & 0xF)] }
            for i in 0..<16 { buffer[16 + i] = hex[Int((low >> (60 - 4 * UInt64(i))) & 0xF)] }
        }
    }
}

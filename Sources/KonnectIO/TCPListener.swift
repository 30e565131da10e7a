import CKonnectIO
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// A listening TCP socket. One loop accepts; each new connection goes to the next loop in turn
/// (the first loop takes its own share without a hop), which then serves it to the end, so the
/// loops get equal shares of the connections however bursty their arrival.
///
/// `@unchecked Sendable`: the descriptor and port never change after `init`; the acceptor is
/// created and removed on its loop.
public final class TCPListener: @unchecked Sendable {
    private let fd: Int32
    public let port: Int
    /// Set by `stopAccepting`, so an acceptor pausing for lack of descriptors does not come back.
    let stopped = NIOLockedValueBox(false)

    /// Binds `host:port` (port 0 picks a free one) and listens.
    public init(host: String, port: Int, backlog: Int32 = 4096) throws {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let fd = ckio_stream_socket(Int32(address.protocol.rawValue))
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { Glibc.bind(fd, $0, socklen_t($1)) }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw IOError(errnoCode: code, reason: "bind")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Self.port(of: storage)
    }

    /// Starts accepting on `acceptor` (call on that loop). Connection *n* is served by
    /// `loops[n % loops.count]`: `accepted` runs there with the stream and that index.
    public func startAccepting(on acceptor: SocketLoop, handingTo loops: [SocketLoop],
                               _ accepted: @escaping @Sendable (TCPStream, Int) -> Void) throws {
        precondition(!loops.isEmpty, "connections need at least one loop to go to")
        try acceptor.register(fd, events: EPOLLIN.rawValue, Acceptor(listener: self, fd: fd, loop: acceptor, loops: loops, accepted: accepted))
    }

    /// Stops accepting (call on the acceptor loop).
    public func stopAccepting(on acceptor: SocketLoop) {
        stopped.withLockedValue { $0 = true }
        acceptor.deregister(fd, removeFromEpoll: true)
    }

    /// Closes the socket; call once accepting has stopped.
    public func close() {
        Glibc.close(fd)
    }

    static func port(of storage: sockaddr_storage) -> Int {
        var storage = storage
        return withUnsafePointer(to: &storage) { pointer in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            default:
                return 0
            }
        }
    }

    /// The address in `storage` as text (`127.0.0.1`, `::1`).
    static func ipAddress(of storage: inout sockaddr_storage) -> String {
        withUnsafeMutablePointer(to: &storage) { pointer -> String in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    _ = inet_ntop(AF_INET, &address.pointee.sin_addr, &text, socklen_t(text.count))
                }
            case AF_INET6:
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    _ = inet_ntop(AF_INET6, &address.pointee.sin6_addr, &text, socklen_t(text.count))
                }
            default:
                return ""
            }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// The accepting loop's registration of a listening socket.
private final class Acceptor: SocketLoopSelectable {
    let listener: TCPListener
    let fd: Int32
    let loop: SocketLoop
    let loops: [SocketLoop]
    let accepted: @Sendable (TCPStream, Int) -> Void
    private var next = 0

    init(listener: TCPListener, fd: Int32, loop: SocketLoop, loops: [SocketLoop],
         accepted: @escaping @Sendable (TCPStream, Int) -> Void) {
        self.listener = listener
        self.fd = fd
        self.loop = loop
        self.loops = loops
        self.accepted = accepted
    }

    /// Out of descriptors or memory: the pending connection stays queued and the socket stays
    /// readable, so stop watching it for a moment instead of spinning on it (as nginx does).
    private func pause() {
        loop.deregister(fd, removeFromEpoll: true)
        _ = loop.scheduleLocal(at: .now() + .milliseconds(100)) { [self] in
            guard !listener.stopped.withLockedValue({ $0 }) else { return }
            try? loop.register(fd, events: EPOLLIN.rawValue, self)
        }
    }

    func ready(_ events: UInt32) {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ckio_accept(fd, $0, &length) }
            }
            if client < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM { pause() }
                return  // EAGAIN: nothing left
            }
            TCPStream.setNoDelay(client)
            let remoteIP = TCPListener.ipAddress(of: &storage)
            let index = next
            next = (next + 1) % loops.count
            let target = loops[index]
            if target === loop {
                Self.serve(client, remoteIP: remoteIP, on: target, index: index, accepted)
            } else {
                target.execute { [accepted] in Self.serve(client, remoteIP: remoteIP, on: target, index: index, accepted) }
            }
        }
    }

    /// Registers the accepted socket with the loop that will serve it (on that loop).
    private static func serve(_ client: Int32, remoteIP: String, on loop: SocketLoop, index: Int,
                              _ accepted: @Sendable (TCPStream, Int) -> Void) {
        let stream = TCPStream(fd: client, loop: loop, remoteIP: remoteIP)
        do {
            try loop.register(client, events: TCPStream.events, stream)
        } catch {
            Glibc.close(client)
            return
        }
        accepted(stream, index)
    }
}

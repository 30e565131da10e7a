import CKonnectIO
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// A listening TCP socket shared by several `SocketLoop`s: each loop that accepts on it watches
/// it with `EPOLLEXCLUSIVE`, so a new connection wakes one loop, which then serves it to the end.
///
/// `@unchecked Sendable`: the descriptor and port never change after `init`; each loop's
/// registration is created and removed on that loop.
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

    /// Starts accepting on `loop` (call on the loop); `accepted` receives each new stream there.
    public func startAccepting(on loop: SocketLoop, _ accepted: @escaping (TCPStream) -> Void) throws {
        let acceptor = Acceptor(listener: self, fd: fd, loop: loop, accepted: accepted)
        try loop.register(fd, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, acceptor)
    }

    /// Stops accepting on `loop` (call on the loop).
    public func stopAccepting(on loop: SocketLoop) {
        stopped.withLockedValue { $0 = true }
        loop.deregister(fd, removeFromEpoll: true)
    }

    /// Closes the socket; call once every loop has stopped accepting.
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

/// One loop's registration of a listening socket.
private final class Acceptor: SocketLoopSelectable {
    let listener: TCPListener
    let fd: Int32
    let loop: SocketLoop
    let accepted: (TCPStream) -> Void

    /// Out of descriptors or memory: the pending connection stays queued and the socket stays
    /// readable, so stop watching it for a moment instead of spinning on it (as nginx does).
    private func pause() {
        loop.deregister(fd, removeFromEpoll: true)
        _ = loop.scheduleLocal(at: .now() + .milliseconds(100)) { [self] in
            guard !listener.stopped.withLockedValue({ $0 }) else { return }
            try? loop.register(fd, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, self)
        }
    }

    init(listener: TCPListener, fd: Int32, loop: SocketLoop, accepted: @escaping (TCPStream) -> Void) {
        self.listener = listener
        self.fd = fd
        self.loop = loop
        self.accepted = accepted
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
            let stream = TCPStream(fd: client, loop: loop, remoteIP: TCPListener.ipAddress(of: &storage))
            do {
                try loop.register(client, events: TCPStream.events, stream)
            } catch {
                Glibc.close(client)
                continue
            }
            accepted(stream)
        }
    }
}

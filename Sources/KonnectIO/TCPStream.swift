import CKonnectIO
import Glibc
import NIOCore

/// What a stream reports to the one object that owns its bytes. Every call comes on the stream's loop.
public protocol TCPStreamDelegate: AnyObject {
    func streamRead(_ buffer: ByteBuffer)
    /// The end of one batch of reads: a good moment to flush what the reads produced.
    func streamReadComplete()
    func streamWritabilityChanged(isWritable: Bool)
    /// The peer closed its sending side (only when `allowHalfClosure` is set; otherwise the stream closes).
    func streamInputClosed()
    /// The stream is closed; nothing more is reported. `error` is nil for an orderly close.
    func streamClosed(error: Error?)
}

/// A connected, non-blocking TCP socket on a `SocketLoop`, with a write queue and back-pressure.
///
/// Writes go to the socket at once when nothing is queued; what the socket cannot take waits for
/// write space. `isWritable` turns false above 64 KiB queued and true again below 32 KiB, as NIO's
/// default water marks do. Reads can be held (nothing is read, so TCP pushes back on the peer) and
/// resumed. Only touched on its loop.
public final class TCPStream: SocketLoopSelectable {
    public enum CloseMode { case all, output }

    public let loop: SocketLoop
    let fd: Int32
    public var delegate: TCPStreamDelegate?
    /// When the peer closes its sending side: report `streamInputClosed` (true) or close (false).
    public var allowHalfClosure = false
    /// The peer's IP address as text, for accepted streams.
    public let remoteIP: String
    public private(set) var isOpen = true
    public private(set) var isWritable = true

    private var recv = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: AdaptiveRecvByteBufferAllocator())
    private var queue = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var queuedBytes = 0
    /// The socket may hold bytes not read yet (edge-triggered: no new event comes for them).
    private var readable = true
    private var peerClosedOutput = false
    private var inputClosed = false
    private var outputClosed = false
    private var readsHeld = false
    private var reading = false
    private var waitingForWriteSpace = false
    private var closeWhenFlushed: CloseMode?
    private var connectDone: ((Result<TCPStream, Error>) -> Void)?
    private var connectTimer: TimerEntry?

    private static let highWaterMark = 64 * 1024
    private static let lowWaterMark = 32 * 1024
    private static let readsPerEvent = 16
    static let events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue

    init(fd: Int32, loop: SocketLoop, remoteIP: String) {
        self.fd = fd
        self.loop = loop
        self.remoteIP = remoteIP
    }

    // MARK: Connecting

    /// Opens a connection to `address` from `loop`; `done` runs on the loop once it is connected,
    /// refused, or not connected within `timeout` (then with `ChannelError.connectTimeout`).
    public static func connect(to address: SocketAddress, on loop: SocketLoop, timeout: TimeAmount,
                               _ done: @escaping (Result<TCPStream, Error>) -> Void) {
        let fd = ckio_stream_socket(Int32(address.protocol.rawValue))
        guard fd >= 0 else {
            let error = IOError(errnoCode: errno, reason: "socket")
            loop.executeLocal { done(.failure(error)) }
            return
        }
        setNoDelay(fd)
        let stream = TCPStream(fd: fd, loop: loop, remoteIP: address.ipAddress ?? "")
        let result = address.withSockAddr { Glibc.connect(fd, $0, socklen_t($1)) }
        let code = errno
        if result != 0 && code != EINPROGRESS {
            Glibc.close(fd)
            loop.executeLocal { done(.failure(IOError(errnoCode: code, reason: "connect"))) }
            return
        }
        do {
            try loop.register(fd, events: events, stream)
        } catch {
            Glibc.close(fd)
            loop.executeLocal { done(.failure(error)) }
            return
        }
        stream.connectDone = done
        stream.connectTimer = loop.scheduleLocal(at: .now() + timeout) { [stream] in
            stream.finishConnect(.failure(ChannelError.connectTimeout(timeout)))
        }
        if result == 0 { loop.executeLocal { [stream] in stream.finishConnect(.success(stream)) } }
    }

    private func finishConnect(_ result: Result<TCPStream, Error>) {
        guard let done = connectDone else { return }
        connectDone = nil
        connectTimer?.cancel()
        connectTimer = nil
        if case .failure = result { close(error: nil) }
        done(result)
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    // MARK: Events

    func ready(_ events: UInt32) {
        if connectDone != nil {
            guard events & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 else { return }
            let code = pendingSocketError()
            finishConnect(code == 0 ? .success(self) : .failure(IOError(errnoCode: code, reason: "connect")))
            // Bytes may have come with the same edge; nothing else would announce them.
            guard code == 0, isOpen else { return }
        }
        if events & EPOLLRDHUP.rawValue != 0 { peerClosedOutput = true }
        if inputClosed && events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            // Nothing is read any more, so a reset would otherwise go unnoticed until a write.
            let code = pendingSocketError()
            close(error: code == 0 ? nil : IOError(errnoCode: code, reason: "connection"))
            return
        }
        if events & EPOLLOUT.rawValue != 0 && waitingForWriteSpace {
            waitingForWriteSpace = false
            flushQueue()
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readable = true
            readNow()
        }
    }

    /// The socket's pending error (`SO_ERROR`), 0 when there is none.
    private func pendingSocketError() -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        return code
    }

    /// Reads while the socket has bytes, reads are not held and the stream is open.
    private func readNow() {
        guard readable, !readsHeld, !reading, !inputClosed, isOpen else { return }
        reading = true
        defer { reading = false }
        // One reference to the delegate for the whole batch (a close clears `delegate`; the
        // loop below stops then, since the stream is no longer open).
        guard let delegate else { return }
        var delivered = false
        var reads = 0
        while isOpen && !readsHeld && reads < Self.readsPerEvent {
            reads += 1
            var capacity = 0
            let (buffer, count) = recv.buffer(allocator: loop.allocator) { buffer -> Int in
                let count = buffer.withUnsafeMutableWritableBytes { pointer -> Int in
                    capacity = pointer.count
                    return ckio_read(fd, pointer.baseAddress, pointer.count)
                }
                if count > 0 { buffer.moveWriterIndex(forwardBy: count) }
                return count
            }
            if count > 0 {
                recv.record(actualReadBytes: count)
                delivered = true
                delegate.streamRead(buffer)
                // A short read drained the socket, unless the peer's FIN is still to be read.
                if count < capacity && !peerClosedOutput { readable = false; break }
            } else if count == 0 {
                readable = false
                inputClosed = true
                if delivered && isOpen { delegate.streamReadComplete() }
                delivered = false
                if allowHalfClosure && !outputClosed && isOpen { delegate.streamInputClosed() } else { close(error: nil) }
                break
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { readable = false; break }
                close(error: IOError(errnoCode: code, reason: "read"))
                return
            }
        }
        if delivered && isOpen { delegate.streamReadComplete() }
        if readable && isOpen && !readsHeld && !inputClosed {
            loop.executeLocal { [self] in readNow() }  // more to read: let other sockets have a turn first
        }
    }

    /// Lets go of the buffer kept for the next read; for a connection that has gone quiet, so
    /// that idle keep-alive connections hold no read memory. The next read allocates a new one.
    public func releaseReadBuffer() {
        guard !reading, recv.count > 0 else { return }
        recv = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: AdaptiveRecvByteBufferAllocator())
    }

    /// Stops reading (the peer's sending is pushed back by TCP) or resumes it.
    public func holdReads(_ hold: Bool) {
        guard hold != readsHeld else { return }
        readsHeld = hold
        if !hold && readable && isOpen { loop.executeLocal { [self] in readNow() } }
    }

    // MARK: Writing

    /// Queues `buffer`; it is sent by the next `flush`.
    public func write(_ buffer: ByteBuffer) {
        guard isOpen, !outputClosed, buffer.readableBytes > 0 else { return }
        queue.append(buffer)
        queuedBytes += buffer.readableBytes
        if isWritable && queuedBytes > Self.highWaterMark {
            isWritable = false
            delegate?.streamWritabilityChanged(isWritable: false)
        }
    }

    /// Sends what is queued, as far as the socket takes it; the rest goes when there is space.
    public func flush() {
        if !queue.isEmpty && !waitingForWriteSpace { flushQueue() }
    }

    /// Sends `buffer` after whatever is queued.
    public func writeAndFlush(_ buffer: ByteBuffer) {
        guard queue.isEmpty, isOpen, !outputClosed else {
            write(buffer)
            flush()
            return
        }
        let total = buffer.readableBytes
        guard total > 0 else { return }
        let written = buffer.withUnsafeReadableBytes { ckio_send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written == total { return }
        if written < 0 {
            let code = errno
            guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else {
                close(error: IOError(errnoCode: code, reason: "write"))
                return
            }
        }
        write(buffer.getSlice(at: buffer.readerIndex + max(written, 0), length: total - max(written, 0))!)
        flush()
    }

    private func flushQueue() {
        while isOpen && !queue.isEmpty {
            let written: Int
            if queue.count == 1 {
                written = queue[queue.startIndex].withUnsafeReadableBytes { ckio_send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            } else {
                written = writeVector()
            }
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { waitingForWriteSpace = true; return }
                close(error: IOError(errnoCode: code, reason: "write"))
                return
            }
            consume(written)
        }
        guard isOpen, queue.isEmpty else { return }
        if let mode = closeWhenFlushed {
            closeWhenFlushed = nil
            finishClose(mode)
        }
    }

    /// One gathering write of up to 64 queued buffers; bytes written, or -1. Sends use
    /// `MSG_NOSIGNAL`: a peer that reset the connection gives EPIPE, not a SIGPIPE that would end
    /// the process.
    private func writeVector() -> Int {
        let count = min(queue.count, 64)
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors -> Int in
            // The buffers stay in the queue (and so alive) for the whole call.
            var index = queue.startIndex
            for i in 0..<count {
                queue[index].withUnsafeReadableBytes { bytes in
                    vectors[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
                }
                index = queue.index(after: index)
            }
            var message = msghdr()
            message.msg_iov = vectors.baseAddress
            message.msg_iovlen = count
            return ckio_sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
        }
    }

    private func consume(_ written: Int) {
        var left = written
        queuedBytes -= written
        while left > 0, !queue.isEmpty {
            let size = queue[queue.startIndex].readableBytes
            if size <= left {
                left -= size
                queue.removeFirst()
            } else {
                queue[queue.startIndex].moveReaderIndex(forwardBy: left)
                left = 0
            }
        }
        if !isWritable && queuedBytes < Self.lowWaterMark {
            isWritable = true
            delegate?.streamWritabilityChanged(isWritable: true)
        }
    }

    // MARK: Closing

    /// Closes the socket now; queued bytes are dropped.
    public func close() { close(error: nil) }

    /// Closes once everything queued is sent: the whole socket, or only its sending side (the
    /// stream then goes on reading, so unread request bytes do not turn the close into a reset).
    public func closeAfterFlush(_ mode: CloseMode) {
        guard isOpen else { return }
        flush()
        if queue.isEmpty { finishClose(mode) } else { closeWhenFlushed = mode }
    }

    private func finishClose(_ mode: CloseMode) {
        switch mode {
        case .all:
            close(error: nil)
        case .output:
            outputClosed = true
            Glibc.shutdown(fd, Int32(SHUT_WR))
            if inputClosed { close(error: nil) }
        }
    }

    func close(error: Error?) {
        guard isOpen else { return }
        isOpen = false
        queue.removeAll()
        queuedBytes = 0
        loop.deregister(fd)
        Glibc.close(fd)
        connectTimer?.cancel()
        connectTimer = nil
        if connectDone != nil { return }  // a failed connect reports through its callback
        let delegate = self.delegate
        self.delegate = nil
        delegate?.streamClosed(error: error)
    }
}

import Glibc
import NIOCore

/// Why a message could not be decoded. Each maps to one status the proxy answers with.
public enum HTTP1Error: Error, Hashable, Sendable {
    /// The head did not end within the size limit (431).
    case headTooLarge
    /// More header fields than allowed (431).
    case tooManyFields
    /// The request or status line is not valid HTTP/1.x (400, or 502 from an upstream).
    case malformedStartLine
    /// A version other than HTTP/1.0 or HTTP/1.1 (505).
    case unsupportedVersion
    /// A header line with a bad name, a bad character, folding or a bare line feed (400).
    case malformedField
    /// Content-Length that is not a number, or several that differ (400).
    case invalidContentLength
    /// Both Content-Length and Transfer-Encoding (400): the classic request-smuggling shape.
    case conflictingFraming
    /// A transfer coding other than `chunked` (501).
    case unsupportedTransferCoding
    /// Transfer-Encoding in an HTTP/1.0 message (400, or 502 from an upstream): its framing cannot
    /// be trusted (RFC 9112 §6.1).
    case transferEncodingInHTTP10
    /// Bad chunk framing (400).
    case malformedChunk
    /// The connection ended in the middle of a message.
    case unexpectedEnd
}

/// An incremental, strict HTTP/1.1 decoder for one direction of one connection.
///
/// Feed it the connection's bytes with `next(_:)`; it returns one event at a time and removes
/// what it consumed from the buffer, leaving the rest (for example a pipelined request) for
/// later. Heads are located in place (`HTTP1Head`), bodies are zero-copy slices.
public struct HTTP1Decoder: Sendable {
    public enum Kind: Sendable {
        case request
        case response
    }

    public enum Event: Sendable {
        case head(HTTP1Head)
        case body(ByteBuffer)
        /// The end of the message; for chunked bodies, the trailer field lines if any were sent
        /// (each ending in CRLF, without the final empty line).
        case end(trailers: ByteBuffer?)
    }

    /// How the body of the current message is delimited.
    public enum Framing: Hashable, Sendable {
        case none
        case length(Int64)
        case chunked
        case untilClose
    }

    private enum State: Sendable {
        case head
        case length(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    public let kind: Kind
    public var maxHeadSize: Int
    public var maxFieldCount: Int
    /// How the current message's body is framed; valid from its `.head` event on.
    public private(set) var framing: Framing = .none
    private var state = State.head
    private var endPending = false
    private var responseToHEAD = false
    /// Bytes of an incomplete head already searched for its end, so a slow head is not rescanned.
    private var scanned = 0

    public init(kind: Kind, maxHeadSize: Int = 80 * 1024, maxFieldCount: Int = 100) {
        self.kind = kind
        self.maxHeadSize = maxHeadSize
        self.maxFieldCount = maxFieldCount
    }

    /// Responses only: whether the next response answers a HEAD request, and so has no body.
    public mutating func expectResponse(toHEAD: Bool) {
        responseToHEAD = toHEAD
    }

    /// True between messages, when no part of a message has been decoded.
    public var isBetweenMessages: Bool {
        if case .head = state { return !endPending } else { return false }
    }

    /// The next event from `buffer`, or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> Event? {
        if endPending {
            endPending = false
            return .end(trailers: nil)
        }
        while true {
            switch state {
            case .head:
                guard let head = try decodeHead(&buffer) else { return nil }
                if isInterim(head) { continue }  // interim responses are not relayed
                switch framing {
                case .none: endPending = true
                case .length(let length): state = .length(remaining: length)
                case .chunked: state = .chunkSize
                case .untilClose: state = .untilClose
                }
                return .head(head)
            case .length(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = Int(min(remaining, Int64(buffer.readableBytes)))
                let slice = buffer.readSlice(length: count)!
                if remaining == Int64(count) {
                    state = .head
                    endPending = true
                } else {
                    state = .length(remaining: remaining - Int64(count))
                }
                return .body(slice)
            case .chunkSize:
                guard let size = try decodeChunkSize(&buffer) else { return nil }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = Int(min(remaining, Int64(buffer.readableBytes)))
                let slice = buffer.readSlice(length: count)!
                state = remaining == Int64(count) ? .chunkDataEnd : .chunkData(remaining: remaining - Int64(count))
                return .body(slice)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .malformedChunk }
                state = .chunkSize
            case .trailers:
                guard let trailers = try decodeTrailers(&buffer) else { return nil }
                state = .head
                return .end(trailers: trailers.readableBytes > 0 ? trailers : nil)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            }
        }
    }

    /// The peer closed its side: ends a body delimited by the close, or reports a cut message.
    public mutating func inputClosed(remaining: ByteBuffer) throws(HTTP1Error) -> Event? {
        switch state {
        case .untilClose:
            state = .head
            return .end(trailers: nil)
        case .head where !endPending && remaining.readableBytes == 0:
            return nil
        case .head where endPending:
            endPending = false
            return .end(trailers: nil)
        default:
            throw .unexpectedEnd
        }
    }

    // MARK: Heads

    private mutating func decodeHead(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> HTTP1Head? {
        if kind == .request {
            // A server ought to ignore empty lines before a request line (RFC 9112 §2.2).
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                buffer.moveReaderIndex(forwardBy: 2)
                scanned = 0
            }
        }
        guard let end = try findSectionEnd(buffer, startLine: true) else { return nil }
        let bytes = buffer.readSlice(length: end)!
        return try parseHead(bytes)
    }

    /// The length of the head or trailer section at the start of `buffer`, up to and including the
    /// empty line that ends it, or nil while it is incomplete. Resumes where the last call stopped.
    ///
    /// A line feed without its carriage return is refused as soon as it is seen (RFC 9112 §2.2
    /// lets a recipient reject it; waiting instead would hold the connection until a timeout).
    private mutating func findSectionEnd(_ buffer: ByteBuffer, startLine: Bool) throws(HTTP1Error) -> Int? {
        let available = buffer.readableBytes
        let limit = min(available, maxHeadSize)
        let scan: SectionScan = buffer.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress else { return .incomplete }
            var index = scanned
            // Line feeds are found with memchr, which looks at many bytes per step.
            while index < limit, let found = memchr(base + index, 0x0A, limit - index) {
                index = base.distance(to: UnsafeRawPointer(found))
                guard index > 0, raw[index - 1] == 0x0D else {
                    return .bareLineFeed(inStartLine: startLine && !raw[..<index].contains(0x0A))
                }
                if index >= 3, raw[index - 2] == 0x0A, raw[index - 3] == 0x0D { return .end(index + 1) }
                index += 1
            }
            return .incomplete
        }
        switch scan {
        case .end(let end):
            scanned = 0
            return end
        case .incomplete:
            // Nothing past the limit is searched: a section that has not ended by then never fits.
            if available > maxHeadSize { throw .headTooLarge }
            scanned = available
            return nil
        case .bareLineFeed(let inStartLine):
            throw inStartLine ? .malformedStartLine : .malformedField
        }
    }

    private enum SectionScan {
        case end(Int)
        case incomplete
        case bareLineFeed(inStartLine: Bool)
    }

    private func isInterim(_ head: HTTP1Head) -> Bool {
        kind == .response && head.status < 200 && head.status != 101
    }

    private mutating func parseHead(_ bytes: ByteBuffer) throws(HTTP1Error) -> HTTP1Head {
        let parsed: Result<(HTTP1Head, Framing), HTTP1Error> = bytes.withUnsafeReadableBytes { raw in
            do throws(HTTP1Error) {
                var cursor = 0
                var minor = 1
                var method = ""
                var target = ""
                var status = 0
                switch kind {
                case .request:
                    let methodEnd = try Self.scanToken(raw, from: 0, until: 0x20)
                    guard methodEnd > 0 else { throw HTTP1Error.malformedStartLine }
                    var index = methodEnd + 1
                    let targetStart = index
                    while index < raw.count, raw[index] > 0x20, raw[index] < 0x7F { index += 1 }
                    guard index > targetStart, index + 10 < raw.count, raw[index] == 0x20 else {
                        throw HTTP1Error.malformedStartLine
                    }
                    minor = try Self.parseVersion(raw, at: index + 1)
                    guard raw[index + 9] == 0x0D, raw[index + 10] == 0x0A else { throw HTTP1Error.malformedStartLine }
                    method = String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<methodEnd]), as: UTF8.self)
                    target = String(decoding: UnsafeRawBufferPointer(rebasing: raw[targetStart..<index]), as: UTF8.self)
                    cursor = index + 11
                case .response:
                    minor = try Self.parseVersion(raw, at: 0)
                    guard raw.count > 12, raw[8] == 0x20 else { throw HTTP1Error.malformedStartLine }
                    for offset in 9..<12 {
                        let digit = raw[offset] &- 0x30
                        guard digit <= 9 else { throw HTTP1Error.malformedStartLine }
                        status = status * 10 + Int(digit)
                    }
                    // RFC 9110 §15: status codes run from 100; below that the body cannot be framed.
                    guard status >= 100 else { throw HTTP1Error.malformedStartLine }
                    var index = 12
                    if raw[index] == 0x20 {
                        index += 1
                        while index < raw.count, raw[index] == 0x09 || (raw[index] >= 0x20 && raw[index] != 0x7F) { index += 1 }
                    }
                    guard index + 1 < raw.count, raw[index] == 0x0D, raw[index + 1] == 0x0A else {
                        throw HTTP1Error.malformedStartLine
                    }
                    cursor = index + 2
                }
                let fields = try Self.parseFields(raw, from: cursor, limit: maxFieldCount)
                let head = HTTP1Head(bytes: bytes, fields: fields.fields, minorVersion: minor, method: method,
                                     target: target, status: status)
                return .success((head, try framingOf(head, raw: raw)))
            } catch {
                return .failure(error)
            }
        }
        let (head, framing) = try parsed.get()
        self.framing = framing
        // An interim response comes before the final one, which the flag is still meant for.
        if !isInterim(head) { responseToHEAD = false }
        return head
    }

    /// `HTTP/1.y` at `offset`, as its minor version: 0, or 1 for `HTTP/1.1` and later minor versions,
    /// which are handled as the highest one implemented (RFC 9110 §2.5). Another `HTTP/x.y` is
    /// unsupported, anything else malformed.
    private static func parseVersion(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(HTTP1Error) -> Int {
        guard offset + 8 <= raw.count else { throw .malformedStartLine }
        guard raw[offset] == 0x48, raw[offset + 1] == 0x54, raw[offset + 2] == 0x54, raw[offset + 3] == 0x50,
              raw[offset + 4] == 0x2F  // "HTTP/"
        else { throw .malformedStartLine }
        let major = raw[offset + 5] &- 0x30, dot = raw[offset + 6], minor = raw[offset + 7] &- 0x30
        guard major <= 9, dot == 0x2E, minor <= 9 else { throw .malformedStartLine }
        guard major == 1 else { throw .unsupportedVersion }
        return min(Int(minor), 1)
    }

    /// The index of `terminator` after a run of token characters starting at `from`.
    private static func scanToken(_ raw: UnsafeRawBufferPointer, from: Int, until terminator: UInt8) throws(HTTP1Error) -> Int {
        var index = from
        while index < raw.count, isTokenByte(raw[index]) { index += 1 }
        guard index < raw.count, raw[index] == terminator else { throw .malformedStartLine }
        return index
    }

    /// RFC 9110 `tchar`: letters, digits and ``!#$%&'*+-.^_`|~``, as a 256-bit set in four
    /// constants (a table in a global would cost a lazy-initialisation check on every byte).
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        let word: UInt64
        switch byte >> 6 {
        case 0: word = 0x03FF_6CFA_0000_0000  // ! # $ % & ' * + - . 0-9
        case 1: word = 0x57FF_FFFF_C7FF_FFFE  // A-Z ^ _ ` a-z | ~
        default: return false
        }
        return (word >> UInt64(byte & 63)) & 1 == 1
    }

    /// Header field lines from `from` up to the empty line that ends the block.
    static func parseFields(_ raw: UnsafeRawBufferPointer, from: Int, limit: Int) throws(HTTP1Error) -> (fields: [HTTP1Field], end: Int) {
        var fields: [HTTP1Field] = []
        fields.reserveCapacity(16)
        var index = from
        while true {
            guard index + 1 < raw.count else { throw .malformedField }
            if raw[index] == 0x0D {
                guard raw[index + 1] == 0x0A else { throw .malformedField }
                return (fields, index + 2)
            }
            let nameStart = index
            while index < raw.count, isTokenByte(raw[index]) { index += 1 }
            // No empty names, no space before the colon, no folded lines.
            guard index > nameStart, index < raw.count, raw[index] == 0x3A else { throw .malformedField }
            let nameEnd = index
            index += 1
            while index < raw.count, raw[index] == 0x20 || raw[index] == 0x09 { index += 1 }
            let valueStart = index
            while index < raw.count, raw[index] == 0x09 || (raw[index] >= 0x20 && raw[index] != 0x7F) { index += 1 }
            guard index + 1 < raw.count, raw[index] == 0x0D, raw[index + 1] == 0x0A else { throw .malformedField }
            var valueEnd = index
            while valueEnd > valueStart, raw[valueEnd - 1] == 0x20 || raw[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            if fields.count == limit { throw .tooManyFields }
            fields.append(HTTP1Field(nameStart: Int32(nameStart), nameEnd: Int32(nameEnd),
                                     valueStart: Int32(valueStart), valueEnd: Int32(valueEnd)))
            index += 2
        }
    }

    // MARK: Framing

    private func framingOf(_ head: HTTP1Head, raw: UnsafeRawBufferPointer) throws(HTTP1Error) -> Framing {
        var length: Int64?
        var codings = 0
        var chunked = false
        var finalCodingChunked = false
        for field in head.fields {
            if head.name(of: field, is: "content-length") {
                guard let value = Self.parseLength(raw, field), length == nil || length == value else {
                    throw .invalidContentLength
                }
                length = value
            } else if head.name(of: field, is: "transfer-encoding") {
                codings += 1
                chunked = head.value(of: field, is: "chunked")
                if let last = Self.lastCodingIsChunked(raw, field) { finalCodingChunked = last }
            }
        }
        switch kind {
        case .request:
            if codings > 0 {
                if head.minorVersion == 0 { throw .transferEncodingInHTTP10 }
                if length != nil { throw .conflictingFraming }
                guard codings == 1, chunked else { throw .unsupportedTransferCoding }
                return .chunked
            }
            if let length, length > 0 { return .length(length) }
            return .none
        case .response:
            if responseToHEAD || head.status < 200 || head.status == 204 || head.status == 304 { return .none }
            if codings > 0 {
                if head.minorVersion == 0 { throw .transferEncodingInHTTP10 }
                if length != nil { throw .conflictingFraming }
                // RFC 9112 §6.3: chunked as the final coding delimits the body whatever codings come
                // before it; any other final coding leaves the end to the close.
                return finalCodingChunked ? .chunked : .untilClose
            }
            if let length { return length > 0 ? .length(length) : .none }
            return .untilClose
        }
    }

    /// Whether the last coding a Transfer-Encoding field lists is `chunked`; nil when it lists none.
    private static func lastCodingIsChunked(_ raw: UnsafeRawBufferPointer, _ field: HTTP1Field) -> Bool? {
        let start = Int(field.valueStart)
        var end = Int(field.valueEnd)
        while end > start, raw[end - 1] == 0x2C || raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        guard end > start else { return nil }
        var begin = end - 1
        while begin > start, raw[begin - 1] != 0x2C { begin -= 1 }
        while raw[begin] == 0x20 || raw[begin] == 0x09 { begin += 1 }
        guard end - begin == 7 else { return false }
        for (offset, expected) in "chunked".utf8.enumerated() where HTTP1Head.lowercasedASCII(raw[begin + offset]) != expected {
            return false
        }
        return true
    }

    private static func parseLength(_ raw: UnsafeRawBufferPointer, _ field: HTTP1Field) -> Int64? {
        guard field.valueLength > 0, field.valueLength <= 18 else { return nil }
        var value: Int64 = 0
        for index in Int(field.valueStart)..<Int(field.valueEnd) {
            let digit = raw[index] &- 0x30
            guard digit <= 9 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    // MARK: Chunks

    private mutating func decodeChunkSize(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> Int64? {
        let result: Result<(size: Int64, consumed: Int)?, HTTP1Error> = buffer.withUnsafeReadableBytes { raw in
            var index = 0
            var size: Int64 = 0
            while index < raw.count, let digit = Self.hexValue(raw[index]) {
                guard index < 15 else { return .failure(.malformedChunk) }
                size = size << 4 | Int64(digit)
                index += 1
            }
            if index == raw.count { return raw.count > 1024 ? .failure(.malformedChunk) : .success(nil) }
            guard index > 0 else { return .failure(.malformedChunk) }
            // Chunk extensions are allowed and ignored; they may not hold control characters.
            // Whitespace after the size may only lead to one (RFC 9112 §7.1.1).
            let sizeEnd = index
            while index < raw.count, raw[index] == 0x20 || raw[index] == 0x09 { index += 1 }
            if index < raw.count, raw[index] == 0x3B {
                while index < raw.count, raw[index] != 0x0D {
                    guard raw[index] == 0x09 || (raw[index] >= 0x20 && raw[index] != 0x7F) else { return .failure(.malformedChunk) }
                    index += 1
                }
            } else if index > sizeEnd, index < raw.count {
                return .failure(.malformedChunk)
            }
            guard index + 1 < raw.count else { return raw.count > 1024 ? .failure(.malformedChunk) : .success(nil) }
            guard raw[index] == 0x0D, raw[index + 1] == 0x0A else { return .failure(.malformedChunk) }
            return .success((size, index + 2))
        }
        guard let line = try result.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: line.consumed)
        return line.size
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// The trailer section after the last chunk, up to and including its empty line.
    private mutating func decodeTrailers(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> ByteBuffer? {
        guard buffer.readableBytes >= 2 else { return nil }
        if buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
            buffer.moveReaderIndex(forwardBy: 2)
            return ByteBuffer()
        }
        guard let end = try findSectionEnd(buffer, startLine: false) else { return nil }
        let block = buffer.readSlice(length: end)!
        let valid: Bool = block.withUnsafeReadableBytes { raw in
            (try? Self.parseFields(raw, from: 0, limit: maxFieldCount)) != nil
        }
        guard valid else { throw .malformedField }
        return block.getSlice(at: block.readerIndex, length: end - 2)
    }
}

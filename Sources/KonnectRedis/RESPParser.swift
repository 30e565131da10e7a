import NIOCore

/// An incremental RESP2 reader: feed it bytes as they arrive, take whole values out.
///
/// A frame may be split anywhere across reads. Scalars are taken from the buffer only once they are
/// complete; an array's finished elements are kept in the parser while the rest arrives, so a long
/// reply is not parsed again with every read. After an error the parser's state is undefined and the
/// connection must be closed: nothing that follows can be trusted to start at a frame boundary.
public struct RESPParser: Sendable {
    /// Bounds that keep a broken or hostile peer from making the client allocate without end.
    public struct Limits: Sendable, Hashable {
        /// Longest bulk string, in bytes; Redis's own `proto-max-bulk-len` default.
        public var maxBulkLength: Int
        /// Deepest nesting of arrays; a top-level array is depth 1.
        public var maxDepth: Int
        /// Most elements in one array.
        public var maxArrayLength: Int
        /// Longest simple string, error or integer line, in bytes.
        public var maxLineLength: Int

        public init(maxBulkLength: Int = 512 * 1024 * 1024, maxDepth: Int = 32,
                    maxArrayLength: Int = 16 * 1024 * 1024, maxLineLength: Int = 64 * 1024) {
            self.maxBulkLength = maxBulkLength
            self.maxDepth = maxDepth
            self.maxArrayLength = maxArrayLength
            self.maxLineLength = maxLineLength
        }
    }

    /// An array whose header has been read but not all of its elements.
    private struct OpenArray: Sendable {
        var elements: [RESPValue]
        var remaining: Int
    }

    public let limits: Limits
    private var open: [OpenArray] = []
    /// The length from a bulk string header already consumed, while its body is incomplete.
    private var bulkLength: Int?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The next complete value in `buffer`, consuming its bytes; `nil` if more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while true {
            guard var value = try nextElement(from: &buffer) else { return nil }
            // Close every array that this value completes, innermost first.
            while !open.isEmpty {
                open[open.count - 1].elements.append(value)
                open[open.count - 1].remaining -= 1
                guard open[open.count - 1].remaining == 0 else { break }
                value = .array(open.removeLast().elements)
            }
            if open.isEmpty { return value }
        }
    }

    /// The next scalar or empty/null array, opening any non-empty array headers on the way;
    /// `nil` when more bytes are needed.
    private mutating func nextElement(from buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while true {
            if let length = bulkLength {
                guard buffer.readableBytes >= length + 2 else { return nil }
                let body = buffer.readSlice(length: length)!
                guard buffer.readInteger(as: UInt16.self) == Self.crlf else {
                    throw .protocolError("bulk string of \(length) bytes not followed by CRLF")
                }
                bulkLength = nil
                return .bulkString(body)
            }
            guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
            guard Self.types.contains(type) else {
                throw .protocolError("unknown RESP2 type byte 0x\(String(type, radix: 16))")
            }
            guard let line = try readLine(from: &buffer) else { return nil }
            switch type {
            case UInt8(ascii: "+"):
                return .simpleString(String(buffer: line))
            case UInt8(ascii: "-"):
                return .error(String(buffer: line))
            case UInt8(ascii: ":"):
                guard let value = Self.decimal(line) else {
                    throw .protocolError("invalid integer reply \(Self.quoted(line))")
                }
                return .integer(value)
            case UInt8(ascii: "$"):
                let length = try length(line, of: "bulk string", limit: limits.maxBulkLength)
                if length < 0 { return .null }
                bulkLength = length
            case UInt8(ascii: "*"):
                let count = try length(line, of: "array", limit: limits.maxArrayLength)
                guard open.count < limits.maxDepth else {
                    throw .protocolError("arrays nested deeper than \(limits.maxDepth) levels")
                }
                if count < 0 { return .array(nil) }
                if count == 0 { return .array([]) }
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(count, 1024))
                open.append(OpenArray(elements: elements, remaining: count))
            default:
                preconditionFailure("type byte checked above")
            }
        }
    }

    /// The text of the next CRLF-terminated line, without its type byte and CRLF.
    private func readLine(from buffer: inout ByteBuffer) throws(RedisError) -> ByteBuffer? {
        let view = buffer.readableBytesView
        let contentStart = view.startIndex + 1
        let searchEnd = min(view.endIndex, contentStart + limits.maxLineLength + 1)
        guard let end = view[contentStart..<searchEnd].firstIndex(where: { $0 == Self.cr || $0 == Self.lf }) else {
            if view.endIndex >= contentStart + limits.maxLineLength + 1 {
                throw .protocolError("line longer than \(limits.maxLineLength) bytes")
            }
            return nil
        }
        guard view[end] == Self.cr else { throw .protocolError("line ends in LF without CR") }
        guard end + 1 < view.endIndex else { return nil }
        guard view[end + 1] == Self.lf else { throw .protocolError("CR inside a line") }
        buffer.moveReaderIndex(forwardBy: 1)
        let line = buffer.readSlice(length: end - contentStart)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A bulk string or array length: -1 (null) or 0 through `limit`.
    private func length(_ line: ByteBuffer, of kind: String, limit: Int) throws(RedisError) -> Int {
        guard let value = Self.decimal(line), value >= -1 else {
            throw .protocolError("invalid \(kind) length \(Self.quoted(line))")
        }
        guard value <= limit else {
            throw .protocolError("\(kind) length \(value) exceeds the limit of \(limit)")
        }
        return value
    }

    /// A decimal integer with an optional minus sign, or `nil` if malformed or out of range.
    static func decimal(_ line: ByteBuffer) -> Int? {
        var digits = line.readableBytesView[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            // Accumulate negatively so Int.min parses too.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    private static func quoted(_ line: ByteBuffer) -> String {
        "\"" + String(decoding: line.readableBytesView.prefix(32), as: UTF8.self) + "\""
    }

    private static let types: [UInt8] = ["+", "-", ":", "$", "*"].map { UInt8(ascii: $0) }
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let crlf = UInt16(cr) << 8 | UInt16(lf)
}

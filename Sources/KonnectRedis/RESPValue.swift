import NIOCore

/// One RESP2 value: a reply from Redis, or an element of one.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR ...`: an error reply, the message without the leading `-`.
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int)
    /// `$3 foo`: binary-safe bytes; `nil` is the null bulk string (`$-1`), RESP2's "no value".
    case bulkString(ByteBuffer?)
    /// `*2 ...`: a list of values, possibly nested; `nil` is the null array (`*-1`).
    case array([RESPValue]?)

    /// The null bulk string, which `GET` returns for a missing key.
    public static let null = RESPValue.bulkString(nil)

    /// A bulk string holding the UTF-8 bytes of `string`.
    public static func bulkString(_ string: String) -> RESPValue {
        .bulkString(ByteBuffer(string: string))
    }

    /// True for the null bulk string and the null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }

    /// The value as an integer: an integer reply, or a string reply holding a decimal integer
    /// (what `GET` returns for a counter set by `INCR`).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .simpleString(let text): Int(text)
        case .bulkString(let bytes?): Int(String(buffer: bytes))
        default: nil
        }
    }

    /// The value as text: a simple or bulk string (bytes read as UTF-8), or an integer's digits.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(buffer: bytes)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The raw bytes of a bulk string.
    public var bytes: ByteBuffer? {
        if case .bulkString(let bytes) = self { return bytes }
        return nil
    }

    /// The elements of a non-null array.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// The value itself, or `RedisError.server` if it is an error reply: turns a pipeline's
    /// per-command answer into a throwing one.
    public func throwingServerError() throws(RedisError) -> RESPValue {
        if case .error(let message) = self { throw RedisError.server(message) }
        return self
    }
}

extension RESPValue: CustomStringConvertible {
    /// A redis-cli-like rendering, for logs and test failures.
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let bytes?): return "\"\(String(buffer: bytes))\""
        case .array(let elements?): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

import NIOCore

/// One header field of a parsed head, as offsets into `HTTP1Head.bytes`.
public struct HTTP1Field: Sendable {
    public let nameStart: Int32
    public let nameEnd: Int32
    public let valueStart: Int32
    public let valueEnd: Int32

    public var nameLength: Int { Int(nameEnd - nameStart) }
    public var valueLength: Int { Int(valueEnd - valueStart) }
}

/// A request or response head exactly as received, with its fields located but not copied.
///
/// Nothing is turned into a `String` until someone asks for it, so forwarding a header costs a
/// byte copy into the outgoing head and nothing else. A class, so that handing a head from the
/// decoder to the proxy and keeping it for the exchange costs one reference, not one per field.
public final class HTTP1Head: Sendable {
    /// The head's bytes, from the start line to the empty line that ends it (inclusive).
    public let bytes: ByteBuffer
    public let fields: [HTTP1Field]
    /// 0 or 1 (HTTP/1.0 or HTTP/1.1).
    public let minorVersion: Int
    /// Requests: the method and the request target. Responses: empty.
    public let method: String
    public let target: String
    /// Responses: the status code. Requests: 0.
    public let status: Int

    public init(bytes: ByteBuffer, fields: [HTTP1Field], minorVersion: Int, method: String, target: String, status: Int) {
        self.bytes = bytes
        self.fields = fields
        self.minorVersion = minorVersion
        self.method = method
        self.target = target
        self.status = status
    }

    /// `byte` with an ASCII upper-case letter made lower-case; every other byte as it is (so `^`
    /// does not pass for `~`, nor `@` for a backquote).
    @usableFromInline @inline(__always)
    static func lowercasedASCII(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// True when the bytes at `start..<end` equal `lowercased` with ASCII case ignored.
    @inlinable
    func bytes(from start: Int32, to end: Int32, equalLowercased lowercased: some Sequence<UInt8>) -> Bool {
        bytes.withUnsafeReadableBytes { raw in
            var offset = Int(start)
            for expected in lowercased {
                if offset == Int(end) || Self.lowercasedASCII(raw[offset]) != expected { return false }
                offset += 1
            }
            return offset == Int(end)
        }
    }

    /// True when the field's name equals `lowercased` ignoring ASCII case.
    @inlinable
    public func name(of field: HTTP1Field, is lowercased: StaticString) -> Bool {
        field.nameLength == lowercased.utf8CodeUnitCount
            && bytes(from: field.nameStart, to: field.nameEnd,
                     equalLowercased: UnsafeBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount))
    }

    /// Case-insensitive comparison of a field name with any lower-case string.
    public func name(of field: HTTP1Field, equalsLowercased lowercased: some StringProtocol) -> Bool {
        field.nameLength == lowercased.utf8.count
            && bytes(from: field.nameStart, to: field.nameEnd, equalLowercased: lowercased.utf8)
    }

    public func nameString(_ field: HTTP1Field) -> String {
        bytes.getString(at: bytes.readerIndex + Int(field.nameStart), length: field.nameLength) ?? ""
    }

    public func value(_ field: HTTP1Field) -> String {
        bytes.getString(at: bytes.readerIndex + Int(field.valueStart), length: field.valueLength) ?? ""
    }

    /// The first field named `lowercased`, if any.
    public func first(_ lowercased: StaticString) -> HTTP1Field? {
        fields.first { name(of: $0, is: lowercased) }
    }

    /// The value of the first field named `lowercased`, if any.
    public func firstValue(_ lowercased: StaticString) -> String? {
        first(lowercased).map(value)
    }

    /// Every value of the fields named `lowercased` (any case), in order.
    public func values(named lowercased: some StringProtocol) -> [String] {
        fields.filter { name(of: $0, equalsLowercased: lowercased) }.map(value)
    }

    /// True when the field's value, with ASCII case ignored, equals `lowercased`.
    public func value(of field: HTTP1Field, is lowercased: StaticString) -> Bool {
        field.valueLength == lowercased.utf8CodeUnitCount
            && bytes(from: field.valueStart, to: field.valueEnd,
                     equalLowercased: UnsafeBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount))
    }

    /// Writes, as received and with their line endings, the lines of the fields `keep` accepts.
    /// Consecutive kept lines are copied in one piece, so a head with nothing to drop is one copy.
    @inlinable
    public func writeFieldLines(to writer: inout HTTP1HeadWriter, keeping keep: (HTTP1Field) -> Bool) {
        // Field lines are contiguous: each ends where the next begins; the last one where the
        // empty line that ends the head begins.
        bytes.withUnsafeReadableBytes { raw in
            var runStart = -1
            var runEnd = 0
            for index in fields.indices {
                let field = fields[index]
                if keep(field) {
                    if runStart < 0 { runStart = Int(field.nameStart) }
                    runEnd = index + 1 < fields.count ? Int(fields[index + 1].nameStart) : raw.count - 2
                } else if runStart >= 0 {
                    writer.write(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd]))
                    runStart = -1
                }
            }
            if runStart >= 0 { writer.write(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd])) }
        }
    }

    /// Writes the field's whole line (`name: value`, as received) without its line ending.
    @inlinable
    public func writeFieldLine(_ field: HTTP1Field, to writer: inout HTTP1HeadWriter) {
        writeBytes(from: Int(field.nameStart), to: Int(field.valueEnd), to: &writer)
    }

    /// Writes the bytes from `start` to `end` (offsets into `bytes`).
    @inlinable
    public func writeBytes(from start: Int, to end: Int, to writer: inout HTTP1HeadWriter) {
        bytes.withUnsafeReadableBytes { raw in
            writer.write(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
        }
    }

    /// Calls `body` with the field's value bytes.
    public func withValueBytes<T>(_ field: HTTP1Field, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        bytes.withUnsafeReadableBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[Int(field.valueStart)..<Int(field.valueEnd)]))
        }
    }
}

extension String {
    /// A request target's path before `?` and the query after it, if any.
    public func splitPathAndQuery() -> (Substring, Substring?) {
        // A byte search: `?` is ASCII, so its UTF-8 index is also a character boundary.
        guard let mark = utf8.firstIndex(of: UInt8(ascii: "?")) else { return (self[...], nil) }
        return (self[..<mark], self[utf8.index(after: mark)...])
    }
}

import NIOCore

/// One message of an `application/vnd.amazon.eventstream` body: typed headers and a payload.
public struct AWSEventStreamMessage: Sendable, Equatable {
    public var headers: [AWSEventStreamHeader]
    public var payload: ByteBuffer

    public init(headers: [AWSEventStreamHeader], payload: ByteBuffer) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the string header `name` (`:event-type`, `:message-type` …).
    public func string(_ name: String) -> String? {
        for header in headers where header.name == name {
            if case .string(let value) = header.value { return value }
        }
        return nil
    }
}

/// A header of an event-stream message, with its value in the wire's type.
public struct AWSEventStreamHeader: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case bool(Bool)
        case byte(Int8)
        case int16(Int16)
        case int32(Int32)
        case int64(Int64)
        case bytes([UInt8])
        case string(String)
        /// Milliseconds since 1970.
        case timestamp(Int64)
        case uuid([UInt8])
    }

    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}

/// Reads an `application/vnd.amazon.eventstream` body incrementally; bytes may split messages
/// anywhere. Each message is
///
///     total length (u32) | headers length (u32) | prelude CRC-32 | headers | payload | message CRC-32
///
/// big-endian, with CRC-32 as in gzip (IEEE 802.3, reflected). The prelude's checksum is checked
/// as soon as its 12 bytes are in, before its lengths are trusted; the message's once it is
/// whole. A bad checksum, an impossible length or a malformed header fails the stream as a
/// provider error (`AIError(.server)`), and every later call fails the same way.
public struct AWSEventStreamDecoder: Sendable {
    /// aws-c-event-stream's limits: a larger message, or headers, are refused rather than
    /// buffered.
    public static let maximumMessageBytes = 16 << 20
    public static let maximumHeadersBytes = 128 << 10
    /// Prelude (12) plus message CRC (4).
    static let overheadBytes = 16

    private var buffer = ByteBuffer()
    /// The prelude of the message being gathered, once checked.
    private var pending: (total: Int, headers: Int)?
    private var failure: AIError?

    public init() {}

    /// The messages `bytes` completes.
    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [AWSEventStreamMessage] {
        if let failure { throw failure }
        buffer.writeImmutableBuffer(bytes)
        var messages: [AWSEventStreamMessage] = []
        do throws(AIError) {
            while let message = try nextMessage() { messages.append(message) }
        } catch {
            failure = error
            throw error
        }
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 64 << 10 {
            buffer.discardReadBytes()
        }
        return messages
    }

    /// The body has ended: fails when it ended inside a message.
    public mutating func finish() throws(AIError) {
        if let failure { throw failure }
        guard buffer.readableBytes == 0 else {
            let expected = pending.map { " of \($0.total)" } ?? ""
            throw AIError(.server, "The provider's event stream was cut inside a message (\(buffer.readableBytes)\(expected) bytes)")
        }
    }

    private mutating func nextMessage() throws(AIError) -> AWSEventStreamMessage? {
        if pending == nil {
            guard buffer.readableBytes >= 12,
                  let total = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                  let headers = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
                  let preludeCRC = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt32.self)
            else { return nil }
            let computed = buffer.withUnsafeReadableBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
            guard computed == preludeCRC else {
                throw Self.malformed("prelude checksum mismatch (0x\(hex(preludeCRC)) sent, 0x\(hex(computed)) computed)")
            }
            guard total >= Self.overheadBytes, total <= Self.maximumMessageBytes else {
                throw Self.malformed("impossible message length \(total)")
            }
            guard headers <= Self.maximumHeadersBytes, headers <= total - UInt32(Self.overheadBytes) else {
                throw Self.malformed("impossible headers length \(headers) in a message of \(total) bytes")
            }
            pending = (Int(total), Int(headers))
        }
        guard let (total, headersLength) = pending, buffer.readableBytes >= total else { return nil }
        let start = buffer.readerIndex
        let messageCRC = buffer.getInteger(at: start + total - 4, as: UInt32.self)!
        let computed = buffer.withUnsafeReadableBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(total - 4)])) }
        guard computed == messageCRC else {
            throw Self.malformed("message checksum mismatch (0x\(hex(messageCRC)) sent, 0x\(hex(computed)) computed)")
        }
        var headerBytes = buffer.getSlice(at: start + 12, length: headersLength)!
        let payload = buffer.getSlice(at: start + 12 + headersLength, length: total - Self.overheadBytes - headersLength)!
        buffer.moveReaderIndex(forwardBy: total)
        pending = nil
        return AWSEventStreamMessage(headers: try Self.headers(&headerBytes), payload: payload)
    }

    static func headers(_ bytes: inout ByteBuffer) throws(AIError) -> [AWSEventStreamHeader] {
        var headers: [AWSEventStreamHeader] = []
        while bytes.readableBytes > 0 {
            guard let nameLength = bytes.readInteger(as: UInt8.self), nameLength > 0,
                  let name = bytes.readString(length: Int(nameLength)),
                  let type = bytes.readInteger(as: UInt8.self)
            else { throw malformed("a header's name is cut or empty") }
            let value: AWSEventStreamHeader.Value?
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = bytes.readInteger(as: Int8.self).map(AWSEventStreamHeader.Value.byte)
            case 3: value = bytes.readInteger(as: Int16.self).map(AWSEventStreamHeader.Value.int16)
            case 4: value = bytes.readInteger(as: Int32.self).map(AWSEventStreamHeader.Value.int32)
            case 5: value = bytes.readInteger(as: Int64.self).map(AWSEventStreamHeader.Value.int64)
            case 6: value = bytes.readInteger(as: UInt16.self).flatMap { bytes.readBytes(length: Int($0)) }.map(AWSEventStreamHeader.Value.bytes)
            case 7: value = bytes.readInteger(as: UInt16.self).flatMap { bytes.readString(length: Int($0)) }.map(AWSEventStreamHeader.Value.string)
            case 8: value = bytes.readInteger(as: Int64.self).map(AWSEventStreamHeader.Value.timestamp)
            case 9: value = bytes.readBytes(length: 16).map(AWSEventStreamHeader.Value.uuid)
            default: throw malformed("header \(name) has unknown value type \(type)")
            }
            guard let value else { throw malformed("header \(name)'s value is cut") }
            headers.append(AWSEventStreamHeader(name: name, value: value))
        }
        return headers
    }

    static func malformed(_ detail: String) -> AIError {
        AIError(.server, "The provider's event stream is malformed: \(detail)")
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// CRC-32 as gzip, zlib and AWS's event streams compute it (polynomial 0x04C11DB7, reflected,
/// initial and final XOR 0xFFFFFFFF).
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let array = Array(bytes)
        return array.withUnsafeBytes { checksum($0) }
    }
}

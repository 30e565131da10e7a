import NIOCore

/// Writes HTTP/1.1 framing: header lines, chunk headers and the last chunk.
public enum HTTP1Writer {
    /// A chunk of `data` in chunked transfer coding; an empty buffer writes nothing (it would end the body).
    public static func writeChunk(_ data: ByteBuffer, to out: inout ByteBuffer) {
        guard data.readableBytes > 0 else { return }
        writeHex(data.readableBytes, to: &out)
        out.writeStaticString("\r\n")
        var copy = data
        out.writeBuffer(&copy)
        out.writeStaticString("\r\n")
    }

    /// Just the line that precedes a chunk of `size` bytes, for writing the data as its own buffer.
    public static func writeChunkHeader(size: Int, to out: inout ByteBuffer) {
        writeHex(size, to: &out)
        out.writeStaticString("\r\n")
    }

    /// The last chunk, the trailer field lines (as decoded, each ending in CRLF) and the final empty line.
    public static func writeLastChunk(trailers: ByteBuffer?, to out: inout ByteBuffer) {
        out.writeStaticString("0\r\n")
        if var trailers { out.writeBuffer(&trailers) }
        out.writeStaticString("\r\n")
    }

    private static func writeHex(_ value: Int, to out: inout ByteBuffer) {
        let hex: StaticString = "0123456789abcdef"
        var shift = (Int.bitWidth - value.leadingZeroBitCount + 3) / 4 * 4 - 4
        if shift < 0 { shift = 0 }
        hex.withUTF8Buffer { digits in
            while shift >= 0 {
                out.writeInteger(digits[(value >> shift) & 0xF])
                shift -= 4
            }
        }
    }
}

/// Writes a head straight into memory reserved for it, checking each piece against the end of
/// that memory; `ByteBuffer.writeHead` supplies the memory and retries with more when it was short.
/// A head is some twenty pieces: written this way each costs a bounds check and a copy, not a
/// `ByteBuffer` write of its own.
public struct HTTP1HeadWriter {
    @usableFromInline let base: UnsafeMutableRawPointer?
    @usableFromInline let capacity: Int
    @usableFromInline var written = 0
    @usableFromInline var didOverflow = false

    /// Bytes written so far.
    public var count: Int { written }
    /// A write did not fit; what was written is incomplete and must not be used.
    public var overflowed: Bool { didOverflow }

    @usableFromInline
    init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress
        capacity = memory.count
    }

    @inlinable
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard !didOverflow, let base, written + bytes.count <= capacity else {
            didOverflow = true
            return
        }
        (base + written).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        written += bytes.count
    }

    @inlinable
    public mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    // Strings are read in place where their bytes are contiguous (native strings always are), so
    // that writing one costs no copy and no reference counting.
    @inlinable
    public mutating func write(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) == nil {
            var copy = text
            copy.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        }
    }

    @inlinable
    public mutating func write(_ text: Substring) {
        if text.utf8.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) == nil {
            var copy = text
            copy.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        }
    }

    @inlinable
    public mutating func write(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { write($0) }
    }

    /// `name: value\r\n`.
    @inlinable
    public mutating func writeField(_ name: String, _ value: String) {
        write(name)
        write(": ")
        write(value)
        write("\r\n")
    }

    /// `name: value\r\n`.
    @inlinable
    public mutating func writeField(_ name: StaticString, _ value: String) {
        write(name)
        write(": ")
        write(value)
        write("\r\n")
    }

    /// `name: value\r\n`.
    @inlinable
    public mutating func writeField(_ name: StaticString, _ value: Substring) {
        write(name)
        write(": ")
        write(value)
        write("\r\n")
    }

    /// A non-negative integer in decimal, written straight into place two digits at a time.
    public mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        var digits = 1
        var power = 10
        while digits < 19 && value >= power {
            digits += 1
            power &*= 10
        }
        guard !didOverflow, let base, written + digits <= capacity else {
            didOverflow = true
            return
        }
        var rest = value
        var offset = written + digits
        Self.digitPairs.withUTF8Buffer { pairs in
            while rest >= 10 {
                let pair = (rest % 100) &* 2
                rest /= 100
                offset -= 2
                base.storeBytes(of: pairs[pair], toByteOffset: offset, as: UInt8.self)
                base.storeBytes(of: pairs[pair + 1], toByteOffset: offset + 1, as: UInt8.self)
            }
            if offset > written {
                base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 + rest), toByteOffset: offset - 1, as: UInt8.self)
            }
        }
        written += digits
    }

    /// "00", "01" … "99", one after the other.
    @usableFromInline static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
}

extension ByteBuffer {
    /// Appends a head built by `body` with an `HTTP1HeadWriter`. `estimate` is the room reserved
    /// first; when it was short, the room doubles and `body` runs again, so `body` must only write.
    @inlinable
    public mutating func writeHead(estimate: Int, _ body: (inout HTTP1HeadWriter) -> Void) {
        var room = Swift.max(estimate, 64)
        while true {
            var fitted = false
            writeWithUnsafeMutableBytes(minimumWritableBytes: room) { memory in
                var writer = HTTP1HeadWriter(memory)
                body(&writer)
                guard !writer.overflowed else { return 0 }
                fitted = true
                return writer.count
            }
            if fitted { return }
            room *= 2
        }
    }
}

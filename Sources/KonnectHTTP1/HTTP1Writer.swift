import NIOCore

/// Writes HTTP/1.1 framing: header lines, chunk headers and the last chunk.
public enum HTTP1Writer {
    /// `name: value\r\n`.
    @inlinable
    public static func writeField(_ name: StaticString, _ value: Substring, to out: inout ByteBuffer) {
        out.writeStaticString(name)
        out.writeStaticString(": ")
        out.writeSubstring(value)
        out.writeStaticString("\r\n")
    }

    /// `name: value\r\n`.
    @inlinable
    public static func writeField(_ name: StaticString, _ value: String, to out: inout ByteBuffer) {
        out.writeStaticString(name)
        out.writeStaticString(": ")
        out.writeString(value)
        out.writeStaticString("\r\n")
    }

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

    /// A non-negative integer in decimal, without going through `String`.
    public static func writeDecimal(_ value: Int, to out: inout ByteBuffer) {
        precondition(value >= 0)
        if value < 10 {
            out.writeInteger(UInt8(0x30 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[19 - count] = UInt8(0x30 + rest % 10)
                rest /= 10
                count += 1
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
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

import NIOCore

extension JSON {
    /// Compact JSON text, fields in their order.
    public var text: String {
        String(buffer: buffer)
    }

    /// Compact JSON text in a new buffer.
    public var buffer: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256)
        buffer.writeJSON(self)
        return buffer
    }
}

extension ByteBuffer {
    /// Appends `value` as compact JSON text.
    public mutating func writeJSON(_ value: JSON) {
        switch value {
        case .null: writeStaticString("null")
        case .bool(let flag): writeStaticString(flag ? "true" : "false")
        case .number(let number): writeJSONNumber(number)
        case .string(let text): writeJSONString(text)
        case .array(let items):
            writeInteger(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSON(item)
            }
            writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            writeInteger(UInt8(ascii: "{"))
            for (index, field) in object.fields.enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSONString(field.key)
                writeInteger(UInt8(ascii: ":"))
                writeJSON(field.value)
            }
            writeInteger(UInt8(ascii: "}"))
        }
    }

    /// Integers without a fraction (up to 2^53, where a double still holds every integer); other
    /// numbers in Swift's shortest form that reads back the same. JSON has no NaN or infinity:
    /// those become null.
    public mutating func writeJSONNumber(_ number: Double) {
        guard number.isFinite else {
            writeStaticString("null")
            return
        }
        if number == number.rounded(), abs(number) <= 9_007_199_254_740_992 {
            writeString(String(Int64(number)))
        } else {
            writeString(number.description)
        }
    }

    /// `text` as a JSON string literal, escaping what JSON requires (quote, backslash, control
    /// characters); everything else is written as it is.
    public mutating func writeJSONString(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): writeStaticString("\\\"")
                case UInt8(ascii: "\\"): writeStaticString("\\\\")
                case 0x0A: writeStaticString("\\n")
                case 0x0D: writeStaticString("\\r")
                case 0x09: writeStaticString("\\t")
                case 0x08: writeStaticString("\\b")
                case 0x0C: writeStaticString("\\f")
                default:
                    writeStaticString("\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    writeInteger(hex.utf8Start[Int(byte >> 4)])
                    writeInteger(hex.utf8Start[Int(byte & 0x0F)])
                }
            }
            if runStart < bytes.count { writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        writeInteger(UInt8(ascii: "\""))
    }
}

import NIOCore

/// Writes commands the way Redis expects them from clients: an array of bulk strings.
public enum RESPEncoder {
    /// Appends `command` (name then arguments) to `buffer` as `*N\r\n$len\r\narg\r\n...`.
    public static func encode(_ command: [String], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        writeDecimal(command.count, into: &buffer)
        for argument in command {
            buffer.writeStaticString("$")
            writeDecimal(argument.utf8.count, into: &buffer)
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// A rough size of `command` once encoded, to size a buffer in one allocation.
    static func estimatedSize(of command: [String]) -> Int {
        command.reduce(16) { $0 + $1.utf8.count + 16 }
    }

    /// Writes `value` in decimal followed by CRLF.
    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }
}

import NIOCore

/// One server-sent event: its `event:` name (nil when none was given) and its `data:` lines
/// joined by newlines.
public struct ServerSentEvent: Sendable, Equatable {
    public var name: String?
    public var data: String

    public init(name: String? = nil, data: String) {
        self.name = name
        self.data = data
    }
}

/// Reads a `text/event-stream` body incrementally (the WHATWG rules: lines end in LF, CRLF or
/// CR; a blank line ends an event; `:` starts a comment; a single space after the colon is
/// dropped). Bytes may split lines and events anywhere.
public struct ServerSentEventParser: Sendable {
    /// An event larger than this is refused: a provider that never sends a blank line must not
    /// grow memory without end.
    public static let maximumEventBytes = 16 << 20

    private var line: [UInt8] = []
    private var name: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false

    public init() {}

    /// The events `bytes` completes.
    public mutating func parse(_ bytes: ByteBuffer) throws(AIError) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes.readableBytesView {
            if lastWasCR {
                lastWasCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0A, 0x0D:
                lastWasCR = byte == 0x0D
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
                guard line.count + data.count <= Self.maximumEventBytes else {
                    throw AIError(.server, "The provider sent a stream event larger than \(Self.maximumEventBytes) bytes")
                }
            }
        }
        return events
    }

    /// The stream has ended: an event not yet closed by a blank line is dropped (as browsers
    /// do); whether one was pending is returned so callers can tell a cut stream.
    public mutating func finish() -> Bool {
        defer { line = []; data = []; hasData = false; name = nil }
        return !line.isEmpty || hasData
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else {
                name = nil  // an event without data is not dispatched
                return nil
            }
            let event = ServerSentEvent(name: name, data: String(decoding: data, as: UTF8.self))
            data.removeAll(keepingCapacity: true)
            hasData = false
            name = nil
            return event
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count, line[valueStart] == 0x20 { valueStart += 1 }
        let field = line[..<colon]
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: line[valueStart...])
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            name = String(decoding: line[valueStart...], as: UTF8.self)
        }
        return nil
    }
}

extension ByteBuffer {
    /// Appends one server-sent event: `event: name` when named, then `data: …` and a blank line.
    public mutating func writeServerSentEvent(name: String? = nil, data: ByteBuffer) {
        if let name {
            writeStaticString("event: ")
            writeString(name)
            writeStaticString("\n")
        }
        writeStaticString("data: ")
        writeImmutableBuffer(data)
        writeStaticString("\n\n")
    }

    /// Appends one server-sent event whose data is `value`'s JSON text.
    public mutating func writeServerSentEvent(name: String? = nil, json value: JSON) {
        if let name {
            writeStaticString("event: ")
            writeString(name)
            writeStaticString("\n")
        }
        writeStaticString("data: ")
        writeJSON(value)
        writeStaticString("\n\n")
    }
}

/// A DNS record type (RFC 1035 §3.2.2); only the ones Konnect asks for or follows are named.
struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let a = DNSRecordType(rawValue: 1)
    static let cname = DNSRecordType(rawValue: 5)
    static let aaaa = DNSRecordType(rawValue: 28)
    static let opt = DNSRecordType(rawValue: 41)

    var description: String {
        switch self {
        case .a: "A"
        case .cname: "CNAME"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The RCODE of a DNS response (RFC 1035 §4.1.1).
struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt8

    init(rawValue: UInt8) { self.rawValue = rawValue }

    static let noError = DNSResponseCode(rawValue: 0)
    static let formatError = DNSResponseCode(rawValue: 1)
    static let serverFailure = DNSResponseCode(rawValue: 2)
    static let nameError = DNSResponseCode(rawValue: 3)
    static let notImplemented = DNSResponseCode(rawValue: 4)
    static let refused = DNSResponseCode(rawValue: 5)

    var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// A question: a name (lowercase, without the trailing dot) and a record type, class IN.
struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    var name: String
    var type: DNSRecordType

    init(name: String, type: DNSRecordType) {
        self.name = DNSMessage.canonicalName(name)
        self.type = type
    }

    var description: String { "\(name) \(type)" }
}

/// A resource record of the answer section.
struct DNSRecord: Equatable, Sendable {
    enum RecordData: Equatable, Sendable {
        case address(DNSAddress)
        case name(String)
        case other([UInt8])
    }

    var name: String
    var type: DNSRecordType
    /// Seconds; values with the top bit set count as 0 (RFC 2181 §8).
    var ttl: UInt32
    var data: RecordData

    init(name: String, type: DNSRecordType, ttl: UInt32, data: RecordData) {
        self.name = DNSMessage.canonicalName(name)
        self.type = type
        self.ttl = ttl
        self.data = data
    }

    static func address(_ name: String, _ address: DNSAddress, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: address.isIPv4 ? .a : .aaaa, ttl: ttl, data: .address(address))
    }

    static func cname(_ name: String, _ target: String, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .cname, ttl: ttl, data: .name(DNSMessage.canonicalName(target)))
    }
}

/// Why bytes are not a DNS message Konnect can use, or a name cannot be put in one.
enum DNSMessageError: Error, Equatable, CustomStringConvertible {
    case endOfMessage(offset: Int)
    case badCompressionPointer(offset: Int)
    case unsupportedLabelType(offset: Int)
    case nameTooLong
    case invalidName(String)
    case badRecordLength(type: DNSRecordType, length: Int)

    var description: String {
        switch self {
        case .endOfMessage(let offset): "DNS message ends early (at byte \(offset))"
        case .badCompressionPointer(let offset): "DNS name compression pointer at byte \(offset) does not point backwards"
        case .unsupportedLabelType(let offset): "unsupported DNS label type at byte \(offset)"
        case .nameTooLong: "DNS name longer than 255 bytes"
        case .invalidName(let name): "'\(name)' is not a valid DNS name (labels of 1 to 63 bytes, 255 bytes in all)"
        case .badRecordLength(let type, let length): "\(type) record with \(length) bytes of data"
        }
    }
}

/// The answer a response gives to one question, after following CNAMEs inside the response.
enum DNSAnswer: Equatable, Sendable {
    /// Addresses of the asked type; `ttl` is the smallest TTL along the CNAME chain and the records.
    case addresses([DNSAddress], ttl: UInt32)
    /// The name is an alias of `target`, and the response holds no records of the type for it.
    case alias(String, ttl: UInt32)
    /// The name exists but has no records of the type.
    case noData
    /// NXDOMAIN: the name does not exist.
    case nameError
    /// The response had the truncation bit set; the answer needs another transport.
    case truncated
    /// The lookup failed (server failure, refusal, timeout); `reason` says how.
    case failure(String)
}

/// A DNS message (RFC 1035 §4): header, questions and answers; the authority and additional
/// sections are skipped when decoding. Names are kept in lowercase without the trailing dot.
struct DNSMessage: Equatable, Sendable {
    var id: UInt16
    var isResponse = false
    var recursionDesired = true
    var recursionAvailable = false
    var truncated = false
    var responseCode = DNSResponseCode.noError
    var questions: [DNSQuestion] = []
    var answers: [DNSRecord] = []
    /// When set, an EDNS(0) OPT record in the additional section advertises this UDP payload size.
    var udpPayloadSize: UInt16?

    init(id: UInt16, isResponse: Bool = false, truncated: Bool = false, responseCode: DNSResponseCode = .noError,
         questions: [DNSQuestion] = [], answers: [DNSRecord] = [], udpPayloadSize: UInt16? = nil) {
        self.id = id
        self.isResponse = isResponse
        self.recursionAvailable = isResponse
        self.truncated = truncated
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
        self.udpPayloadSize = udpPayloadSize
    }

    /// A recursive query for one question, advertising 1232-byte UDP responses (the size that
    /// avoids IP fragmentation on common paths), so that long answers are rarely truncated.
    static func query(id: UInt16, _ question: DNSQuestion) -> DNSMessage {
        DNSMessage(id: id, questions: [question], udpPayloadSize: 1232)
    }

    static func canonicalName(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    // MARK: Encoding

    /// The wire form, without name compression.
    func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(responseCode.rawValue & 0x0F)
        for value in [id, flags, UInt16(questions.count), UInt16(answers.count), 0, udpPayloadSize == nil ? 0 : 1] {
            out.appendUInt16(value)
        }
        for question in questions {
            try out.appendName(question.name)
            out.appendUInt16(question.type.rawValue)
            out.appendUInt16(1)
        }
        for record in answers {
            try out.appendName(record.name)
            out.appendUInt16(record.type.rawValue)
            out.appendUInt16(1)
            out.appendUInt32(record.ttl)
            var data: [UInt8] = []
            switch record.data {
            case .address(let address): data = address.bytes
            case .name(let name): try data.appendName(name)
            case .other(let bytes): data = bytes
            }
            out.appendUInt16(UInt16(data.count))
            out.append(contentsOf: data)
        }
        if let udpPayloadSize {
            out.append(0)  // root name
            out.appendUInt16(DNSRecordType.opt.rawValue)
            out.appendUInt16(udpPayloadSize)
            out.appendUInt32(0)  // extended RCODE, version 0, no flags
            out.appendUInt16(0)
        }
        return out
    }

    // MARK: Decoding

    /// Decodes a message. A truncated response (TC bit set) decodes to its header and whatever
    /// questions and answers are complete.
    init(decoding bytes: [UInt8]) throws {
        var reader = DNSReader(bytes: bytes)
        id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        isResponse = flags & 0x8000 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x000F))
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        _ = try reader.readUInt16()
        _ = try reader.readUInt16()
        udpPayloadSize = nil
        do {
            for _ in 0..<questionCount {
                let name = try reader.readName()
                let type = DNSRecordType(rawValue: try reader.readUInt16())
                _ = try reader.readUInt16()
                questions.append(DNSQuestion(name: name, type: type))
            }
            for _ in 0..<answerCount {
                answers.append(try reader.readRecord())
            }
        } catch DNSMessageError.endOfMessage(let offset) {
            if !truncated { throw DNSMessageError.endOfMessage(offset: offset) }
        }
    }

    /// What this response says about `question`, following CNAME records inside it.
    func answer(to question: DNSQuestion) -> DNSAnswer {
        if truncated { return .truncated }
        switch responseCode {
        case .noError: break
        case .nameError: return .nameError
        default: return .failure("the DNS server answered \(responseCode)")
        }
        var name = question.name
        var ttl = UInt32.max
        for _ in 0..<16 {
            let matches = answers.filter { $0.name == name && $0.type == question.type }
            let addresses = matches.compactMap { record -> DNSAddress? in
                if case .address(let address) = record.data { return address }
                return nil
            }
            if !addresses.isEmpty {
                return .addresses(addresses, ttl: min(ttl, matches.map(\.ttl).min() ?? ttl))
            }
            guard let alias = answers.first(where: { $0.name == name && $0.type == .cname }),
                  case .name(let target) = alias.data
            else {
                return name == question.name ? .noData : .alias(name, ttl: ttl)
            }
            ttl = min(ttl, alias.ttl)
            name = target
        }
        return .failure("CNAME chain for \(question.name) is longer than 16 names")
    }
}

/// Reads big-endian integers and (possibly compressed) names from a message.
private struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func readUInt8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSMessageError.endOfMessage(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws -> UInt16 {
        UInt16(try readUInt8()) << 8 | UInt16(try readUInt8())
    }

    mutating func readUInt32() throws -> UInt32 {
        UInt32(try readUInt16()) << 16 | UInt32(try readUInt16())
    }

    mutating func readName() throws -> String {
        let (name, end) = try name(at: offset)
        offset = end
        return name
    }

    /// The name starting at `start`, and the offset just past it where it starts (compression
    /// pointers make the name continue elsewhere). Pointers must point backwards, which with
    /// the 255-byte limit rules out loops.
    func name(at start: Int) throws -> (String, Int) {
        var labels: [String] = []
        var position = start
        var end: Int?
        var length = 0
        while true {
            guard position < bytes.count else { throw DNSMessageError.endOfMessage(offset: position) }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0xC0:
                guard position + 1 < bytes.count else { throw DNSMessageError.endOfMessage(offset: position + 1) }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw DNSMessageError.badCompressionPointer(offset: position) }
                if end == nil { end = position + 2 }
                position = target
            case 0x00:
                if byte == 0 {
                    return (labels.joined(separator: "."), end ?? position + 1)
                }
                let labelEnd = position + 1 + Int(byte)
                guard labelEnd <= bytes.count else { throw DNSMessageError.endOfMessage(offset: bytes.count) }
                length += Int(byte) + 1
                guard length <= 255 else { throw DNSMessageError.nameTooLong }
                labels.append(String(decoding: bytes[(position + 1)..<labelEnd], as: UTF8.self).lowercased())
                position = labelEnd
            default:
                throw DNSMessageError.unsupportedLabelType(offset: position)
            }
        }
    }

    mutating func readRecord() throws -> DNSRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        _ = try readUInt16()
        let rawTTL = try readUInt32()
        let length = Int(try readUInt16())
        let dataStart = offset
        guard dataStart + length <= bytes.count else { throw DNSMessageError.endOfMessage(offset: bytes.count) }
        offset = dataStart + length
        let data: DNSRecord.RecordData
        switch type {
        case .a, .aaaa:
            guard length == (type == .a ? 4 : 16), let address = DNSAddress(bytes: Array(bytes[dataStart..<offset])) else {
                throw DNSMessageError.badRecordLength(type: type, length: length)
            }
            data = .address(address)
        case .cname:
            let (target, end) = try self.name(at: dataStart)
            guard end <= offset else { throw DNSMessageError.badRecordLength(type: type, length: length) }
            data = .name(target)
        default:
            data = .other(Array(bytes[dataStart..<offset]))
        }
        return DNSRecord(name: name, type: type, ttl: rawTTL > UInt32(Int32.max) ? 0 : rawTTL, data: data)
    }
}

extension [UInt8] {
    fileprivate mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    fileprivate mutating func appendUInt32(_ value: UInt32) {
        appendUInt16(UInt16(value >> 16))
        appendUInt16(UInt16(value & 0xFFFF))
    }

    /// Appends a canonical name (see `DNSMessage.canonicalName`); "" is the root.
    fileprivate mutating func appendName(_ name: String) throws {
        guard !name.isEmpty else {
            append(0)
            return
        }
        var total = 1
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            let utf8 = Array(label.utf8)
            total += utf8.count + 1
            guard (1...63).contains(utf8.count), total <= 255 else { throw DNSMessageError.invalidName(name) }
            append(UInt8(utf8.count))
            append(contentsOf: utf8)
        }
        append(0)
    }
}

import Foundation
import KonnectConfig
import NIOCore

/// The named arguments of a request body, for the three kinds a form or API client sends:
/// `application/x-www-form-urlencoded`, `multipart/form-data` (fields, not files) and a JSON
/// object (its top-level string members). Other bodies have no arguments.
public struct RequestBodyArguments {
    enum Kind {
        case form
        case multipart(boundary: String)
        case json
    }

    let kind: Kind
    let bytes: [UInt8]

    /// Nil when the content type is none of the three.
    public init?(body: ByteBuffer, contentType: String?) {
        guard let contentType else { return nil }
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let media = FormEncoding.mediaType(contentType)
        switch media {
        case "application/x-www-form-urlencoded":
            kind = .form
        case "multipart/form-data":
            let boundary = parameters.dropFirst().first { $0.lowercased().hasPrefix("boundary=") }
                .map { String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard let boundary, !boundary.isEmpty else { return nil }
            kind = .multipart(boundary: boundary)
        default:
            guard FormEncoding.isJSON(media) else { return nil }
            kind = .json
        }
        bytes = Array(body.readableBytesView)
    }

    /// The values of the argument `name` (a form may repeat one).
    public func values(_ name: String) -> [String] {
        switch kind {
        case .form:
            return formPairs().filter { $0.name == name }.map { $0.value }
        case .multipart(let boundary):
            return multipartParts(boundary).filter { $0.name == name }.compactMap { $0.value }
        case .json:
            guard case .object(let members)? = jsonObject(), let value = members[name] else { return [] }
            switch value {
            case .string(let text): return [text]
            case .number: return [value.jsonText]
            default: return []
            }
        }
    }

    /// The body without the argument `name`, in the same encoding.
    public func removing(_ name: String) -> ByteBuffer {
        switch kind {
        case .form:
            let kept = formPairs().filter { $0.name != name }.map { $0.raw }
            return ByteBuffer(string: kept.joined(separator: "&"))
        case .multipart(let boundary):
            var out = ByteBuffer()
            for part in multipartParts(boundary) where part.name != name {
                out.writeString("--\(boundary)\r\n")
                out.writeBytes(part.raw)
                out.writeString("\r\n")
            }
            out.writeString("--\(boundary)--\r\n")
            return out
        case .json:
            guard case .object(var members)? = jsonObject() else { return ByteBuffer(bytes: bytes) }
            members[name] = nil
            return ByteBuffer(string: JSONValue.object(members).jsonText)
        }
    }

    // MARK: Forms

    private func formPairs() -> [(name: String, value: String, raw: Substring)] {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (FormEncoding.decode(parts[0]), parts.count > 1 ? FormEncoding.decode(parts[1]) : "", pair)
        }
    }

    // MARK: Multipart

    /// The parts between the boundaries: `raw` is a part's header lines and content as sent;
    /// `value` its content when it is a field rather than a file.
    private func multipartParts(_ boundary: String) -> [(name: String?, value: String?, raw: ArraySlice<UInt8>)] {
        let delimiter = Array("--\(boundary)".utf8)
        var starts: [Int] = []  // where each delimiter line begins
        var index = 0
        while let found = Self.find(delimiter, in: bytes, from: index) {
            // A delimiter counts at the start of the body or of a line.
            if found == 0 || (found >= 2 && bytes[found - 2] == 13 && bytes[found - 1] == 10) { starts.append(found) }
            index = found + delimiter.count
        }
        var parts: [(name: String?, value: String?, raw: ArraySlice<UInt8>)] = []
        for (start, next) in zip(starts, starts.dropFirst()) {
            var from = start + delimiter.count
            // `--boundary--` closes the body.
            if from + 1 < bytes.count, bytes[from] == 45, bytes[from + 1] == 45 { break }
            guard let lineEnd = Self.find([13, 10], in: bytes, from: from) else { break }
            from = lineEnd + 2
            let to = next - 2  // the CRLF before the next delimiter belongs to it
            guard from <= to else { continue }
            let raw = bytes[from..<to]
            guard let headEnd = Self.find([13, 10, 13, 10], in: bytes, from: from), headEnd + 4 <= to else {
                parts.append((nil, nil, raw))
                continue
            }
            let head = String(decoding: bytes[from..<headEnd], as: UTF8.self)
            let disposition = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-disposition:") }
            let name = disposition.flatMap { Self.parameter("name", in: $0) }
            let isFile = disposition.flatMap { Self.parameter("filename", in: $0) } != nil
            parts.append((name, isFile ? nil : String(decoding: bytes[(headEnd + 4)..<to], as: UTF8.self), raw))
        }
        return parts
    }

    private static func parameter(_ key: String, in line: Substring) -> String? {
        for item in line.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            return pair[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    // MARK: JSON

    private func jsonObject() -> JSONValue? {
        try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))
    }
}

import Foundation

/// A route's regex path (written `~pattern`), compiled once and anchored at the start of the path as Kong does.
struct PathRegex: Sendable {
    let regex: NSRegularExpression
    /// Named groups as (name in the compiled pattern, name the user wrote), for the captures of a match.
    let groupNames: [(icu: String, user: String)]
    /// Text every match must start with; indexes the route by path prefix. Empty when nothing is certain.
    let literalPrefix: String

    /// Compiles `pattern` (without the leading `~`); nil when it is not a valid regex.
    init?(pattern: String) {
        let (icuPattern, names) = Self.translate(pattern)
        guard let regex = try? NSRegularExpression(pattern: "^" + icuPattern) else { return nil }
        self.regex = regex
        self.groupNames = names
        self.literalPrefix = Self.literalPrefix(of: pattern)
    }

    /// The end of the matched part of `path` and the captures, when `path` matches.
    func match(_ path: String) -> (end: String.Index, captures: [String: String])? {
        let whole = NSRange(path.startIndex..<path.endIndex, in: path)
        guard let result = regex.firstMatch(in: path, options: [], range: whole),
              let matched = Range(result.range, in: path)
        else { return nil }
        var captures: [String: String] = [:]
        if result.numberOfRanges > 1 {
            for group in 1..<result.numberOfRanges {
                if let range = Range(result.range(at: group), in: path) {
                    captures[String(group)] = String(path[range])
                }
            }
            for name in groupNames {
                if let range = Range(result.range(withName: name.icu), in: path) {
                    captures[name.user] = String(path[range])
                }
            }
        }
        return (matched.upperBound, captures)
    }

    /// Rewrites the pattern for ICU: ICU group names allow only letters and digits while Kong's allow `_`,
    /// and `(?P<name>` / `(?P=name)` are the Python spellings Kong accepts. Every named group is renamed
    /// `n0`, `n1`, ... (back-references follow) and the user's names are returned in the same order.
    static func translate(_ pattern: String) -> (pattern: String, names: [(icu: String, user: String)]) {
        let bytes = Array(pattern.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var names: [(icu: String, user: String)] = []

        func icuName(for user: String) -> String {
            if let known = names.first(where: { $0.user == user }) { return known.icu }
            let name = "n\(names.count)"
            names.append((name, user))
            return name
        }
        func starts(_ text: String, at index: Int) -> Bool {
            let prefix = Array(text.utf8)
            return index + prefix.count <= bytes.count && Array(bytes[index..<(index + prefix.count)]) == prefix
        }
        func name(from start: Int, until terminator: UInt8) -> (String, Int)? {
            guard let end = bytes[start...].firstIndex(of: terminator) else { return nil }
            return (String(decoding: bytes[start..<end], as: UTF8.self), end + 1)
        }

        var index = 0
        while index < bytes.count {
            if starts("\\k<", at: index), let found = name(from: index + 3, until: UInt8(ascii: ">")) {
                output += Array("\\k<\(icuName(for: found.0))>".utf8)
                index = found.1
            } else if bytes[index] == UInt8(ascii: "\\") {
                output.append(contentsOf: bytes[index..<min(index + 2, bytes.count)])
                index += 2
            } else if starts("(?P=", at: index), let found = name(from: index + 4, until: UInt8(ascii: ")")) {
                output += Array("\\k<\(icuName(for: found.0))>".utf8)
                index = found.1
            } else if starts("(?P<", at: index) || (starts("(?<", at: index) && !starts("(?<=", at: index)
                && !starts("(?<!", at: index)) {
                let nameStart = index + (bytes[index + 2] == UInt8(ascii: "P") ? 4 : 3)
                guard let found = name(from: nameStart, until: UInt8(ascii: ">")) else {
                    output.append(contentsOf: bytes[index...])
                    break
                }
                output += Array("(?<\(icuName(for: found.0))>".utf8)
                index = found.1
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return (String(decoding: output, as: UTF8.self), names)
    }

    /// The literal text a match of `^pattern` must begin with: ASCII characters (and escaped punctuation)
    /// up to the first construct that is not a plain literal. A character followed by a quantifier is left
    /// out, and a pattern with any alternation gets no prefix, since either could make the text optional.
    static func literalPrefix(of pattern: String) -> String {
        let bytes = Array(pattern.utf8)
        if bytes.contains(UInt8(ascii: "|")) { return "" }
        let special = Set("^$.*+?()[]{}|\\".utf8)
        let quantifiers = Set("*+?{".utf8)
        var literal: [UInt8] = []
        var index = 0
        while index < bytes.count && bytes[index] == UInt8(ascii: "^") { index += 1 }
        while index < bytes.count {
            let byte = bytes[index]
            let character: UInt8
            let width: Int
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { break }
                let escaped = bytes[index + 1]
                guard escaped < 0x80, !isAlphanumeric(escaped) else { break }
                character = escaped
                width = 2
            } else if byte >= 0x80 || special.contains(byte) {
                break
            } else {
                character = byte
                width = 1
            }
            let next = index + width
            if next < bytes.count && quantifiers.contains(bytes[next]) { break }
            literal.append(character)
            index = next
        }
        return String(decoding: literal, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            false
        }
    }
}

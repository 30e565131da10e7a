import Foundation

/// Value checks shared by plugin schemas: each returns what was expected, or nil.
enum PluginChecks {
    static let headerName: @Sendable (JSONValue) -> String? = { value in
        guard let text = value.string, !text.isEmpty, text.utf8.allSatisfy(isTokenByte) else {
            return "a header name (letters, digits and !#$%&'*+-.^_`|~)"
        }
        return nil
    }

    static let network: @Sendable (JSONValue) -> String? = { value in
        value.string.flatMap(IPNetwork.init) == nil ? "an IP address or CIDR block such as 10.0.0.0/8 or 2001:db8::/32" : nil
    }

    static let regex: @Sendable (JSONValue) -> String? = { value in
        guard let text = value.string, (try? NSRegularExpression(pattern: text)) != nil else {
            return "a valid regular expression"
        }
        return nil
    }

    static let origin: @Sendable (JSONValue) -> String? = { value in
        value.string == "*" || regex(value) == nil ? nil : "`*`, an origin such as https://example.com, or a valid regular expression"
    }

    static let httpURL: @Sendable (JSONValue) -> String? = { value in
        guard let text = value.string, ConfigSyntax.isHTTPURL(text) else { return "an http or https URL" }
        return nil
    }

    /// A rule: exactly one of two list fields is set (and not empty).
    static func exactlyOne(_ first: String, _ second: String) -> @Sendable ([String: JSONValue]) -> PluginSchema.Problem? {
        { config in
            let has = [first, second].map { config[$0]?.isNonEmptyArray ?? false }
            if has[0] != has[1] { return nil }
            return PluginSchema.Problem([.key(has[0] ? second : first)],
                                        has[0] ? "unset: only one of \(first) and \(second) may be given"
                                               : "a non-empty list; exactly one of \(first) and \(second) is required")
        }
    }

    /// `name:value`: a non-empty name before the first colon.
    static let namePair: @Sendable (JSONValue) -> String? = { value in
        guard let text = value.string, let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            return "`name:value` (a name, a colon, then the value)"
        }
        return nil
    }

    /// `name:value` whose name is a header name (Host included).
    static let headerNamePair: @Sendable (JSONValue) -> String? = { value in
        if let problem = namePair(value) { return problem }
        let name = value.string.map { String($0[..<($0.firstIndex(of: ":") ?? $0.endIndex)]) } ?? ""
        return headerName(.string(name)).map { "`name:value` with \($0)" }
    }

    /// A header a transformer may remove or rename: any but `Host`, which Konnect always sends.
    static let transformableHeader: @Sendable (JSONValue) -> String? = { value in
        if let problem = headerName(value) { return problem }
        return value.string?.lowercased() == "host" ? "a header other than Host (Konnect always sends one; replace sets it)" : nil
    }

    /// `name:value` whose name is a header a transformer may touch.
    static let headerPair: @Sendable (JSONValue) -> String? = { value in
        if let problem = namePair(value) { return problem }
        let name = value.string.map { String($0[..<($0.firstIndex(of: ":") ?? $0.endIndex)]) } ?? ""
        return transformableHeader(.string(name)).map { "`name:value` with \($0)" }
    }

    /// A rule: at least one of two list fields is set (and not empty).
    static func atLeastOne(_ first: String, _ second: String) -> @Sendable ([String: JSONValue]) -> PluginSchema.Problem? {
        { config in
            if config[first]?.isNonEmptyArray == true || config[second]?.isNonEmptyArray == true { return nil }
            return PluginSchema.Problem([.key(first)], "a non-empty list; at least one of \(first) and \(second) is required")
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension JSONValue {
    var isNonEmptyArray: Bool {
        if case .array(let items) = self { return !items.isEmpty }
        return false
    }

    func arrayContains(_ text: String) -> Bool {
        if case .array(let items) = self { return items.contains(.string(text)) }
        return false
    }
}

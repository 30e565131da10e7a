import Foundation

/// The text forms plugins read and write: `application/x-www-form-urlencoded` names and values
/// (query strings and form bodies), and media types.
enum FormEncoding {
    /// A form or query name or value, `+` as a space and percent-escapes undone.
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacing("+", with: " ")
        return spaced.removingPercentEncoding ?? String(spaced)
    }

    private static let unreserved: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()

    /// A form or query name or value, everything but unreserved characters percent-escaped.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// The media type of a `Content-Type`, lower-cased, without parameters.
    static func mediaType(_ contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    /// Whether a `Content-Type` names JSON (`application/json`, or `application/…+json`).
    static func isJSON(_ contentType: String) -> Bool {
        let media = mediaType(contentType)
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}

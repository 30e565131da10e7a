/// RFC 3986 normalisation of a request path before matching.
///
/// Routing and the upstream request both use the normalised path, so `/public/../admin` is seen as
/// `/admin` everywhere and cannot slip past a route that guards `/admin`. Like Kong's router, runs of
/// slashes are merged (`//admin` is `/admin`) for the same reason.
public enum PathNormalizer {
    /// Percent-decodes unreserved characters only (ALPHA DIGIT - . _ ~), upper-cases the hex of remaining
    /// escapes, and removes dot segments; returns nil for a path that is not absolute or has a bad %-escape.
    public static func normalize(_ path: Substring) -> String? {
        let utf8 = path.utf8
        guard utf8.first == .slash else { return nil }

        var needsWork = false
        var previous: UInt8 = 0
        for byte in utf8 {
            if byte == .percent || byte == .dot || (byte == .slash && previous == .slash) {
                needsWork = true
                break
            }
            previous = byte
        }
        if !needsWork { return String(path) }

        guard let decoded = decodeUnreserved(utf8) else { return nil }
        return String(decoding: removeDotSegments(decoded), as: UTF8.self)
    }

    /// Decodes `%XX` escapes of unreserved characters and upper-cases the others; nil on a bad escape.
    private static func decodeUnreserved(_ utf8: Substring.UTF8View) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            guard byte == .percent else {
                output.append(byte)
                utf8.formIndex(after: &index)
                continue
            }
            let first = utf8.index(after: index)
            guard first != utf8.endIndex, let high = hexValue(utf8[first]) else { return nil }
            let second = utf8.index(after: first)
            guard second != utf8.endIndex, let low = hexValue(utf8[second]) else { return nil }
            let value = high << 4 | low
            if isUnreserved(value) {
                output.append(value)
            } else {
                output.append(.percent)
                output.append(upperHex(high))
                output.append(upperHex(low))
            }
            index = utf8.index(after: second)
        }
        return output
    }

    /// Removes `.` and `..` segments (never climbing above the root) and empty segments; keeps a trailing slash.
    private static func removeDotSegments(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var trailingSlash = false
        var start = 1
        let count = input.count
        while start <= count {
            var end = start
            while end < count && input[end] != .slash { end += 1 }
            let isLast = end >= count
            let length = end - start
            if length == 0 || (length == 1 && input[start] == .dot) {
                if isLast { trailingSlash = true }
            } else if length == 2 && input[start] == .dot && input[start + 1] == .dot {
                if let slash = output.lastIndex(of: .slash) { output.removeSubrange(slash...) }
                if isLast { trailingSlash = true }
            } else {
                output.append(.slash)
                output.append(contentsOf: input[start..<end])
            }
            start = end + 1
        }
        if output.isEmpty || trailingSlash { output.append(.slash) }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func upperHex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), .dot, UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

extension UInt8 {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")
    static let percent = UInt8(ascii: "%")
}

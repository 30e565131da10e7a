import KonnectConfig

/// Joins a service's path with the request path, after strip_path, as Kong's `path_handling` does.
///
/// - v0 treats the service path and the rest of the request path as segments joined by one slash
///   (`/s` + `/tv0req` with `/tv0` stripped → `/s/req`); a bare remainder keeps or drops the trailing
///   slash the way the request had it.
/// - v1 treats the service path as a plain text prefix (`/s` + `req` → `/sreq`).
///
/// Both collapse the double slash where a service path ending in `/` meets a remainder starting with `/`.
enum UpstreamPath {
    /// - Parameters:
    ///   - servicePath: the service's `path`; nil or empty means `/`.
    ///   - requestPath: the normalised request path, without query string.
    ///   - matchedEnd: where the matched path prefix (or regex match) ends in `requestPath`; nil when the
    ///     route has no paths.
    static func build(
        servicePath: String?, handling: PathHandling, stripPath: Bool, requestPath: String,
        matchedEnd: String.Index?
    ) -> String {
        let base = servicePath.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        // The common case (no service path, nothing stripped): the request path as it is, with
        // no new string. (`/` joined with the path after its leading slash is the path itself.)
        if !stripPath && base == "/" { return requestPath }
        let baseEndsWithSlash = base.utf8.last == .slash
        let remainder: Substring
        if stripPath, let matchedEnd {
            remainder = sanitize(requestPath[matchedEnd...])
        } else {
            remainder = sanitize(requestPath.dropFirst())
        }
        let remainderStartsWithSlash = remainder.utf8.first == .slash

        switch (handling, stripPath) {
        case (.v1, true):
            return baseEndsWithSlash && remainderStartsWithSlash
                ? join(base.dropLast(), remainder) : join(base[...], remainder)
        case (.v1, false):
            return join(base[...], requestPath.dropFirst())
        case (.v0, false):
            if baseEndsWithSlash { return join(base[...], requestPath.dropFirst()) }
            return requestPath == "/" ? base : join(base[...], requestPath[...])
        case (.v0, true):
            if remainder.isEmpty {
                if baseEndsWithSlash {
                    if base == "/" { return "/" }
                    return requestPath.utf8.last == .slash ? base : String(base.dropLast())
                }
                return requestPath.utf8.count > 1 && requestPath.utf8.last == .slash ? base + "/" : base
            }
            if remainderStartsWithSlash {
                return baseEndsWithSlash ? join(base.dropLast(), remainder) : join(base[...], remainder)
            }
            return baseEndsWithSlash ? join(base[...], remainder) : join(base[...], "/", remainder)
        }
    }

    private static func join(_ first: Substring, _ second: Substring, _ third: Substring = "") -> String {
        var result = ""
        result.reserveCapacity(first.utf8.count + second.utf8.count + third.utf8.count)
        result += first
        result += second
        result += third
        return result
    }

    /// Drops a leading `.`/`..` segment left over after the matched prefix (e.g. prefix `/a` in `/a../b`).
    private static func sanitize(_ remainder: Substring) -> Substring {
        let bytes = remainder.utf8
        guard bytes.first == UInt8(ascii: ".") else { return remainder }
        if bytes.elementsEqual(".".utf8) || bytes.elementsEqual("..".utf8) { return remainder[remainder.endIndex...] }
        if bytes.starts(with: "./".utf8) { return remainder.dropFirst(2) }
        if bytes.starts(with: "../".utf8) { return remainder.dropFirst(3) }
        return remainder
    }
}

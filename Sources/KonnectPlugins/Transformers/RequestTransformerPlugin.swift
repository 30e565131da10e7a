import Foundation
import KonnectConfig
import Logging
import NIOCore

/// Kong's request-transformer: removes, renames, replaces, adds and appends headers, query
/// arguments and body fields (form, or JSON with dotted paths into nested objects), in that
/// order; can change the method and the path. Values are templates over the request
/// (`$(headers.x)`, `$(query_params.y)`, `$(uri_captures.z)`).
struct RequestTransformerPlugin: ProxyPlugin {
    let name = "request-transformer"
    var phases: PluginPhases { .access }

    /// One kind of operation, for headers, query arguments and body fields.
    struct Operations: Sendable {
        var remove: [String] = []
        var rename: [TransformPair] = []
        var replace: [TransformPair] = []
        var add: [TransformPair] = []
        var append: [TransformPair] = []

        var isEmpty: Bool { remove.isEmpty && rename.isEmpty && replace.isEmpty && add.isEmpty && append.isEmpty }

        init() {}

        init(_ config: JSONValue, _ key: String) {
            remove = config["remove"]?.texts(key) ?? []
            rename = (config["rename"]?.texts(key) ?? []).map(TransformPair.init)
            replace = (config["replace"]?.texts(key) ?? []).map(TransformPair.init)
            add = (config["add"]?.texts(key) ?? []).map(TransformPair.init)
            append = (config["append"]?.texts(key) ?? []).map(TransformPair.init)
        }
    }

    let headers: Operations
    let query: Operations
    let body: Operations
    let method: String?
    let uri: TransformTemplate?
    let maxBodySize: Int
    static let logger = Logger(label: "konnect.plugins.request-transformer")

    init(config: JSONValue) {
        headers = Operations(config, "headers")
        query = Operations(config, "querystring")
        body = Operations(config, "body")
        method = config.text("http_method")
        uri = config["replace"]?.text("uri").map(TransformTemplate.init)
        maxBodySize = Int(config.number("max_body_size") ?? 1_048_576)
    }

    func access(_ context: PluginContext) -> AccessResult {
        // The body is read first (the access phase then runs again), so that the rest is done once.
        let bodyKind = body.isEmpty ? nil : transformableBody(context)
        if bodyKind != nil, context.requestBody == nil { return .readBody }

        if let method { context.upstreamMethod = method }
        if let uri {
            let path = uri.render(context)
            if path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) {
                context.upstreamPath = path
            } else {
                Self.logger.info("request-transformer: replace.uri gave \(path.debugDescription), not a path; the request's path is kept")
            }
        }
        if !headers.isEmpty { transformHeaders(context) }
        if !query.isEmpty {
            var pairs = Pairs(query: context.rewrittenQuery().map(String.init) ?? "")
            pairs.apply(query, context)
            context.replaceQuery(pairs.encoded)
        }
        if let bodyKind, let original = context.requestBody {
            transformBody(original, bodyKind, context)
        }
        return .proceed
    }

    // MARK: Headers

    private func transformHeaders(_ context: PluginContext) {
        var removed = Set<String>()
        var added: [(name: String, value: String)] = []
        func current(_ name: String) -> String? {
            let lowered = name.lowercased()
            if let value = added.last(where: { $0.name.lowercased() == lowered })?.value { return value }
            guard !removed.contains(lowered), case .one(let value) = context.head.value(named: lowered) else { return nil }
            return value
        }
        func remove(_ name: String) {
            removed.insert(name.lowercased())
            added.removeAll { $0.name.lowercased() == name.lowercased() }
        }
        for name in headers.remove { remove(name) }
        for pair in headers.rename {
            let newName = pair.value.render(context)
            guard let value = current(pair.name), Self.isHeaderName(newName) else { continue }
            remove(pair.name)
            added.append((newName, value))
        }
        for pair in headers.replace where current(pair.name) != nil {
            remove(pair.name)
            added.append((pair.name, pair.value.render(context)))
        }
        for pair in headers.add where current(pair.name) == nil {
            added.append((pair.name, pair.value.render(context)))
        }
        for pair in headers.append {
            added.append((pair.name, pair.value.render(context)))
        }
        for name in removed { context.removeHeader(name) }
        for (name, value) in added where AccessResult.Header.isSafe(value) {
            context.addUpstreamLine(AccessResult.Header(name, value).line)
        }
    }

    /// A header name a template produced: a non-empty token.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    // MARK: Bodies

    enum BodyKind {
        case json
        case form
    }

    /// The kind of the request's body, when its fields can be transformed: JSON or a form, of a
    /// stated length within `max_body_size`. Others pass untouched, with a log line.
    private func transformableBody(_ context: PluginContext) -> BodyKind? {
        guard case .one(let contentType) = context.head.value(named: "content-type") else { return nil }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let kind: BodyKind
        if media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json")) {
            kind = .json
        } else if media == "application/x-www-form-urlencoded" {
            kind = .form
        } else {
            return nil
        }
        guard case .one(let text) = context.head.value(named: "content-length"), let length = Int(text) else {
            Self.logger.info("request-transformer: a body without Content-Length (chunked) passes untouched")
            return nil
        }
        guard length <= maxBodySize else {
            Self.logger.info("request-transformer: a body of \(length) bytes (over max_body_size \(maxBodySize)) passes untouched")
            return nil
        }
        return kind
    }

    private func transformBody(_ original: ByteBuffer, _ kind: BodyKind, _ context: PluginContext) {
        switch kind {
        case .form:
            var pairs = Pairs(query: String(buffer: original))
            pairs.apply(body, context)
            context.replaceRequestBody(ByteBuffer(string: pairs.encoded))
        case .json:
            guard let parsed = try? JSONValue.parse(String(buffer: original)), case .object = parsed else {
                Self.logger.info("request-transformer: a JSON body that is not a JSON object passes untouched")
                return
            }
            var json = parsed
            for name in body.remove { json.removeValue(at: JSONValue.path(name)) }
            for pair in body.rename {
                let path = JSONValue.path(pair.name)
                guard json.value(at: path) != nil else { continue }
                let target = JSONValue.path(pair.value.render(context))
                var moved = json
                guard let value = moved.removeValue(at: path), moved.setValue(value, at: target) else { continue }
                json = moved
            }
            for pair in body.replace where json.value(at: JSONValue.path(pair.name)) != nil {
                json.setValue(.string(pair.value.render(context)), at: JSONValue.path(pair.name))
            }
            for pair in body.add where json.value(at: JSONValue.path(pair.name)) == nil {
                json.setValue(.string(pair.value.render(context)), at: JSONValue.path(pair.name))
            }
            for pair in body.append {
                let path = JSONValue.path(pair.name)
                let value = JSONValue.string(pair.value.render(context))
                switch json.value(at: path) {
                case .array(let items)?: json.setValue(.array(items + [value]), at: path)
                case let existing?: json.setValue(.array([existing, value]), at: path)
                case nil: json.setValue(.array([value]), at: path)
                }
            }
            context.replaceRequestBody(ByteBuffer(string: json.jsonText))
        }
    }

    /// Name-value pairs of a query string or a form body, in order, decoded.
    struct Pairs {
        var items: [(name: String, value: String)]

        init(query: String) {
            items = query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
            }
        }

        mutating func apply(_ operations: Operations, _ context: PluginContext) {
            for name in operations.remove { items.removeAll { $0.name == name } }
            for pair in operations.rename {
                let newName = pair.value.render(context)
                for index in items.indices where items[index].name == pair.name { items[index].name = newName }
            }
            for pair in operations.replace where items.contains(where: { $0.name == pair.name }) {
                let value = pair.value.render(context)
                for index in items.indices where items[index].name == pair.name { items[index].value = value }
            }
            for pair in operations.add where !items.contains(where: { $0.name == pair.name }) {
                items.append((pair.name, pair.value.render(context)))
            }
            for pair in operations.append { items.append((pair.name, pair.value.render(context))) }
        }

        var encoded: String {
            items.map { Self.encode($0.name) + "=" + Self.encode($0.value) }.joined(separator: "&")
        }

        private static func decode(_ text: Substring) -> String {
            let spaced = text.replacing("+", with: " ")
            return spaced.removingPercentEncoding ?? String(spaced)
        }

        private static let unreserved: CharacterSet = {
            var set = CharacterSet.alphanumerics
            set.insert(charactersIn: "-._~")
            return set
        }()

        private static func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
        }
    }
}

import Foundation
import KonnectConfig
import Logging
import NIOCore

/// Kong's request-transformer: removes, renames, replaces, adds and appends headers, query
/// arguments and body fields (form, or JSON with dotted paths into nested objects), in that
/// order; can change the method and the path. Values are templates over the request
/// (`$(headers.x)`, `$(query_params.y)`, `$(uri_captures.z)`).
final class RequestTransformerPlugin: ProxyPlugin {
    let name = "request-transformer"
    var phases: PluginPhases { .access }

    let headers: TransformOperations
    let query: TransformOperations
    let body: TransformOperations
    let method: String?
    let uri: TransformTemplate?
    let maxBodySize: Int
    static let logger = Logger(label: "konnect.plugins.request-transformer")

    init(config: JSONValue) {
        headers = TransformOperations(config, "headers")
        query = TransformOperations(config, "querystring")
        body = TransformOperations(config, "body")
        method = config.text("http_method")
        uri = config["replace"]?.text("uri").map(TransformTemplate.init)
        maxBodySize = Int(config.number("max_body_size") ?? 1_048_576)
    }

    func access(_ context: PluginContext) -> AccessResult {
        // The body is read first (the access phase then runs again), so that the rest is done once.
        var bodyKind = body.isEmpty ? nil : transformableBody(context)
        if bodyKind != nil, context.requestBody == nil {
            if !context.requestBodyPassedOn {
                // Only a chunked body can turn out longer: then it passes untouched.
                context.requestBodyCap = Int64(maxBodySize)
                return .readBody
            }
            Self.logger.info("request-transformer: a chunked body over max_body_size (\(maxBodySize) bytes) passes untouched")
            bodyKind = nil
        }

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
        let edits = headers.headerEdits(context, head: context.head)
        for name in edits.removed { context.removeHeader(name) }
        for (name, value) in edits.added where AccessResult.Header.isSafe(value) {
            // Host is written by the proxy for each target: an edit of it says what to write.
            if name.lowercased() == "host" {
                if !value.isEmpty { context.upstreamHost = value }
                continue
            }
            context.addUpstreamLine(AccessResult.Header(name, value).line)
        }
    }

    // MARK: Bodies

    enum BodyKind {
        case json
        case form
    }

    /// The kind of the request's body, when its fields can be transformed: JSON or a form,
    /// within `max_body_size` (a chunked body is measured as it is read). Others pass
    /// untouched, with a log line. A request without a body gets one when fields are added.
    private func transformableBody(_ context: PluginContext) -> BodyKind? {
        var contentType: String?
        if case .one(let value) = context.head.value(named: "content-type") { contentType = value }
        let kind: BodyKind
        if let contentType, FormEncoding.isJSON(contentType) {
            kind = .json
        } else if let contentType, FormEncoding.mediaType(contentType) == "application/x-www-form-urlencoded" {
            kind = .form
        } else {
            let length = context.head.value(named: "content-length")
            if length != .none && length != .one("0") || context.head.value(named: "transfer-encoding") != .none {
                Self.logger.info("request-transformer: a body that is neither JSON nor a form (by its Content-Type) passes untouched")
            }
            return nil
        }
        // The proxy has checked the framing: one valid length, or chunked, or neither (no body).
        guard case .one(let text) = context.head.value(named: "content-length"), let length = Int(text) else {
            return kind
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
            // A request without a body gets one only when fields were added to it.
            if original.readableBytes > 0 || !pairs.items.isEmpty {
                context.replaceRequestBody(ByteBuffer(string: pairs.encoded))
            }
        case .json:
            // No body at all is taken as an empty object, to which fields can be added.
            let text = String(buffer: original)
            let parsed = text.allSatisfy { $0.isWhitespace } ? JSONValue.object([:]) : try? JSONValue.parse(text)
            guard let parsed, case .object = parsed else {
                Self.logger.info("request-transformer: a JSON body that is not a JSON object passes untouched")
                return
            }
            func rendered(_ pairs: [TransformPair]) -> [(path: [Substring], value: JSONValue)] {
                pairs.map { (JSONValue.path($0.name), .string($0.value.render(context))) }
            }
            let edits = JSONEdits(
                remove: body.remove.map(JSONValue.path),
                // A new name made from the request (`$(headers.x)`) may be dots by the thousand:
                // deeper than any body goes, it is left alone rather than built level by level.
                rename: body.rename.map { (JSONValue.path($0.name), JSONValue.path($0.value.render(context))) }
                    .filter { $0.1.count <= JSONValue.deepestPath },
                replace: rendered(body.replace), add: rendered(body.add), append: rendered(body.append))
            let json = edits.apply(to: parsed)
            if case .object(let fields) = json, fields.isEmpty, original.readableBytes == 0 { return }
            context.replaceRequestBody(ByteBuffer(string: json.jsonText))
        }
    }

    /// Name-value pairs of a query string or a form body, in order, decoded.
    struct Pairs {
        var items: [(name: String, value: String)]

        init(query: String) {
            items = query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (FormEncoding.decode(parts[0]), parts.count > 1 ? FormEncoding.decode(parts[1]) : "")
            }
        }

        mutating func apply(_ operations: TransformOperations, _ context: PluginContext) {
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
            items.map { FormEncoding.encode($0.name) + "=" + FormEncoding.encode($0.value) }.joined(separator: "&")
        }
    }
}

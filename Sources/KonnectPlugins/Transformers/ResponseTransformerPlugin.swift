import Foundation
import KonnectConfig
import Logging
import NIOCore

/// Kong's response-transformer: removes, renames, replaces, adds and appends response headers
/// and fields of a JSON body (dotted paths into nested objects; values typed by `json_types`).
/// Beyond Kong OSS: `allow.json` keeps only the listed fields. A JSON body is gathered whole
/// (up to `max_body_size`), transformed, and sent chunked; other bodies stream through untouched.
final class ResponseTransformerPlugin: ProxyPlugin {
    let name = "response-transformer"
    var phases: PluginPhases { transformsJSON ? [.responseHeaders, .responseBody] : .responseHeaders }

    let headers: TransformOperations
    /// The JSON edits, their values typed by `json_types` (no templates: they are the same for every response).
    let json: JSONEdits
    let allowJSON: [[Substring]]
    let maxBodySize: Int
    static let logger = Logger(label: "konnect.plugins.response-transformer")

    var transformsJSON: Bool {
        !(json.remove.isEmpty && json.rename.isEmpty && json.replace.isEmpty && json.add.isEmpty && json.append.isEmpty
            && allowJSON.isEmpty)
    }

    init(config: JSONValue) {
        func texts(_ operation: String, _ key: String) -> [String] { config[operation]?.texts(key) ?? [] }
        func split(_ text: String) -> (name: String, value: String) {
            let colon = text.firstIndex(of: ":") ?? text.endIndex
            return (String(text[..<colon]), colon < text.endIndex ? String(text[text.index(after: colon)...]) : "")
        }
        /// `name:value` entries with their values typed by the operation's `json_types`, by position.
        func typed(_ operation: String) -> [(path: [Substring], value: JSONValue)] {
            let types = texts(operation, "json_types")
            return texts(operation, "json").enumerated().map { index, text in
                let (name, raw) = split(text)
                let value: JSONValue = switch index < types.count ? types[index] : "string" {
                case "number": Double(raw).map(JSONValue.number) ?? .string(raw)
                case "boolean": raw == "true" ? .bool(true) : raw == "false" ? .bool(false) : .string(raw)
                default: .string(raw)
                }
                return (JSONValue.path(name), value)
            }
        }
        headers = TransformOperations(config, "headers")
        json = JSONEdits(
            remove: texts("remove", "json").map(JSONValue.path),
            rename: texts("rename", "json").map { text in
                let (from, to) = split(text)
                return (JSONValue.path(from), JSONValue.path(to))
            },
            replace: typed("replace"), add: typed("add"), append: typed("append"))
        allowJSON = texts("allow", "json").map(JSONValue.path)
        maxBodySize = Int(config.number("max_body_size") ?? 1_048_576)
    }

    func responseHeaders(_ context: PluginContext, status: Int) {
        transformHeaders(context)
        guard transformsJSON, let head = context.responseHead else { return }
        guard case .one(let contentType) = head.value(named: "content-type"), FormEncoding.isJSON(contentType) else { return }
        if case .one(let coding) = head.value(named: "content-encoding"), coding.lowercased() != "identity" {
            Self.logger.info("response-transformer: a \(coding)-encoded JSON body passes untouched")
            return
        }
        context.rewriteResponseBody()
        context.values[name] = ByteBuffer()
    }

    func responseBody(_ context: PluginContext, _ part: ByteBuffer, last: Bool) -> ByteBuffer {
        guard var gathered = context.values[name] as? ByteBuffer else { return part }
        var part = part
        gathered.writeBuffer(&part)
        if gathered.readableBytes > maxBodySize {
            // Too large to hold: what was gathered goes out as it is, and the rest streams.
            context.values[name] = nil
            Self.logger.info("response-transformer: a JSON body over max_body_size (\(maxBodySize) bytes) passes untouched")
            return gathered
        }
        guard last else {
            context.values[name] = gathered
            return ByteBuffer()
        }
        context.values[name] = nil
        guard let parsed = try? JSONValue.parse(String(buffer: gathered)), case .object = parsed else {
            Self.logger.info("response-transformer: a body that is not a JSON object passes untouched")
            return gathered
        }
        return ByteBuffer(string: transform(parsed).jsonText)
    }

    // MARK: Headers

    private func transformHeaders(_ context: PluginContext) {
        let edits = headers.headerEdits(context, head: context.responseHead)
        for name in edits.removed { context.removeResponseHeader(name) }
        for (name, value) in edits.added { context.addResponseHeader(name, value) }
    }

    // MARK: JSON

    /// The edits, then (with `allow.json`) only the allowed fields.
    private func transform(_ object: JSONValue) -> JSONValue {
        let edited = json.apply(to: object)
        guard !allowJSON.isEmpty else { return edited }
        var kept = JSONValue.object([:])
        for path in allowJSON {
            if let value = edited.value(at: path) { kept.setValue(value, at: path) }
        }
        return kept
    }
}

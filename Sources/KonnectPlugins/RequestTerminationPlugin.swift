import KonnectConfig
import NIOHTTP1

/// Answers requests itself instead of proxying them (Kong's request-termination): a status
/// with a message or a raw body, optionally only for requests carrying a trigger, or an echo of
/// the request for debugging.
final class RequestTerminationPlugin: ProxyPlugin {
    let name = "request-termination"
    var phases: PluginPhases { .access }
    let status: Int
    let message: String
    let body: String?
    let contentType: String
    /// Header (lower-cased) or query argument that must be present for the plugin to act.
    let trigger: String?
    let echo: Bool

    init(config: JSONValue) {
        status = Int(config.number("status_code") ?? 503)
        message = config.text("message") ?? HTTPResponseStatus(statusCode: status).reasonPhrase
        body = config.text("body")
        contentType = config.text("content_type") ?? "application/json; charset=utf-8"
        trigger = config.text("trigger")
        echo = config.flag("echo")
    }

    func access(_ context: PluginContext) -> AccessResult {
        if let trigger, context.head.value(named: trigger.lowercased()) == .none, context.queryValues(trigger).isEmpty {
            return .proceed
        }
        if echo {
            var headers: [String: JSONValue] = [:]
            for (name, value) in context.head.allFields() {
                let key = name.lowercased()
                headers[key] = headers[key].map { .string(($0.string ?? "") + ", " + value) } ?? .string(value)
            }
            let description = JSONValue.object([
                "message": .string(message),
                "request": .object([
                    "method": .string(context.method), "target": .string(context.target),
                    "headers": .object(headers), "client_ip": .string(context.clientIP),
                ]),
            ])
            return .respondRaw(status: status, contentType: "application/json; charset=utf-8", body: description.jsonText)
        }
        if let body { return .respondRaw(status: status, contentType: contentType, body: body) }
        return .respond(status: status, message: message)
    }
}

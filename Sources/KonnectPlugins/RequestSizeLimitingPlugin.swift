import KonnectConfig

/// Refuses request bodies over a size (Kong's request-size-limiting): at once when the
/// `Content-Length` says so, and while a chunked body streams in when it grows past the limit.
final class RequestSizeLimitingPlugin: ProxyPlugin {
    let name = "request-size-limiting"
    var phases: PluginPhases { .access }
    let limit: Int64
    let requireContentLength: Bool

    init(config: JSONValue) {
        let size = Int64(config.number("allowed_payload_size") ?? 128)
        let unit: Int64 = switch config.text("size_unit") {
        case "bytes": 1
        case "kilobytes": 1024
        default: 1024 * 1024
        }
        let (product, overflow) = size.multipliedReportingOverflow(by: unit)
        limit = overflow ? .max : product
        requireContentLength = config.flag("require_content_length")
    }

    func access(_ context: PluginContext) -> AccessResult {
        switch context.head.value(named: "content-length") {
        case .one(let text):
            // The proxy has checked the field is a valid length already.
            if let length = Int64(text), length > limit {
                return .respond(status: 413, message: "Request size limit exceeded")
            }
        case .none, .many:
            if requireContentLength, context.head.value(named: "transfer-encoding") != .none {
                return .respond(status: 411, message: "A valid Content-Length header is required")
            }
        }
        context.bodyLimit = min(context.bodyLimit ?? .max, limit)
        return .proceed
    }
}

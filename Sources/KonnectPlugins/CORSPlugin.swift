import Foundation
import KonnectConfig

/// Cross-origin resource sharing (Kong's cors): answers preflight requests itself and adds the
/// `Access-Control-*` headers to responses for allowed origins.
final class CORSPlugin: ProxyPlugin {
    let name = "cors"
    var phases: PluginPhases { [.access, .responseHeaders] }
    /// Any origin may call (`*`, or no origins configured).
    let anyOrigin: Bool
    let exactOrigins: Set<String>
    let patterns: [NSRegularExpression]
    let methods: String
    let headers: String?
    let exposedHeaders: String?
    let maxAge: String?
    let credentials: Bool
    let privateNetwork: Bool
    let preflightContinue: Bool

    init(config: JSONValue) {
        let origins = config.texts("origins")
        anyOrigin = origins.isEmpty || origins.contains("*")
        exactOrigins = Set(origins.map { $0.lowercased() })
        patterns = origins.filter { $0 != "*" }.compactMap {
            try? NSRegularExpression(pattern: "^(?:\($0))$", options: [.caseInsensitive])
        }
        methods = config.texts("methods").joined(separator: ",")
        let headers = config.texts("headers")
        self.headers = headers.isEmpty ? nil : headers.joined(separator: ",")
        let exposed = config.texts("exposed_headers")
        exposedHeaders = exposed.isEmpty ? nil : exposed.joined(separator: ",")
        // Whole seconds; the schema sets no upper bound (as Kong's does not), so a huge value is
        // sent as the largest a 32-bit cache field holds, which every browser caps lower anyway.
        maxAge = config.number("max_age").map { String(Int(min($0, 2_147_483_647))) }
        credentials = config.flag("credentials")
        privateNetwork = config.flag("private_network")
        preflightContinue = config.flag("preflight_continue")
    }

    func access(_ context: PluginContext) -> AccessResult {
        guard context.method == "OPTIONS", case .one = context.head.value(named: "access-control-request-method") else {
            return .proceed
        }
        if preflightContinue { return .proceed }
        var answer: [AccessResult.Header] = []
        if let origin = allowedOrigin(context) {
            answer.append(.init("Access-Control-Allow-Origin", origin))
            if origin != "*" { answer.append(.init("Vary", "Origin")) }
            if credentials { answer.append(.init("Access-Control-Allow-Credentials", "true")) }
            answer.append(.init("Access-Control-Allow-Methods", methods))
            if let headers {
                answer.append(.init("Access-Control-Allow-Headers", headers))
            } else if case .one(let requested) = context.head.value(named: "access-control-request-headers"),
                      AccessResult.Header.isSafe(requested) {
                answer.append(.init("Access-Control-Allow-Headers", requested))
            }
            if let maxAge { answer.append(.init("Access-Control-Max-Age", maxAge)) }
            if privateNetwork, case .one(let asked) = context.head.value(named: "access-control-request-private-network"),
               asked == "true" {
                answer.append(.init("Access-Control-Allow-Private-Network", "true"))
            }
        }
        return .respondRaw(status: 200, contentType: "", body: "", headers: answer)
    }

    func responseHeaders(_ context: PluginContext, status: Int) {
        // A preflight this plugin answered carries its headers already.
        if !preflightContinue, context.method == "OPTIONS",
           case .one = context.head.value(named: "access-control-request-method") {
            return
        }
        guard let origin = allowedOrigin(context) else { return }
        context.addResponseHeader("Access-Control-Allow-Origin", origin)
        if origin != "*" { context.addResponseHeader("Vary", "Origin") }
        if credentials { context.addResponseHeader("Access-Control-Allow-Credentials", "true") }
        if let exposedHeaders { context.addResponseHeader("Access-Control-Expose-Headers", exposedHeaders) }
    }

    /// The `Access-Control-Allow-Origin` value for this request, or nil when its origin is not allowed.
    private func allowedOrigin(_ context: PluginContext) -> String? {
        let origin: String? = if case .one(let value) = context.head.value(named: "origin"), AccessResult.Header.isSafe(value) {
            value
        } else {
            nil
        }
        if anyOrigin {
            // With credentials a browser refuses `*`: the origin itself is named.
            return credentials ? origin ?? "*" : "*"
        }
        guard let origin else { return nil }
        if exactOrigins.contains(origin.lowercased()) { return origin }
        let range = NSRange(origin.startIndex..., in: origin)
        return patterns.contains { $0.firstMatch(in: origin, range: range) != nil } ? origin : nil
    }
}

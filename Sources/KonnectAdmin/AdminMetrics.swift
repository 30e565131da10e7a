import HTTPTypes
import Hummingbird
import KonnectAI
import KonnectPlugins
import NIOCore

/// `GET /metrics`: Prometheus's text format. Today the AI gateway's counters: requests, tokens
/// by kind and cost, by model, provider, deployment, route and consumer, since the node started.
extension AdminAPI {
    func metrics() -> Response {
        let series = AIUsageLedger.shared.totalsSinceStart.sorted { "\($0.key)" < "\($1.key)" }
        var text = ""
        func family(_ name: String, _ help: String, _ value: (AIUsageTotals) -> [(kind: String?, value: Double)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (key, totals) in series {
                for sample in value(totals) {
                    var labels = [("model", key.model), ("provider", key.provider), ("deployment", key.deployment),
                                  ("route", key.route), ("consumer", key.consumer)]
                    if let kind = sample.kind { labels.append(("kind", kind)) }
                    let rendered = labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",")
                    text += "\(name){\(rendered)} \(Self.sample(sample.value))\n"
                }
            }
        }
        family("konnect_ai_requests_total", "AI gateway requests answered.") { [(nil, Double($0.requests))] }
        family("konnect_ai_tokens_total", "Tokens of AI gateway requests, by kind (cached tokens are part of input).") {
            [("input", Double($0.inputTokens)), ("output", Double($0.outputTokens)), ("cached", Double($0.cachedTokens))]
        }
        family("konnect_ai_cost_dollars_total", "Cost of AI gateway requests at the configured or list prices, in US dollars.") {
            [(nil, $0.cost)]
        }
        family("konnect_ai_estimated_requests_total", "AI gateway requests whose usage Konnect estimated (the provider reported none).") {
            [(nil, Double($0.estimated))]
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A label value as Prometheus's text format writes it: backslash, quote and newline escaped.
    static func escapeLabel(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func sample(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

import Foundation
import KonnectConfig
import KonnectHTTP1
import NIOCore

/// Refuses requests from bots by their `User-Agent` (Kong's bot-detection): a built-in list of
/// well-known crawlers and tools plus the `deny` patterns, except what the `allow` patterns pass.
final class BotDetectionPlugin: ReadOnlyAccess {
    let name = "bot-detection"
    var phases: PluginPhases { .access }
    let allow: [NSRegularExpression]
    let deny: [NSRegularExpression]

    /// User agents of crawlers, scrapers and automated clients, matched case-insensitively.
    static let wellKnown = try! NSRegularExpression(
        pattern: "(bot\\b|bot/|crawler|spider|scrapy|slurp|archiver|facebookexternalhit|headlesschrome|phantomjs|"
            + "libwww-perl|nikto|sqlmap|masscan|zgrab|nmap)",
        options: [.caseInsensitive])

    init(config: JSONValue) {
        allow = config.texts("allow").compactMap { try? NSRegularExpression(pattern: $0) }
        deny = config.texts("deny").compactMap { try? NSRegularExpression(pattern: $0) }
    }

    func access(_ context: PluginContext) -> AccessResult {
        decide(context.head)
    }

    func access(_ head: HTTP1Head, path: String, clientIP: String, chain: PluginChain,
                memory: inout ConnectionMemory, responseLines: inout ByteBuffer) -> AccessResult {
        decide(head)
    }

    private func decide(_ head: HTTP1Head) -> AccessResult {
        let agent: String
        switch head.value(named: "user-agent") {
        case .none: return .proceed
        case .many: return .respond(status: 400, message: "Bad request: more than one User-Agent")
        case .one(let value): agent = value
        }
        let range = NSRange(agent.startIndex..., in: agent)
        func matches(_ pattern: NSRegularExpression) -> Bool { pattern.firstMatch(in: agent, range: range) != nil }
        if allow.contains(where: matches) { return .proceed }
        if deny.contains(where: matches) || matches(Self.wellKnown) {
            return .respond(status: 403, message: "Forbidden")
        }
        return .proceed
    }
}

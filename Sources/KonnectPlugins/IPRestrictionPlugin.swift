import KonnectConfig
import KonnectHTTP1
import NIOCore

/// Lets requests in by the client's address (Kong's ip-restriction): a `deny` block refuses,
/// and when `allow` is given only its blocks pass. The address is the one Konnect settled on,
/// which honours `X-Forwarded-For` only from trusted proxies.
final class IPRestrictionPlugin: ReadOnlyAccess {
    let name = "ip-restriction"
    var phases: PluginPhases { .access }
    let allow: [IPNetwork]
    let deny: [IPNetwork]
    let status: Int
    let message: String

    init(config: JSONValue) {
        allow = config.texts("allow").compactMap(IPNetwork.init)
        deny = config.texts("deny").compactMap(IPNetwork.init)
        status = config.number("status").map { Int($0) } ?? 403
        message = config.text("message") ?? "Your IP address is not allowed"
    }

    func access(_ context: PluginContext) -> AccessResult {
        decide(context.clientIP)
    }

    func access(_ head: HTTP1Head, path: String, clientIP: String, chain: PluginChain,
                memory: inout ConnectionMemory, responseLines: inout ByteBuffer) -> AccessResult {
        decide(clientIP)
    }

    private func decide(_ clientIP: String) -> AccessResult {
        guard let address = IPAddress(clientIP) else {
            return .respond(status: status, message: message)
        }
        if deny.contains(where: { $0.contains(address) }) { return .respond(status: status, message: message) }
        if !allow.isEmpty, !allow.contains(where: { $0.contains(address) }) {
            return .respond(status: status, message: message)
        }
        return .proceed
    }
}

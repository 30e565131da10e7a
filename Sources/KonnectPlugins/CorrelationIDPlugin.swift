import Atomics
import Foundation
import KonnectConfig

/// Gives each request an id in a header (Kong's correlation-id): the client's own when it sent
/// one, else a new one, passed upstream and, with `echo_downstream`, returned to the client.
final class CorrelationIDPlugin: ProxyPlugin {
    let name = "correlation-id"
    var phases: PluginPhases { echoDownstream ? [.access, .responseHeaders] : .access }
    let headerName: String
    let lowercasedName: String
    let generator: Generator
    let echoDownstream: Bool

    enum Generator {
        case uuid, uuidCounter, tracker
    }

    /// One UUID per process, followed by a counter, for `uuid#counter`.
    static let processUUID = UUID().uuidString.lowercased()
    static let counter = ManagedAtomic<Int>(0)

    init(config: JSONValue) {
        headerName = config.text("header_name") ?? "Konnect-Request-ID"
        lowercasedName = headerName.lowercased()
        generator = switch config.text("generator") {
        case "uuid": .uuid
        case "tracker": .tracker
        default: .uuidCounter
        }
        echoDownstream = config.flag("echo_downstream")
    }

    func access(_ context: PluginContext) -> AccessResult {
        let id: String
        if case .one(let given) = context.head.value(named: lowercasedName), !given.isEmpty {
            id = given  // already on its way upstream with the request
        } else {
            id = generate(context)
            context.addUpstreamLine("\(headerName): \(id)\r\n")
        }
        if echoDownstream { context.values[name] = id }
        return .proceed
    }

    func responseHeaders(_ context: PluginContext, status: Int) {
        if let id = context.values[name] as? String { context.addResponseHeader(headerName, id) }
    }

    private func generate(_ context: PluginContext) -> String {
        switch generator {
        case .uuid:
            return UUID().uuidString.lowercased()
        case .uuidCounter:
            return "\(Self.processUUID)#\(Self.counter.wrappingIncrementThenLoad(ordering: .relaxed))"
        case .tracker:
            let milliseconds = Int(Date().timeIntervalSince1970 * 1000)
            return "\(context.clientIP)-\(milliseconds)-\(Self.counter.wrappingIncrementThenLoad(ordering: .relaxed))"
        }
    }
}

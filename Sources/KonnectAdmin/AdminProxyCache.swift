import HTTPTypes
import Hummingbird
import KonnectConfig
import KonnectPlugins

/// Kong's proxy-cache endpoints: look up and purge cached responses.
///
/// - `DELETE /proxy-cache`: every entry in the stores of the configured proxy-cache plugins.
/// - `GET` / `DELETE /proxy-cache/{key}`: the entry under `key`, in any proxy-cache plugin's store.
/// - `GET` / `DELETE /proxy-cache/{plugin id}/caches/{key}`: in that plugin's store.
extension AdminAPI {
    func proxyCache(_ rest: [String], method: HTTPRequest.Method) async -> Response {
        let plugins = await control.configuration.plugins.filter { $0.name == "proxy-cache" }
        let stores: [ProxyCacheStore]
        let key: String
        switch rest.count {
        case 0:
            guard method == .delete else { return Self.methodNotAllowed }
            for store in plugins.compactMap(Self.store) { store.removeAll() }
            return Response(status: .noContent)
        case 1:
            stores = plugins.compactMap(Self.store)
            key = rest[0]
        case 3 where rest[1] == "caches":
            guard let plugin = plugins.first(where: { $0.id == rest[0].lowercased() }) else {
                return Self.json(404, .object(["message": .string("No proxy-cache plugin with id '\(rest[0])'")]))
            }
            stores = Self.store(plugin).map { [$0] } ?? []
            key = rest[2]
        default:
            return Self.notFound
        }
        switch method {
        case .get:
            guard let entry = stores.lazy.compactMap({ $0.get(key) }).first else { return Self.notFound }
            // Kong's fields (status, headers, body, body_len, timestamp, ttl, version), and
            // Konnect's own names for the same times.
            var fields: [String: JSONValue] = [
                "key": .string(key), "status": .number(Double(entry.status)),
                "headers": .object(Dictionary(entry.headers.map { ($0.name.lowercased(), JSONValue.string($0.value)) }) { $1 }),
                "body_len": .number(Double(entry.body.readableBytes)), "body_size": .number(Double(entry.body.readableBytes)),
                "timestamp": .number(entry.storedAt.rounded(.down)), "ttl": .number((entry.expires - entry.storedAt).rounded()),
                "version": .number(1),
                "stored_at": .number(entry.storedAt.rounded(.down)), "expires_at": .number(entry.expires.rounded(.down)),
            ]
            // A body that is not text has no JSON string to go in.
            if let text = entry.body.getString(at: entry.body.readerIndex, length: entry.body.readableBytes),
               text.utf8.elementsEqual(entry.body.readableBytesView) {
                fields["body"] = .string(text)
            }
            return Self.json(200, .object(fields))
        case .delete:
            let removed = stores.map { $0.remove(key) }.contains(true)
            return removed ? Response(status: .noContent) : Self.notFound
        default:
            return Self.methodNotAllowed
        }
    }

    /// The store a proxy-cache plugin uses, once it has been made (by the plugin, on the proxy).
    private static func store(_ plugin: Plugin) -> ProxyCacheStore? {
        ProxyCacheStore.existing(plugin.config["memory"]?["dictionary_name"]?.string ?? "kong_db_cache")
    }
}

import ArgumentParser
import Foundation
import KonnectConfig
import KonnectProxy
import NIOCore

/// The process environment, as a lookup.
struct Environment {
    let values: [String: String]

    static var current: Environment { Environment(values: ProcessInfo.processInfo.environment) }

    subscript(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Node settings read from `KONNECT_*` environment variables (flags are applied on top by the caller).
enum NodeSettings {
    static func proxySettings(environment: Environment) throws -> ProxySettings {
        var settings = ProxySettings()
        if let listen = environment["KONNECT_PROXY_LISTEN"] {
            try applyListen(listen, to: &settings, source: "KONNECT_PROXY_LISTEN")
        }
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ValidationError("\(name)=\(text): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func seconds(_ name: String) throws -> TimeAmount? {
            try int(name, 1...86_400).map { .seconds(Int64($0)) }
        }
        if let value = try int("KONNECT_THREADS", 1...1024) { settings.threads = value }
        if let value = try int("KONNECT_MAX_CONNECTIONS", 1...10_000_000) { settings.maxConnections = value }
        if let value = try seconds("KONNECT_CLIENT_HEADER_TIMEOUT") { settings.clientHeaderTimeout = value }
        if let value = try seconds("KONNECT_CLIENT_BODY_TIMEOUT") { settings.clientBodyTimeout = value }
        if let value = try seconds("KONNECT_KEEPALIVE_TIMEOUT") { settings.keepaliveTimeout = value }
        if let value = try int("KONNECT_MAX_HEADER_SIZE", 256...81_920) { settings.maxHeaderSize = value }
        if let value = try int("KONNECT_MAX_HEADERS_SIZE", 1024...81_920) { settings.maxHeadersSize = value }
        if let value = try int("KONNECT_MAX_HEADER_COUNT", 1...10_000) { settings.maxHeaderCount = value }
        if let value = try int("KONNECT_MAX_URI_LENGTH", 256...81_920) { settings.maxURILength = value }
        if let value = try int("KONNECT_MAX_BODY_SIZE", 0...Int.max) { settings.maxBodySize = Int64(value) }
        if let value = try seconds("KONNECT_SHUTDOWN_GRACE_PERIOD") { settings.shutdownGracePeriod = value }
        if let value = try int("KONNECT_UPSTREAM_KEEPALIVE_POOL_SIZE", 0...100_000) { settings.upstreamKeepalivePoolSize = value }
        if let value = try seconds("KONNECT_UPSTREAM_KEEPALIVE_TIMEOUT") { settings.upstreamKeepaliveTimeout = value }
        if let text = environment["KONNECT_DNS_RESOLVER"] {
            do {
                settings.dnsResolvers = try ProxySettings.parseDNSResolvers(text)
            } catch {
                throw ValidationError("KONNECT_DNS_RESOLVER=\(text): \(error)")
            }
        }
        if let text = environment["KONNECT_TRUSTED_IPS"] {
            settings.trustedIPs = try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.map { entry in
                    guard let network = IPNetwork(entry) else {
                        throw ValidationError("KONNECT_TRUSTED_IPS: \(entry) is not an IP address or CIDR block")
                    }
                    return network
                }
        }
        if let path = environment["KONNECT_DNS_HOSTSFILE"] { settings.dnsHostsFile = path }
        if let value = try seconds("KONNECT_DNS_NOT_FOUND_TTL") { settings.dnsNotFoundTTL = value }
        if let value = try seconds("KONNECT_DNS_ERROR_TTL") { settings.dnsErrorTTL = value }
        if let value = try int("KONNECT_DNS_STALE_TTL", 0...86_400) { settings.dnsStaleTTL = .seconds(Int64(value)) }
        return settings
    }

    /// Parses `host:port`, `:port` or `[v6]:port`.
    static func applyListen(_ text: String, to settings: inout ProxySettings, source: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port)
        else {
            throw ValidationError("\(source)=\(text): expected host:port, for example 0.0.0.0:8000")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        settings.host = host.isEmpty ? "0.0.0.0" : host
        settings.port = port
    }

    /// The Admin API's address from `--admin-listen` or `KONNECT_ADMIN_LISTEN`
    /// (default 127.0.0.1:8001); nil for `off`.
    static func adminListen(_ flag: String?, environment: Environment) throws -> (host: String, port: Int)? {
        let source = flag != nil ? "--admin-listen" : "KONNECT_ADMIN_LISTEN"
        let text = flag ?? environment["KONNECT_ADMIN_LISTEN"] ?? "127.0.0.1:8001"
        if text == "off" { return nil }
        var settings = ProxySettings()
        try applyListen(text, to: &settings, source: source)
        return (settings.host, settings.port)
    }
}

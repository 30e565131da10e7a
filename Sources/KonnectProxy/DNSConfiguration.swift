import Foundation
import NIOCore

/// Where and how `NameResolver` looks names up: hosts file entries, nameservers, search list
/// and timeouts, read once when the proxy starts.
struct DNSConfiguration: Sendable {
    /// Servers asked in turn; empty means the system resolver (`getaddrinfo`) is used instead.
    var nameservers: [SocketAddress] = []
    /// Domains appended to names with fewer than `ndots` dots (resolv.conf `search`/`domain`).
    var search: [String] = []
    var ndots = 1
    /// How long to wait for one server's answer before asking the next one.
    var timeout: TimeAmount = .seconds(2)
    /// Rounds over all nameservers before a lookup fails.
    var attempts = 2
    var hosts = DNSHosts()
    var cachePolicy = DNSCachePolicy()
    /// How long an address from the system resolver is kept (it reports no TTL).
    var systemTTL: TimeAmount = .seconds(30)

    init() {}

    /// Reads the files that `settings` names; a missing or unreadable file counts as empty.
    init(settings: ProxySettings) {
        let resolvConf = Self.readFile(settings.dnsResolvConf).map(ResolvConf.init(parsing:)) ?? ResolvConf()
        nameservers = settings.dnsResolvers.isEmpty ? resolvConf.nameservers : settings.dnsResolvers
        search = resolvConf.search
        ndots = resolvConf.ndots ?? 1
        timeout = resolvConf.timeout.map { .seconds(Int64($0)) } ?? .seconds(2)
        attempts = resolvConf.attempts ?? 2
        hosts = Self.readFile(settings.dnsHostsFile).map(DNSHosts.init(parsing:)) ?? DNSHosts()
        cachePolicy.notFoundTTL = settings.dnsNotFoundTTL
        cachePolicy.errorTTL = settings.dnsErrorTTL
        cachePolicy.staleTTL = settings.dnsStaleTTL
    }

    /// The names to ask for, in order, as resolv.conf(5) describes: a name with at least
    /// `ndots` dots is tried as is first, others after the search domains; a trailing dot
    /// turns the search list off.
    func candidates(for host: String) -> [String] {
        let name = DNSMessage.canonicalName(host)
        if host.hasSuffix(".") || search.isEmpty { return [name] }
        let qualified = search.map { "\(name).\($0)" }
        let dots = name.count(where: { $0 == "." })
        return dots >= ndots ? [name] + qualified : qualified + [name]
    }

    private static func readFile(_ path: String) -> String? {
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The parts of `/etc/resolv.conf` Konnect uses.
struct ResolvConf: Equatable, Sendable {
    var nameservers: [SocketAddress] = []
    var search: [String] = []
    var ndots: Int?
    var timeout: Int?
    var attempts: Int?

    init() {}

    /// Unknown lines and bad values are skipped, as the C library does.
    init(parsing text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = fields.dropFirst().prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }.map(String.init)
            switch keyword {
            case "nameserver":
                // A zone index (`fe80::1%eth0`) is dropped: link-local servers are not supported.
                if let first = values.first, !first.contains("%"),
                   let address = try? SocketAddress(ipAddress: first, port: 53) {
                    nameservers.append(address)
                }
            case "search", "domain":
                search = values.map { DNSMessage.canonicalName($0) }.filter { !$0.isEmpty }
            case "options":
                for option in values {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { continue }
                    switch parts[0] {
                    case "ndots": ndots = min(value, 15)
                    case "timeout": timeout = min(max(value, 1), 30)
                    case "attempts": attempts = min(max(value, 1), 5)
                    default: break
                    }
                }
            default:
                continue
            }
        }
    }
}

/// Addresses from a hosts file, by lowercase name; `localhost` resolves even without an entry.
struct DNSHosts: Equatable, Sendable {
    private var addresses: [String: [DNSAddress]] = [:]

    init() {}

    init(parsing text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let address = DNSAddress(String(fields[0])) else { continue }
            for name in fields.dropFirst() {
                let key = DNSMessage.canonicalName(String(name))
                if !(addresses[key]?.contains(address) ?? false) { addresses[key, default: []].append(address) }
            }
        }
    }

    /// The first IPv4 address listed for `name`, else its first IPv6 address.
    func address(for name: String) -> DNSAddress? {
        let key = DNSMessage.canonicalName(name)
        if let list = addresses[key] {
            return list.first(where: \.isIPv4) ?? list.first
        }
        if key == "localhost" || key.hasSuffix(".localhost") { return DNSAddress(127, 0, 0, 1) }
        return nil
    }
}

/// Why a DNS server list is not usable.
public struct DNSResolverListError: Error, CustomStringConvertible {
    public let entry: String
    public var description: String { "'\(entry)' is not an IP address with an optional port (10.0.0.2, 10.0.0.2:5353, [2001:db8::1]:53)" }
}

extension ProxySettings {
    /// Parses a comma-separated list of DNS servers, each `ip`, `ip:port` or `[ipv6]:port`
    /// (port 53 when left out).
    public static func parseDNSResolvers(_ text: String) throws -> [SocketAddress] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { raw in
            let entry = raw.trimmingCharacters(in: .whitespaces)
            var host = entry
            var port = 53
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw DNSResolverListError(entry: entry) }
                host = String(entry[entry.index(after: entry.startIndex)..<close])
                let rest = entry[entry.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { throw DNSResolverListError(entry: entry) }
                    port = value
                }
            } else if entry.count(where: { $0 == ":" }) == 1, let colon = entry.firstIndex(of: ":") {
                host = String(entry[..<colon])
                guard let value = Int(entry[entry.index(after: colon)...]) else { throw DNSResolverListError(entry: entry) }
                port = value
            }
            guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: host, port: port) else {
                throw DNSResolverListError(entry: entry)
            }
            return address
        }
    }
}

import KonnectConfig
import KonnectProxy
import Testing

/// ip-restriction, and the client address taken from `X-Forwarded-For` only from trusted proxies.
@Suite("Plugins: ip-restriction")
struct IPRestrictionPluginTests {
    static func configuration(port: Int, _ config: JSONValue) -> Configuration {
        pluginConfiguration(port: port, plugins: [Plugin(id: "p-ip", name: "ip-restriction", config: config)])
    }

    @Test(arguments: [
        (#"{"deny":["127.0.0.0/8"]}"#, 403),
        (#"{"allow":["10.0.0.0/8","::1"]}"#, 403),
        (#"{"allow":["127.0.0.1"]}"#, 200),
        (#"{"allow":["0.0.0.0/0"],"deny":["127.0.0.1/32"],"status":451,"message":"Not here"}"#, 451),
    ])
    func theClientAddressDecides(config: String, status: Int) async throws {
        let config = try JSONValue.parse(config)
        try await withProxy(configure: { Self.configuration(port: $0[0], config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // A client cannot talk its way in with a forwarded address: no proxy is trusted.
            let response = try await client.get("/x", headers: [("X-Forwarded-For", "10.1.2.3")])
            #expect(response.status == status)
            if status == 451 { #expect(response.text.contains("Not here")) }
        }
    }

    @Test(arguments: [
        ("10.1.2.3", 200),              // the client behind the trusted proxy
        ("192.0.2.9, 10.1.2.3", 200),   // the right-most untrusted hop counts, not what the client wrote first
        ("10.1.2.3, 192.0.2.9", 403),
        ("junk", 403),                  // unreadable: the proxy itself is the client
    ])
    func aTrustedProxysForwardedAddressIsTheClients(forwardedFor: String, status: Int) async throws {
        let config = try JSONValue.parse(#"{"allow":["10.0.0.0/8"]}"#)
        try await withProxy(settings: { $0.trustedIPs = [IPNetwork("127.0.0.1")!] },
                            configure: { Self.configuration(port: $0[0], config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x", headers: [("X-Forwarded-For", forwardedFor)])
            #expect(response.status == status)
            if status == 200 { #expect(response.text.lowercased().contains("x-real-ip: 10.1.2.3")) }
        }
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.1", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("2001:db8::/32", "2001:db8:1::5", true), ("2001:db8::/32", "2001:db9::1", false),
        ("::ffff:10.0.0.0/104", "10.9.9.9", true), ("192.0.2.1", "::ffff:192.0.2.1", true),
        ("0.0.0.0/0", "::1", false),
    ])
    func networksContainTheirAddresses(network: String, address: String, inside: Bool) throws {
        let block = try #require(IPNetwork(network))
        #expect(block.contains(try #require(IPAddress(address))) == inside)
    }

    /// Prefixes out of range are refused, the smallest integer included (it once overflowed the
    /// mapped-address arithmetic and stopped the gateway as the configuration was checked).
    @Test(arguments: ["::ffff:10.0.0.0/-9223372036854775808", "::ffff:10.0.0.0/95", "::ffff:10.0.0.0/129",
                      "10.0.0.0/33", "10.0.0.0/-1", "::1/129", "10.0.0.0/"])
    func prefixesOutOfRangeAreRefused(network: String) {
        #expect(IPNetwork(network) == nil)
    }
}

import NIOCore
import Testing

@testable import KonnectProxy

@Suite("DNS configuration: resolv.conf, hosts file, search list, resolver list")
struct DNSConfigurationTests {
    @Test func parsesResolvConf() throws {
        let conf = ResolvConf(parsing: """
            # comment
            nameserver 10.0.0.2
            nameserver   2001:db8::53 # trailing comment
            nameserver fe80::1%eth0
            nameserver not-an-ip
            domain first.example
            search corp.example  Lab.Example.
            options ndots:3 timeout:4 attempts:3 rotate
            ; another comment
            """)
        #expect(conf.nameservers == [
            try SocketAddress(ipAddress: "10.0.0.2", port: 53),
            try SocketAddress(ipAddress: "2001:db8::53", port: 53),
        ])
        #expect(conf.search == ["corp.example", "lab.example"])
        #expect(conf.ndots == 3)
        #expect(conf.timeout == 4)
        #expect(conf.attempts == 3)
    }

    @Test func resolvConfWithoutOptionsLeavesDefaults() {
        let conf = ResolvConf(parsing: "nameserver 127.0.0.53\n")
        #expect(conf.ndots == nil && conf.timeout == nil && conf.attempts == nil)
        #expect(conf.search.isEmpty)
    }

    struct CandidateCase: Sendable, CustomTestStringConvertible {
        let host: String
        let ndots: Int
        let expected: [String]
        var testDescription: String { "\(host) ndots:\(ndots)" }
    }

    @Test(arguments: [
        CandidateCase(host: "api", ndots: 1, expected: ["api.corp.example", "api.lab.example", "api"]),
        CandidateCase(host: "api.internal", ndots: 1, expected: ["api.internal", "api.internal.corp.example", "api.internal.lab.example"]),
        CandidateCase(host: "api.internal", ndots: 5, expected: ["api.internal.corp.example", "api.internal.lab.example", "api.internal"]),
        CandidateCase(host: "API.Internal.", ndots: 5, expected: ["api.internal"]),
    ])
    func searchListOrder(_ test: CandidateCase) {
        var configuration = DNSConfiguration()
        configuration.search = ["corp.example", "lab.example"]
        configuration.ndots = test.ndots
        #expect(configuration.candidates(for: test.host) == test.expected)
    }

    @Test func withoutSearchListTheNameIsAskedAsIs() {
        #expect(DNSConfiguration().candidates(for: "Api.Test") == ["api.test"])
    }

    @Test func parsesHostsFile() throws {
        let hosts = DNSHosts(parsing: """
            127.0.0.1   localhost
            # 10.9.9.9 commented.test
            ::1         localhost ip6-localhost
            10.1.2.3    Billing.Internal billing   # trailing comment
            2001:db8::7 dual.internal
            10.1.2.4    dual.internal
            bogus       ignored.internal
            """)
        #expect(hosts.address(for: "billing.internal") == DNSAddress(10, 1, 2, 3))
        #expect(hosts.address(for: "BILLING") == DNSAddress(10, 1, 2, 3))
        #expect(hosts.address(for: "dual.internal") == DNSAddress(10, 1, 2, 4))
        #expect(hosts.address(for: "ip6-localhost") == DNSAddress("::1"))
        #expect(hosts.address(for: "commented.test") == nil)
        #expect(hosts.address(for: "ignored.internal") == nil)
    }

    @Test func localhostResolvesWithoutAHostsEntry() {
        #expect(DNSHosts().address(for: "localhost") == DNSAddress(127, 0, 0, 1))
        #expect(DNSHosts().address(for: "app.localhost.") == DNSAddress(127, 0, 0, 1))
        #expect(DNSHosts().address(for: "localhost.example") == nil)
    }

    @Test(arguments: [
        ("10.0.0.2", ["10.0.0.2:53"]),
        ("10.0.0.2:5353", ["10.0.0.2:5353"]),
        ("::1", ["::1:53"]),
        ("[::1]:5300", ["::1:5300"]),
        ("1.1.1.1, 8.8.8.8:53", ["1.1.1.1:53", "8.8.8.8:53"]),
    ])
    func parsesResolverList(_ text: String, _ expected: [String]) throws {
        let addresses = try ProxySettings.parseDNSResolvers(text)
        #expect(addresses.map { "\($0.ipAddress!):\($0.port!)" } == expected)
    }

    @Test(arguments: ["dns.google", "10.0.0.2:0", "10.0.0.2:x", "[::1", "[::1]x", "10.0.0.2,"])
    func refusesBadResolverList(_ text: String) {
        #expect(throws: DNSResolverListError.self) { try ProxySettings.parseDNSResolvers(text) }
    }

    @Test func settingsChooseNameserversAndTTLs() throws {
        var settings = ProxySettings()
        settings.dnsResolvers = [try SocketAddress(ipAddress: "127.0.0.1", port: 5353)]
        settings.dnsResolvConf = "/nonexistent/resolv.conf"
        settings.dnsHostsFile = "/nonexistent/hosts"
        settings.dnsNotFoundTTL = .seconds(7)
        let configuration = DNSConfiguration(settings: settings)
        #expect(configuration.nameservers == settings.dnsResolvers)
        #expect(configuration.cachePolicy.notFoundTTL == .seconds(7))
        #expect(configuration.hosts.address(for: "localhost") == DNSAddress(127, 0, 0, 1))
        #expect(configuration.timeout == .seconds(2) && configuration.attempts == 2)
    }
}

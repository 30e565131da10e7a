@testable import KonnectProxy
import Testing

@Suite("Host header")
struct HostHeaderTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let header: String
        let host: String
        let port: Int?
        var testDescription: String { header }
    }

    @Test(arguments: [
        Case(header: "example.com", host: "example.com", port: nil),
        Case(header: "Example.COM:8080", host: "example.com", port: 8080),
        Case(header: "127.0.0.1:19501", host: "127.0.0.1", port: 19501),
        Case(header: "[::1]:80", host: "[::1]", port: 80),
        Case(header: "[::1]", host: "[::1]", port: nil),
        Case(header: "[2001:DB8::1]:8443", host: "[2001:db8::1]", port: 8443),
        Case(header: "API.example.com", host: "api.example.com", port: nil),
        Case(header: "a-very-long-host-name.example.com:8000", host: "a-very-long-host-name.example.com", port: 8000),
        Case(header: "example.com:", host: "example.com", port: nil),
        Case(header: "example.com:-80", host: "example.com", port: nil),
    ])
    func splitsNameAndPort(_ item: Case) {
        let (host, port) = HostHeader.split(item.header)
        #expect(host == item.host)
        #expect(port == item.port)
    }

    @Test(arguments: ["a/b", "a b", "", "a\u{0}b", "évil.example"])
    func refusesHostsThatAreNotNames(_ value: String) {
        #expect(!HostHeader.isValid(value))
    }
}

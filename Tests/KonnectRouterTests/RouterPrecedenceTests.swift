import KonnectConfig
import KonnectRouter
import Testing

/// A set of routes, one request, and the name of the route that must win (nil: no route matches).
struct PrecedenceCase: Sendable, CustomTestStringConvertible {
    let label: String
    let routes: [Route]
    let request: TestRequest
    let expected: String?
    /// The winner is decided by declaration order alone.
    let isTie: Bool

    var testDescription: String { "\(label): \(request) → \(expected ?? "no route")" }

    init(_ label: String, _ routes: [Route], _ request: TestRequest, _ expected: String?, tie: Bool = false) {
        self.label = label
        self.routes = routes
        self.request = request
        self.expected = expected
        self.isTie = tie
    }
}

private let wildcardThenPlain = [
    route("wildcard", hosts: ["*.example.com"]),
    route("plain", hosts: ["api.example.com"]),
]
private let fewerThenMoreHeaders = [
    route("one-header", headers: ["x-a": ["1"]]),
    route("two-headers", headers: ["x-a": ["1"], "x-b": ["2"]]),
]
private let longPrefixThenRegex = [
    route("long-prefix", paths: ["/users/123/details"]),
    route("regex", paths: [#"~/users/\d+"#]),
]
private let regexPriorities = [
    route("priority-0", paths: ["~/a/.*"]),
    route("priority-5", paths: ["~/a/b.*"], regexPriority: 5),
]
private let multiPath = [
    route("multi", paths: ["/x", "/very/long/prefix"]),
    route("middle", paths: ["/very/long"]),
]
private let pathThenMethodPath = [
    route("path-only", paths: ["/p"]),
    route("get-path", paths: ["/p"], methods: ["GET"]),
]
private let ports = [
    route("port-8080", hosts: ["example.com:8080"]),
    route("any-port", hosts: ["example.com"]),
]

/// Every precedence rule of ``RoutePriority``, each shown by a pair of routes that both match.
let precedenceCases: [PrecedenceCase] = [
    // Plain hosts before wildcard hosts; wildcards cover any depth but need at least one character.
    .init("plain host beats wildcard declared first", wildcardThenPlain, TestRequest(host: "api.example.com"), "plain"),
    .init("wildcard takes other subdomains", wildcardThenPlain, TestRequest(host: "www.example.com"), "wildcard"),
    .init("wildcard spans several labels", wildcardThenPlain, TestRequest(host: "a.b.example.com"), "wildcard"),
    .init("wildcard needs a label", wildcardThenPlain, TestRequest(host: "example.com"), nil),
    .init("trailing wildcard", [route("tld", hosts: ["example.*"])], TestRequest(host: "example.org"), "tld"),
    .init("trailing wildcard needs a label", [route("tld", hosts: ["example.*"])], TestRequest(host: "example."), nil),
    .init("any of several hosts", [route("two-hosts", hosts: ["a.com", "b.com"])], TestRequest(host: "b.com"), "two-hosts"),

    // More headers before fewer; values ignore case; `~*` values are case-insensitive regexes.
    .init("more headers win", fewerThenMoreHeaders, TestRequest(headers: ["x-a": ["1"], "x-b": ["2"]]), "two-headers"),
    .init("missing header falls back", fewerThenMoreHeaders, TestRequest(headers: ["x-a": ["1"]]), "one-header"),
    .init("header value of another request line", fewerThenMoreHeaders, TestRequest(headers: ["x-a": ["0", "1"]]), "one-header"),
    .init("header values ignore case", [route("env", headers: ["x-env": ["Prod"]])], TestRequest(headers: ["x-env": ["PROD"]]), "env"),
    .init("header value must equal", [route("env", headers: ["x-env": ["prod"]])], TestRequest(headers: ["x-env": ["production"]]), nil),
    .init("regex header value", [route("version", headers: ["x-version": ["~*^v[0-9]+$"]])], TestRequest(headers: ["x-version": ["V2"]]), "version"),
    .init("regex header value mismatch", [route("version", headers: ["x-version": ["~*^v[0-9]+$"]])], TestRequest(headers: ["x-version": ["beta"]]), nil),

    // Regex paths before prefix paths, whatever the prefix length; then regex_priority; then order.
    .init("regex beats longer prefix", longPrefixThenRegex, TestRequest(path: "/users/123/details/more"), "regex"),
    .init("prefix still serves what the regex misses", longPrefixThenRegex + [route("users", paths: ["/users"])], TestRequest(path: "/users/me"), "users"),
    .init("higher regex_priority wins", regexPriorities, TestRequest(path: "/a/bc"), "priority-5"),
    .init("lower regex_priority when the higher misses", regexPriorities, TestRequest(path: "/a/zz"), "priority-0"),
    .init("equal regex_priority: first declared", [route("first", paths: ["~/a/.*"]), route("second", paths: ["~/a/b"])], TestRequest(path: "/a/bc"), "first", tie: true),
    .init("regex anchored at path start", [route("versioned", paths: [#"~/api/v\d+"#])], TestRequest(path: "/x/api/v1"), nil),
    .init("regex with optional character", [route("items", paths: [#"~/items?/\d+"#])], TestRequest(path: "/item/3"), "items"),
    .init("regex with alternation", [route("pets", paths: [#"~/(cats|dogs)/\d+"#])], TestRequest(path: "/dogs/2"), "pets"),

    // Longest prefix first; each path of a route competes on its own.
    .init("longest prefix wins", [route("short", paths: ["/a"]), route("long", paths: ["/a/b"])], TestRequest(path: "/a/b/c"), "long"),
    .init("shorter prefix when the longer misses", [route("short", paths: ["/a"]), route("long", paths: ["/a/b"])], TestRequest(path: "/a/c"), "short"),
    .init("prefix is case-sensitive", [route("admin", paths: ["/Admin"])], TestRequest(path: "/admin"), nil),
    .init("multi-path route by its long path", multiPath, TestRequest(path: "/very/long/prefix/1"), "multi"),
    .init("multi-path route loses with its short path", multiPath, TestRequest(path: "/very/long/other"), "middle"),
    .init("multi-path route by its other path", multiPath, TestRequest(path: "/x/1"), "multi"),

    // More fields set first.
    .init("method and path beat path", pathThenMethodPath, TestRequest(method: "GET", path: "/p"), "get-path"),
    .init("path alone for other methods", pathThenMethodPath, TestRequest(method: "POST", path: "/p"), "path-only"),
    .init("methods: any of", [route("write", methods: ["PUT", "POST"])], TestRequest(method: "POST"), "write"),
    .init("methods: none of", [route("write", methods: ["PUT", "POST"])], TestRequest(method: "DELETE"), nil),
    .init("host and path beat a longer path", [route("long-path", paths: ["/very/long/path"]), route("host-root", paths: ["/"], hosts: ["example.com"])], TestRequest(path: "/very/long/path"), "host-root"),
    .init("plain host outranks a header", [route("header", headers: ["x-a": ["1"]]), route("host", hosts: ["example.com"])], TestRequest(headers: ["x-a": ["1"]]), "host"),
    .init("header outranks a wildcard host", [route("wildcard", hosts: ["*.example.com"]), route("header", headers: ["x-a": ["1"]])], TestRequest(host: "api.example.com", headers: ["x-a": ["1"]]), "header"),

    // Ports: a host entry with a port needs that port (80/443 when Host has none); otherwise order decides.
    .init("port-specific host on its port", ports, TestRequest(port: 8080), "port-8080", tie: true),
    .init("port-specific host skipped on another port", ports, TestRequest(port: 9090), "any-port"),
    .init("no port means 80 for http", ports, TestRequest(), "any-port"),
    .init("no port means 443 for https", [route("tls", hosts: ["example.com:443"])], TestRequest(scheme: "https"), "tls"),
    .init("443 entry skipped for plain http", [route("tls", hosts: ["example.com:443"])], TestRequest(scheme: "http"), nil),
    .init("wildcard host with port", [route("wild-port", hosts: ["*.example.com:8443"])], TestRequest(host: "x.example.com", port: 8443), "wild-port"),
    .init("wildcard host with another port", [route("wild-port", hosts: ["*.example.com:8443"])], TestRequest(host: "x.example.com", port: 8000), nil),

    // Remaining ties: declaration order.
    .init("identical routes: first declared", [route("first", paths: ["/p"]), route("second", paths: ["/p"])], TestRequest(path: "/p"), "first", tie: true),
]

@Suite struct RouterPrecedenceTests {
    @Test(arguments: precedenceCases)
    func winner(_ testCase: PrecedenceCase) {
        let match = router(testCase.routes).match(testCase.request)
        #expect(match?.route.name == testCase.expected)
    }

    @Test(arguments: precedenceCases)
    func declarationOrderDecidesOnlyTies(_ testCase: PrecedenceCase) {
        let reversed = Array(testCase.routes.reversed())
        let match = router(reversed).match(testCase.request)
        if testCase.isTie {
            let firstMatching = reversed.first { router([$0]).match(testCase.request) != nil }
            #expect(match?.route.name == firstMatching?.name)
            #expect(match?.route.name != testCase.expected)
        } else {
            #expect(match?.route.name == testCase.expected)
        }
    }
}

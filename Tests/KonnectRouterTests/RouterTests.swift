import KonnectConfig
import KonnectRouter
import Testing

@Suite struct RouterTests {
    @Test func emptyConfigurationMatchesNothing() {
        let empty = Router(configuration: .empty)
        #expect(empty.routeCount == 0)
        #expect(empty.match(TestRequest()) == nil)
    }

    /// Prefixes of one length that end in different bytes, a shorter one, and a regex with no
    /// literal start: each request finds the longest prefix it has, whichever byte ends it.
    @Test(arguments: [("/ab/x", "ab"), ("/acx", "ac"), ("/ad", "a"), ("/a", "a"), ("/123", "digits"), ("/b", nil)])
    func prefixesOfOneLengthAreToldApartByTheirLastByte(path: String, expected: String?) {
        let table = router([
            route("ab", paths: ["/ab"]), route("ac", paths: ["/ac"]), route("a", paths: ["/a"]),
            route("digits", paths: ["~/[0-9]+$"]),
        ])
        #expect(table.match(TestRequest(path: path))?.route.name == expected)
    }

    @Test func noMatchReturnsNil() {
        let table = router([
            route("api", paths: ["/api"], hosts: ["api.example.com"]),
            route("get", paths: ["/get"], methods: ["GET"]),
        ])
        #expect(table.match(TestRequest(host: "api.example.com", path: "/other")) == nil)
        #expect(table.match(TestRequest(host: "www.example.com", path: "/api")) == nil)
        #expect(table.match(TestRequest(method: "POST", path: "/get")) == nil)
        #expect(table.match(TestRequest(method: "GET", path: "/ge")) == nil)
    }

    @Test func routeCarriesItsService() throws {
        let service = Service(id: "svc", name: "orders", host: "orders.internal", path: "/v1")
        let table = router([route("orders", paths: ["/orders"], serviceID: "svc")], services: [service])
        let match = try #require(table.match(TestRequest(path: "/orders/7")))
        #expect(match.service == service)
        #expect(match.upstreamPath == "/v1/7")
        #expect(match.captures.isEmpty)
        #expect(match.redirectStatus == nil)
    }

    @Test func routesOfDisabledServicesAreNotMatched() throws {
        let services = [
            Service(id: "off", host: "off.internal", enabled: false),
            Service(id: "on", host: "on.internal"),
        ]
        let table = router(
            [
                route("disabled", paths: ["/api/special"], serviceID: "off"),
                route("fallback", paths: ["/api"], serviceID: "on"),
            ], services: services)
        #expect(table.routeCount == 1)
        let match = try #require(table.match(TestRequest(path: "/api/special")))
        #expect(match.route.name == "fallback")
        #expect(match.service?.id == "on")
    }

    @Test func routeWithoutServiceStillMatches() throws {
        let match = try #require(router([route("bare", paths: ["/bare"])]).match(TestRequest(path: "/bare/x")))
        #expect(match.service == nil)
        #expect(match.upstreamPath == "/x")
    }

    @Test func namedAndNumberedCaptures() throws {
        let table = router([route("posts", paths: [#"~/users/(?<user_id>\d+)/posts/(\d+)"#])])
        let match = try #require(table.match(TestRequest(path: "/users/42/posts/7/comments")))
        #expect(match.captures == ["user_id": "42", "1": "42", "2": "7"])
        #expect(match.upstreamPath == "/comments")
    }

    @Test func pythonStyleNamedGroupsAndBackReferences() throws {
        let table = router([route("twice", paths: [#"~/(?P<word>[a-z]+)/(?P=word)$"#], stripPath: false)])
        let match = try #require(table.match(TestRequest(path: "/echo/echo")))
        #expect(match.captures == ["word": "echo", "1": "echo"])
        #expect(match.upstreamPath == "/echo/echo")
        #expect(table.match(TestRequest(path: "/echo/other")) == nil)
    }

    @Test func unmatchedOptionalGroupIsLeftOut() throws {
        let table = router([route("opt", paths: [#"~/a(?<suffix>-b)?/(\d+)"#])])
        let match = try #require(table.match(TestRequest(path: "/a/5")))
        #expect(match.captures == ["2": "5"])
    }

    @Test func prefixRouteHasNoCaptures() throws {
        let match = try #require(router([route("plain", paths: ["/users"])]).match(TestRequest(path: "/users/1")))
        #expect(match.captures.isEmpty)
    }

    @Test func regexStripRemovesTheMatchedPart() throws {
        let service = Service(id: "svc", host: "backend", path: "/svc")
        let table = router([route("versioned", paths: [#"~/api/v\d+"#], serviceID: "svc")], services: [service])
        let match = try #require(table.match(TestRequest(path: "/api/v2/items")))
        #expect(match.upstreamPath == "/svc/items")
    }

    @Test func invalidRegexPathNeverMatchesButOtherPathsDo() throws {
        let table = router([route("broken", paths: ["~/a(", "/fine"])])
        #expect(table.match(TestRequest(path: "/a(")) == nil)
        #expect(try #require(table.match(TestRequest(path: "/fine"))).route.name == "broken")
    }

    @Test(arguments: [
        (["https"], "http", 426 as Int?),
        (["https"], "https", nil),
        (["http", "https"], "http", nil),
        (["http"], "http", nil),
    ])
    func httpsOnlyRoutesAskForRedirect(protocols: [String], scheme: String, expected: Int?) throws {
        let table = router([route("secure", paths: ["/s"], protocols: protocols)])
        let match = try #require(table.match(TestRequest(scheme: scheme, path: "/s")))
        #expect(match.redirectStatus == expected)
    }

    @Test func redirectUsesTheRouteStatusCode() throws {
        let table = router([route("secure", protocols: ["https"], httpsRedirectStatusCode: 301)])
        #expect(try #require(table.match(TestRequest(scheme: "http"))).redirectStatus == 301)
    }

    @Test func dotSegmentsCannotReachAnotherRoutesPrefix() throws {
        let table = router([route("public", paths: ["/public"]), route("admin", paths: ["/admin"])])
        let publicOnly = router([route("public", paths: ["/public"])])
        for raw in ["/public/../admin", "/public/%2e%2e/admin", "/public/./../admin/", "//admin"] {
            let path = try #require(PathNormalizer.normalize(raw[...]))
            let match = try #require(table.match(TestRequest(path: path)))
            #expect(match.route.name == "admin", "\(raw) normalised to \(path)")
            #expect(publicOnly.match(TestRequest(path: path)) == nil, "\(raw) must not reach /public")
        }
    }

    @Test func encodedUnreservedCharactersReachTheirRoute() throws {
        let table = router([route("admin", paths: ["/admin"])])
        let path = try #require(PathNormalizer.normalize("/%61dmin/x"[...]))
        #expect(try #require(table.match(TestRequest(path: path))).upstreamPath == "/x")
    }
}

/// Routes generated at scale next to the routes of every precedence case.
@Suite struct RouterScaleTests {
    static let generatedCount = 10_000

    /// Four shapes in turn, none able to match a request of the precedence table: exact host, host-less
    /// prefix, wildcard host, and method + regex path.
    static let generated: [Route] = (0..<generatedCount).map { index in
        switch index % 4 {
        case 0: route("gen-\(index)", paths: ["/api"], hosts: ["svc\(index).example.net"])
        case 1: route("gen-\(index)", paths: ["/gen/\(index)"])
        case 2: route("gen-\(index)", hosts: ["*.w\(index).example.net"])
        default: route("gen-\(index)", paths: [#"~/re\#(index)/(?<id>\d+)$"#], methods: ["GET"])
        }
    }

    static let large: Router = router(generated)

    @Test(arguments: precedenceCases)
    func sameWinnerAmongTenThousandRoutes(_ testCase: PrecedenceCase) {
        let half = Self.generated.count / 2
        let crowded = router(Array(Self.generated[..<half]) + testCase.routes + Array(Self.generated[half...]))
        #expect(crowded.routeCount == Self.generated.count + testCase.routes.count)
        #expect(crowded.match(testCase.request)?.route.name == testCase.expected)
    }

    @Test(arguments: [0, 1, 2, 3, 10, 11, 101, 1_001, 4_998, 5_555, 9_996, 9_997, 9_998, 9_999])
    func eachGeneratedRouteIsFound(index: Int) throws {
        let request: TestRequest
        switch index % 4 {
        case 0: request = TestRequest(host: "svc\(index).example.net", path: "/api/items")
        case 1: request = TestRequest(host: "anything.example.org", path: "/gen/\(index)/items")
        case 2: request = TestRequest(host: "a.b.w\(index).example.net", path: "/x")
        default: request = TestRequest(method: "GET", path: "/re\(index)/42")
        }
        let match = try #require(Self.large.match(request))
        #expect(match.route.name == "gen-\(index)")
        if index % 4 == 3 { #expect(match.captures["id"] == "42") }
    }

    @Test(arguments: [
        TestRequest(host: "unknown.example.org", path: "/nothing"),
        TestRequest(host: "svc1.example.net", path: "/api"),
        TestRequest(host: "svc4.example.net", path: "/ap"),
        TestRequest(path: "/gen/x"),
        TestRequest(path: "/gen/"),
        TestRequest(host: "w2.example.net"),
        TestRequest(method: "POST", path: "/re3/42"),
        TestRequest(method: "GET", path: "/re3/42/more"),
    ])
    func nearMissesMatchNothing(request: TestRequest) {
        #expect(Self.large.match(request) == nil)
    }
}

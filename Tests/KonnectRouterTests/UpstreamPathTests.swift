import KonnectConfig
import KonnectRouter
import Testing

/// Service path × route path × strip_path × path_handling × request path → upstream path, as Kong documents
/// path handling (a nil route path: the route matches by host only).
struct UpstreamPathCase: Sendable, CustomTestStringConvertible {
    let servicePath: String?
    let routePath: String?
    let stripPath: Bool
    let handling: PathHandling
    let requestPath: String
    let expected: String

    var testDescription: String {
        "service \(servicePath ?? "nil") route \(routePath ?? "(host)") strip=\(stripPath) \(handling): "
            + "\(requestPath) → \(expected)"
    }

}

/// One case for each combination of the given strip_path and path_handling values.
private func rows(
    _ servicePath: String?, _ routePath: String?, _ strip: [Bool], _ handling: [PathHandling],
    _ requestPath: String, _ expected: String
) -> [UpstreamPathCase] {
    strip.flatMap { stripPath in
        handling.map {
            UpstreamPathCase(
                servicePath: servicePath, routePath: routePath, stripPath: stripPath, handling: $0,
                requestPath: requestPath, expected: expected)
        }
    }
}

private let both: [Bool] = [false, true]
private let kept: [Bool] = [false]
private let stripped: [Bool] = [true]
private let v0v1: [PathHandling] = [.v0, .v1]
private let v0: [PathHandling] = [.v0]
private let v1: [PathHandling] = [.v1]

private let upstreamPathRows: [[UpstreamPathCase]] = [
    // Service path "/".
    rows("/", "/", both, v0v1, "/", "/"),
    rows("/", "/", both, v0v1, "/route", "/route"),
    rows("/", "/", both, v0v1, "/route/", "/route/"),
    rows("/", "/", both, v0v1, "/routereq", "/routereq"),
    rows("/", "/", both, v0v1, "/route/req", "/route/req"),
    rows("/", "/route", kept, v0v1, "/route", "/route"),
    rows("/", "/route", kept, v0v1, "/route/", "/route/"),
    rows("/", "/route", kept, v0v1, "/routereq", "/routereq"),
    rows("/", "/route", stripped, v0v1, "/route", "/"),
    rows("/", "/route", stripped, v0v1, "/route/", "/"),
    rows("/", "/route", stripped, v0v1, "/routereq", "/req"),
    rows("/", "/route/", kept, v0v1, "/route/", "/route/"),
    rows("/", "/route/", kept, v0v1, "/route/req", "/route/req"),
    rows("/", "/route/", stripped, v0v1, "/route/", "/"),
    rows("/", "/route/", stripped, v0v1, "/route/req", "/req"),
    // Short paths: where v0 and v1 part ways.
    rows("/srv", "/rou", kept, v0, "/roureq", "/srv/roureq"),
    rows("/srv", "/rou", kept, v1, "/roureq", "/srvroureq"),
    rows("/srv", "/rou", stripped, v0, "/roureq", "/srv/req"),
    rows("/srv", "/rou", stripped, v1, "/roureq", "/srvreq"),
    rows("/srv/", "/rou", kept, v0v1, "/rou", "/srv/rou"),
    rows("/srv/", "/rou", stripped, v0, "/rou", "/srv"),
    rows("/srv/", "/rou", stripped, v1, "/rou", "/srv/"),
    // Service path without a trailing slash.
    rows("/service", "/", both, v0v1, "/", "/service"),
    rows("/service", "/", both, v0, "/route", "/service/route"),
    rows("/service", "/", both, v1, "/route", "/serviceroute"),
    rows("/service", "/", both, v0, "/route/", "/service/route/"),
    rows("/service", "/", both, v1, "/route/", "/serviceroute/"),
    rows("/service", "/", both, v0, "/routereq", "/service/routereq"),
    rows("/service", "/", both, v1, "/routereq", "/serviceroutereq"),
    rows("/service", "/", both, v0, "/route/req", "/service/route/req"),
    rows("/service", "/", both, v1, "/route/req", "/serviceroute/req"),
    rows("/service", "/route", kept, v0, "/route", "/service/route"),
    rows("/service", "/route", kept, v1, "/route", "/serviceroute"),
    rows("/service", "/route", kept, v0, "/route/", "/service/route/"),
    rows("/service", "/route", kept, v1, "/route/", "/serviceroute/"),
    rows("/service", "/route", kept, v0, "/routereq", "/service/routereq"),
    rows("/service", "/route", kept, v1, "/routereq", "/serviceroutereq"),
    rows("/service", "/route", stripped, v0v1, "/route", "/service"),
    rows("/service", "/route", stripped, v0v1, "/route/", "/service/"),
    rows("/service", "/route", stripped, v0, "/routereq", "/service/req"),
    rows("/service", "/route", stripped, v1, "/routereq", "/servicereq"),
    rows("/service", "/route/", kept, v0, "/route/", "/service/route/"),
    rows("/service", "/route/", kept, v1, "/route/", "/serviceroute/"),
    rows("/service", "/route/", kept, v0, "/route/req", "/service/route/req"),
    rows("/service", "/route/", kept, v1, "/route/req", "/serviceroute/req"),
    rows("/service", "/route/", stripped, v0, "/route/", "/service/"),
    rows("/service", "/route/", stripped, v1, "/route/", "/service"),
    rows("/service", "/route/", stripped, v0, "/route/req", "/service/req"),
    rows("/service", "/route/", stripped, v1, "/route/req", "/servicereq"),
    // Service path with a trailing slash.
    rows("/service/", "/", both, v0v1, "/route/", "/service/route/"),
    rows("/service/", "/", both, v0v1, "/", "/service/"),
    rows("/service/", "/", both, v0v1, "/route", "/service/route"),
    rows("/service/", "/", both, v0v1, "/routereq", "/service/routereq"),
    rows("/service/", "/", both, v0v1, "/route/req", "/service/route/req"),
    rows("/service/", "/route", kept, v0v1, "/route", "/service/route"),
    rows("/service/", "/route", kept, v0v1, "/route/", "/service/route/"),
    rows("/service/", "/route", kept, v0v1, "/routereq", "/service/routereq"),
    rows("/service/", "/route", stripped, v0, "/route", "/service"),
    rows("/service/", "/route", stripped, v1, "/route", "/service/"),
    rows("/service/", "/route", stripped, v0v1, "/route/", "/service/"),
    rows("/service/", "/route", stripped, v0v1, "/routereq", "/service/req"),
    rows("/service/", "/route/", kept, v0v1, "/route/", "/service/route/"),
    rows("/service/", "/route/", kept, v0v1, "/route/req", "/service/route/req"),
    rows("/service/", "/route/", stripped, v0v1, "/route/", "/service/"),
    rows("/service/", "/route/", stripped, v0v1, "/route/req", "/service/req"),
    // Routes matched by host only.
    rows("/", nil, both, v0v1, "/", "/"),
    rows("/", nil, both, v0v1, "/route", "/route"),
    rows("/", nil, both, v0v1, "/route/", "/route/"),
    rows("/service", nil, both, v0v1, "/", "/service"),
    rows("/service", nil, both, v0, "/route", "/service/route"),
    rows("/service", nil, both, v1, "/route", "/serviceroute"),
    rows("/service", nil, both, v0, "/route/", "/service/route/"),
    rows("/service", nil, both, v1, "/route/", "/serviceroute/"),
    rows("/service/", nil, both, v0v1, "/", "/service/"),
    rows("/service/", nil, both, v0v1, "/route", "/service/route"),
    rows("/service/", nil, both, v0v1, "/route/", "/service/route/"),
    // A service without a path behaves as "/".
    rows(nil, "/route", stripped, v0v1, "/route/req", "/req"),
    rows(nil, "/route", kept, v0v1, "/route/req", "/route/req"),
    // A leftover dot segment after the stripped prefix is dropped.
    rows("/service", "/route", stripped, v0, "/route../x", "/service/x"),

]

let upstreamPathCases = upstreamPathRows.flatMap { $0 }

@Suite struct UpstreamPathTests {
    @Test(arguments: upstreamPathCases)
    func upstreamPath(_ testCase: UpstreamPathCase) throws {
        let service = Service(id: "svc", host: "backend.internal", path: testCase.servicePath)
        let routed = route(
            "r", paths: testCase.routePath.map { [$0] } ?? [], hosts: ["example.com"],
            stripPath: testCase.stripPath, pathHandling: testCase.handling, serviceID: "svc")
        let match = try #require(router([routed], services: [service]).match(TestRequest(path: testCase.requestPath)))
        #expect(match.upstreamPath == testCase.expected)
    }
}

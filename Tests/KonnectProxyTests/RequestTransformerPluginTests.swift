import KonnectConfig
import KonnectProxy
import Testing

/// request-transformer: each operation on headers, query arguments and bodies, as argument tables
/// of (config, request, what the upstream must and must not see). The origin echoes the request
/// it got: its first line, its headers (lower-cased), an empty line, then the body.
@Suite("Plugins: request-transformer")
struct RequestTransformerPluginTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var config: String
        var request: String
        var sees: [String]
        var doesNotSee: [String] = []
        var testDescription: String { name }
    }

    static func configuration(port: Int, config: String) throws -> Configuration {
        var configuration = pluginConfiguration(port: port, plugins: [
            Plugin(id: "p-rt", name: "request-transformer", config: try JSONValue.parse(config)),
        ])
        configuration.routes.append(Route(id: "r-users", name: "users", paths: [#"~/users/(?<id>\d+)$"#], serviceID: "s1"))
        configuration.plugins.append(Plugin(id: "p-rt-users", name: "request-transformer", config: try JSONValue.parse(config),
                                            routeID: "r-users"))
        return configuration
    }

    static func post(_ path: String, _ contentType: String, _ body: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static let cases: [Case] = [
        Case(name: "headers: remove, rename, replace, add, append, in that order",
             config: #"{"remove": {"headers": ["x-gone", "x-again"]}, "rename": {"headers": ["x-old:x-new"]},"#
                + #" "replace": {"headers": ["x-swap:swapped", "x-absent:never"]}, "add": {"headers": ["x-again:readded", "x-swap:ignored", "x-copy:$(headers.x-from)"]},"#
                + #" "append": {"headers": ["x-list:two"]}}"#,
             request: "GET /h HTTP/1.1\r\nHost: a\r\nX-Gone: 1\r\nX-Again: 1\r\nX-Old: moved\r\nX-Swap: before\r\nX-From: copied\r\nX-List: one\r\n\r\n",
             sees: ["x-new: moved", "x-swap: swapped", "x-again: readded", "x-copy: copied", "x-list: one", "x-list: two"],
             doesNotSee: ["x-gone", "x-old", "before", "x-absent", "ignored", "x-again: 1"]),
        Case(name: "a header sent several times is present: renamed with all its values, replaced by one",
             config: #"{"rename": {"headers": ["x-multi:x-moved"]}, "replace": {"headers": ["x-rep:one"]}, "add": {"headers": ["x-rep:never"]}}"#,
             request: "GET /h HTTP/1.1\r\nHost: a\r\nX-Multi: a\r\nX-Multi: b\r\nX-Rep: 1\r\nX-Rep: 2\r\n\r\n",
             sees: ["x-moved: a", "x-moved: b", "x-rep: one"],
             doesNotSee: ["x-multi", "x-rep: 1", "x-rep: 2", "never"]),
        Case(name: "a reference Konnect does not know is sent as written, and those after it are still filled",
             config: #"{"add": {"headers": ["x-mixed:$(shared.tenant)/$(headers.x-from)"]}}"#,
             request: "GET /h HTTP/1.1\r\nHost: a\r\nX-From: copied\r\n\r\n",
             sees: ["x-mixed: $(shared.tenant)/copied"]),
        Case(name: "`or` gives the value to use when the request lacks one",
             config: #"{"add": {"headers": ["x-tenant:$(headers.x-tenant or 'public')", "x-who:$(query_params.u or headers[\"x-user\"])","#
                + #" "x-last:$(headers.x-nope or query_params.nope or \"fallback\")", "x-kept:$(headers.x-given or 'unused')"]}}"#,
             request: "GET /o HTTP/1.1\r\nHost: a\r\nX-User: ann\r\nX-Given: yes\r\n\r\n",
             sees: ["x-tenant: public", "x-who: ann", "x-last: fallback", "x-kept: yes"], doesNotSee: ["unused", "$("]),
        Case(name: "Host is set for the upstream, once",
             config: #"{"replace": {"headers": ["host:internal.example"]}}"#,
             request: "GET /host HTTP/1.1\r\nHost: public.example\r\n\r\n",
             sees: ["\nhost: internal.example\n", "x-forwarded-host: public.example"], doesNotSee: ["\nhost: 127.0.0.1", "\nhost: public.example"]),
        Case(name: "a route capture by its number",
             config: #"{"replace": {"uri": "/v2/people/$(uri_captures[1])"}}"#,
             request: "GET /users/42 HTTP/1.1\r\nHost: a\r\n\r\n",
             sees: ["GET /v2/people/42 HTTP/1.1"]),
        Case(name: "query arguments, with templates over the client's values",
             config: #"{"remove": {"querystring": ["drop"]}, "rename": {"querystring": ["b:bee"]}, "replace": {"querystring": ["c:3"]},"#
                + #" "add": {"querystring": ["d:$(query_params.c)", "c:ignored"]}, "append": {"querystring": ["c:4"]}}"#,
             request: "GET /q?drop=1&b=2&c=x HTTP/1.1\r\nHost: a\r\n\r\n",
             sees: ["GET /q?bee=2&c=3&d=x&c=4 HTTP/1.1"], doesNotSee: ["drop", "ignored"]),
        Case(name: "the path from a route capture, and the method",
             config: #"{"http_method": "POST", "replace": {"uri": "/v2/people/$(uri_captures.id)"}}"#,
             request: "GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
             sees: ["POST /v2/people/42?x=1 HTTP/1.1"]),
        Case(name: "JSON body fields by dotted path",
             config: #"{"remove": {"body": ["secret"]}, "rename": {"body": ["user.name:user.full_name"]},"#
                + #" "replace": {"body": ["user.role:admin", "user.absent:x"]}, "add": {"body": ["meta.source:$(headers.x-src)"]},"#
                + #" "append": {"body": ["tags:new"]}}"#,
             request: post("/j", "application/json", #"{"secret":"s","user":{"name":"Ann","role":"guest"},"tags":["old"]}"#)
                .replacingOccurrences(of: "Host: a\r\n", with: "Host: a\r\nX-Src: gw\r\n"),
             sees: [#""full_name":"Ann""#, #""role":"admin""#, #""meta":{"source":"gw"}"#, #""tags":["old","new"]"#],
             doesNotSee: ["secret", #""name""#, "absent"]),
        Case(name: "a new name from the request is used, unless it is deeper than any body goes",
             config: #"{"rename": {"body": ["a:$(headers.x-to)", "b:$(headers.x-deep)"]}}"#,
             request: post("/j", "application/json", #"{"a":1,"b":2}"#)
                .replacingOccurrences(of: "Host: a\r\n", with: "Host: a\r\nX-To: moved.here\r\nX-Deep: \(String(repeating: "d.", count: 3000))d\r\n"),
             sees: [#""moved":{"here":1}"#, #""b":2"#], doesNotSee: [#""d":"#]),
        Case(name: "form body fields",
             config: #"{"remove": {"body": ["password"]}, "add": {"body": ["source:gateway"]}}"#,
             request: post("/f", "application/x-www-form-urlencoded", "user=ann&password=p"),
             sees: ["content-length: 23\n", "\n\nuser=ann&source=gateway"], doesNotSee: ["password"]),
        Case(name: "a body that is not JSON or a form passes untouched",
             config: #"{"remove": {"body": ["a"]}}"#,
             request: post("/t", "text/plain", "a=1"), sees: ["\n\na=1"]),
        Case(name: "JSON that is not an object passes untouched",
             config: #"{"add": {"body": ["a:1"]}}"#,
             request: post("/t", "application/json", "[1,2]"), sees: ["\n\n[1,2]"]),
        Case(name: "a body over max_body_size passes untouched",
             config: #"{"remove": {"body": ["a"]}, "max_body_size": 4}"#,
             request: post("/t", "application/json", #"{"a":1}"#), sees: [#"{"a":1}"#]),
        Case(name: "a chunked JSON body is transformed, and sent with its new length",
             config: #"{"remove": {"body": ["a"]}}"#,
             request: chunked("/t", "application/json", [#"{"a":1,"#, #""b":2}"#]),
             sees: ["content-length: 7\n", #"{"b":2}"#], doesNotSee: ["transfer-encoding", #""a""#]),
        Case(name: "a chunked body that grows over max_body_size passes untouched, still chunked",
             config: #"{"remove": {"body": ["a"]}, "max_body_size": 8}"#,
             request: chunked("/t", "application/json", [#"{"a":1,"#, #""b":2,"#, #""c":3}"#]),
             sees: ["transfer-encoding: chunked", #"{"a":1,"b":2,"c":3}"#], doesNotSee: ["content-length"]),
        Case(name: "a JSON request without a body gets one when fields are added",
             config: #"{"add": {"body": ["x:1"]}}"#,
             request: "GET /n HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\r\n",
             sees: ["content-length: 9\n", #"{"x":"1"}"#]),
        Case(name: "and none when nothing is added",
             config: #"{"remove": {"body": ["x"]}}"#,
             request: "GET /n HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\r\n",
             sees: ["GET /n HTTP/1.1"], doesNotSee: ["content-length", "{}"]),
    ]

    /// A request whose body is sent in these chunks.
    static func chunked(_ path: String, _ contentType: String, _ parts: [String]) -> String {
        "POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n\r\n"
            + parts.map { String($0.utf8.count, radix: 16) + "\r\n" + $0 + "\r\n" }.joined() + "0\r\n\r\n"
    }

    @Test(arguments: cases)
    func theUpstreamSeesTheTransformedRequest(_ test: Case) async throws {
        try await withProxy(configure: { try! Self.configuration(port: $0[0], config: test.config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send(test.request)
            let response = try await client.readResponse()
            #expect(response.status == 200)
            let echoed = response.text
            for text in test.sees { #expect(echoed.contains(text), "missing \(text.debugDescription) in:\n\(echoed)") }
            for text in test.doesNotSee { #expect(!echoed.contains(text), "unexpected \(text.debugDescription) in:\n\(echoed)") }
        }
    }
}

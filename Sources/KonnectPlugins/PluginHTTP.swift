import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The HTTP requests plugins make to other servers (a JWKS document, a token introspection
/// endpoint), on an AsyncHTTPClient of their own: no request blocks an event loop of the proxy.
enum PluginHTTP {
    /// Not `HTTPClient.shared`, which tries a refused connection again until the request's
    /// deadline: an endpoint that is down would hold every request waiting on it for the whole
    /// timeout. Here a refused connection fails at once.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The answer's status and body; nil when there was none within `timeout`, or the body was
    /// larger than `limit` bytes.
    static func send(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)], body: String? = nil,
                     timeout: TimeAmount, limit: Int) async -> (status: Int, body: String)? {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: limit)
            return (Int(response.status.code), String(buffer: bytes))
        } catch {
            return nil
        }
    }
}

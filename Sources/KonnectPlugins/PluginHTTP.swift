import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The HTTP requests plugins make to other servers (a JWKS document, a token introspection
/// endpoint), on the process-wide AsyncHTTPClient: no request blocks an event loop of the proxy.
enum PluginHTTP {
    /// The answer's status and body; nil when there was none within `timeout`, or the body was
    /// larger than `limit` bytes.
    static func send(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)], body: String? = nil,
                     timeout: TimeAmount, limit: Int) async -> (status: Int, body: String)? {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: limit)
            return (Int(response.status.code), String(buffer: bytes))
        } catch {
            return nil
        }
    }
}

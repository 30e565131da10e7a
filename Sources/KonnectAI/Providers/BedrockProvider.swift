import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Amazon Bedrock's Converse API: `POST https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/converse`,
/// or `/converse-stream` for streams (binary `application/vnd.amazon.eventstream`).
///
/// Authentication, from the deployment's options (Kong's `model.options` names):
/// `aws_access_key_id` with `aws_secret_access_key` (and `aws_session_token` for temporary
/// credentials) sign each request with SigV4 for `aws_region` (default `us-east-1`); without an
/// access key, the deployment's key is a Bedrock API key, sent as a bearer token. The request is
/// signed here, since it is sent as it is written: a base URL replaces the endpoint before
/// signing, and so does the `upstream_url` option, taken as the whole URL.
public struct BedrockProvider: AIProvider {
    public let name = "bedrock"
    public let streamContentType = "amazon.eventstream"
    /// Seconds since 1970, for signing.
    private let now: @Sendable () -> Int64

    public init() {
        self.init(now: { Int64(time(nil)) })
    }

    /// A provider that signs with the time `now` gives (tests fix it).
    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        var request = request
        if request.maxTokens == nil { request.maxTokens = deployment.defaultMaxTokens }
        let body = try BedrockConverse.requestBody(request).buffer
        let options = deployment.options
        let region = options["aws_region"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let model = deployment.model.isEmpty ? request.model : deployment.model
        let url: String
        if let upstream = options["upstream_url"], !upstream.isEmpty {
            url = upstream
        } else {
            let base = deployment.base(or: "https://bedrock-runtime.\(region).amazonaws.com")
            url = base + "/model/" + AWSSigV4.percentEncoded(model) + (request.stream ? "/converse-stream" : "/converse")
        }
        var headers = [("Content-Type", "application/json")]

        if let accessKey = options["aws_access_key_id"], !accessKey.isEmpty {
            guard let secret = options["aws_secret_access_key"], !secret.isEmpty else {
                throw AIError(.server, status: 500, "bedrock: model.options.aws_access_key_id is set without aws_secret_access_key")
            }
            let token = options["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
            let signed = try AWSSigV4.sign(
                method: "POST", url: url, headers: headers, body: body,
                credentials: AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: token),
                region: region, service: "bedrock", secondsSince1970: now())
            headers = signed.headers
        } else if let key = deployment.apiKey, !key.isEmpty {
            headers.append(("Authorization", "Bearer \(key)"))
        }
        return ProviderRequest(url: url, headers: headers, body: body)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try BedrockConverse.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        BedrockConverse.error(status: status, headers: headers, body: body)
    }

    public func streamDecoder() -> any ChatStreamDecoder { BedrockConverseStreamDecoder() }
}

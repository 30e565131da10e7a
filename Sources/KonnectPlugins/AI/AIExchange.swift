import AsyncHTTPClient
import NIOConcurrencyHelpers
import KonnectAI
import NIOCore
import NIOHTTP1

/// One AI request sent to a provider and its answer carried back to the client: whole answers
/// translated at once, streams translated event by event as the provider sends them.
///
/// The provider is called on the process-wide AsyncHTTPClient (its own event loops, TLS,
/// keep-alive pools); every decision and every write reaches the client on the request's loop.
struct AIExchange: Sendable {
    let provider: any AIProvider
    let format: AIClientFormat
    let request: ChatRequest
    let deployment: AIDeployment
    let eventLoop: any EventLoop
    let timeout: TimeAmount

    /// The client for every provider: a refused connection fails at once (the next deployment
    /// can be tried) instead of being retried until the deadline, and long-lived streams to one
    /// provider do not queue behind each other.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// A provider answer larger than this is refused (a whole answer is read before translating).
    static let maximumAnswerBytes = 64 << 20

    /// Sends `upstream`; the access decision (the answer, or a stream) comes when the provider
    /// answers.
    func start(_ upstream: ProviderRequest) -> AccessResult {
        let pending = PendingAccess()
        let loop = eventLoop
        let handle = NIOLockedValueBox<Task<Void, Never>?>(nil)
        let task = Task {
            let result = await run(upstream, pending: pending, handle: handle)
            if let result { loop.execute { pending.complete(result) } }
        }
        handle.withLockedValue { $0 = task }
        return .wait(pending)
    }

    /// The whole exchange. Returns the access decision, or nil when it was already given (a
    /// stream that has begun).
    private func run(_ upstream: ProviderRequest, pending: PendingAccess,
                     handle: NIOLockedValueBox<Task<Void, Never>?>) async -> AccessResult? {
        var outbound = HTTPClientRequest(url: upstream.url)
        outbound.method = HTTPMethod(rawValue: upstream.method)
        for (name, value) in upstream.headers { outbound.headers.add(name: name, value: value) }
        outbound.body = .bytes(upstream.body)
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(outbound, timeout: timeout)
        } catch {
            return AIProxyPlugin.answer(Self.failure(error, timeout: timeout), format)
        }
        let status = Int(response.status.code)
        let headers = response.headers.map { ($0.name, $0.value) }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        guard (200..<300).contains(status), !request.stream || contentType.contains("event-stream") else {
            return await answerFailure(response, status: status, headers: headers, contentType: contentType)
        }
        if request.stream { return await relay(response, pending: pending, handle: handle) }
        do {
            let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
            var answer = try provider.chatResponse(body)
            answer.model = answer.model.isEmpty ? deployment.model : answer.model
            if answer.created == 0 { answer.created = Self.now() }
            return .respondStored(status: 200, headers: answerHeaders(contentType: "application/json"),
                                  body: format.responseBody(answer).buffer)
        } catch let error as AIError {
            return AIProxyPlugin.answer(error, format)
        } catch {
            return AIProxyPlugin.answer(Self.failure(error, timeout: timeout), format)
        }
    }

    /// A provider's failure (or an answer of the wrong kind) in the client's format.
    private func answerFailure(_ response: HTTPClientResponse, status: Int, headers: [(String, String)],
                               contentType: String) async -> AccessResult {
        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
        if (200..<300).contains(status) {
            // A 2xx that is not the stream asked for: an error object some servers send with 200,
            // or something that is not the provider at all.
            if let json = try? JSON.parse(body), json["error"] != nil {
                return AIProxyPlugin.answer(provider.error(status: 502, headers: headers, body: body), format)
            }
            let shown = contentType.isEmpty ? "no content type" : contentType
            return AIProxyPlugin.answer(AIError(.server, "The provider answered with \(shown) instead of an event stream"), format)
        }
        return AIProxyPlugin.answer(provider.error(status: status, headers: headers, body: body), format)
    }

    /// Streams the provider's answer to the client, translated event by event.
    private func relay(_ response: HTTPClientResponse, pending: PendingAccess,
                       handle: NIOLockedValueBox<Task<Void, Never>?>) async -> AccessResult? {
        let stream = PluginResponseStream(eventLoop: eventLoop)
        let headers = answerHeaders(contentType: "text/event-stream")
        let loop = eventLoop
        loop.execute {
            // The client went away: stop reading the provider's stream (which closes its request).
            stream.onCancel { handle.withLockedValue { $0 }?.cancel() }
            pending.complete(.respondStream(status: 200, headers: headers, body: stream))
        }
        var decoder = provider.streamDecoder()
        var encoder = format.streamEncoder(for: request, created: Self.now())
        var failure: AIError?
        do {
            for try await part in response.body {
                if Task.isCancelled { return nil }
                var out = ByteBuffer()
                for event in try decoder.decode(part) { encoder.encode(event, into: &out) }
                if out.readableBytes > 0 {
                    let piece = out
                    loop.execute { stream.write(piece) }
                }
            }
            var out = ByteBuffer()
            for event in try decoder.finish() { encoder.encode(event, into: &out) }
            encoder.finish(into: &out)
            let piece = out
            loop.execute {
                stream.write(piece)
                stream.finish()
            }
            return nil
        } catch let error as AIError {
            failure = error
        } catch {
            failure = Self.failure(error, timeout: timeout)
        }
        if Task.isCancelled { return nil }
        // The stream has begun: the failure becomes the client format's error event.
        var out = ByteBuffer()
        encoder.encode(.error(failure ?? AIError(.server, "The provider's stream failed")), into: &out)
        let piece = out
        loop.execute {
            stream.write(piece)
            stream.finish()
        }
        return nil
    }

    private func answerHeaders(contentType: String) -> [AccessResult.Header] {
        var headers = [AccessResult.Header("Content-Type", contentType)]
        if contentType == "text/event-stream" { headers.append(.init("Cache-Control", "no-cache")) }
        headers.append(.init("X-Konnect-AI-Provider", deployment.provider))
        headers.append(.init("X-Konnect-AI-Model", deployment.model))
        return headers
    }

    /// A failure to reach the provider, as the client learns it.
    static func failure(_ error: any Error, timeout: TimeAmount) -> AIError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return AIError(.timeout, "The provider did not answer within \(timeout.nanoseconds / 1_000_000) ms")
            case .bodyLengthMismatch, .remoteConnectionClosed:
                return AIError(.server, "The provider closed the connection before its answer was complete")
            default:
                break
            }
        }
        if error is CancellationError { return AIError(.server, "The request was cancelled") }
        return AIError(.unavailable, "The provider could not be reached (\(error))")
    }

    /// Seconds since 1970.
    static func now() -> Int { Int(RateWindow.now()) }
}

import AsyncHTTPClient
import KonnectAI
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// One AI request carried to a provider and its answer carried back to the client: whole
/// answers translated at once, streams translated event by event as the provider sends them.
/// With several deployments, a failure another deployment may not share (429, 5xx, 529, a
/// timeout, no connection) moves on to the next one; a stream that has begun is never switched.
///
/// Providers are called on one AsyncHTTPClient of their own (its own event loops, TLS, keep-alive
/// pools), from a task that runs on one of those loops; every decision and every write reaches
/// the client on the request's loop.
struct AIExchange: Sendable {
    /// A deployment to try, with what sending to it needs.
    struct Candidate: Sendable {
        var provider: any AIProvider
        var deployment: AIDeployment
        /// Replaces the provider's endpoint URL (Kong's `upstream_url`).
        var upstreamURL: String?
        var timeout: TimeAmount
        var retries = 0
        /// Its position in the model's deployments (for the router).
        var index = 0
        /// For the cost reported with each answer: the deployment's own, else the list price.
        var price: Price?
    }

    /// What the client asked for.
    enum Operation: Sendable {
        case chat(ChatRequest)
        case embeddings(EmbeddingsRequest)

        var model: String {
            switch self {
            case .chat(let request): request.model
            case .embeddings(let request): request.model
            }
        }

        /// The chat request, when it asks for a stream.
        var stream: ChatRequest? {
            if case .chat(let request) = self, request.stream { return request }
            return nil
        }
    }

    /// Whom the usage is counted for.
    struct Attribution: Sendable {
        var consumer: String?
        var route: String?

        init(_ context: PluginContext) {
            consumer = context.consumer?.id
            route = context.routeID
        }
    }

    let format: AIClientFormat
    let operation: Operation
    let attribution: Attribution
    let candidates: [Candidate]
    /// Learns from each attempt (cool-downs, latency); nil for a single fixed deployment.
    let router: AIModelRouter?
    let eventLoop: any EventLoop

    static let logger = Logger(label: "konnect.plugins.ai")

    /// The client for every provider: a refused connection fails at once (the next deployment
    /// can be tried) instead of being retried until the deadline, and long-lived streams to one
    /// provider do not queue behind each other.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        configuration.timeout.connect = .seconds(10)
        // A request's own timeout runs until the answer's head; after that, a stream that goes
        // quiet this long is given up (providers send tokens or pings well within it).
        configuration.timeout.read = .seconds(120)
        return HTTPClient(eventLoopGroupProvider: .shared(LoopTaskExecutor.group), configuration: configuration)
    }()

    /// A whole (not streamed) answer larger than this is refused (a whole answer is read before translating).
    static let maximumAnswerBytes = 64 << 20

    /// Starts the exchange; the access decision (an answer, or a stream) comes later.
    func start() -> AccessResult {
        // Every attempt may run to its timeout before the last failure is the answer.
        // (In whole milliseconds, at most a year: a model may list any number of deployments.)
        let attempts = candidates.reduce(Int64(0)) { total, candidate in
            min(total + candidate.timeout.nanoseconds / 1_000_000 * Int64(candidate.retries + 1), 365 * 86_400_000)
        }
        let pending = PendingAccess(longestWait: .milliseconds(attempts) + .seconds(5))
        let loop = eventLoop
        let handle = NIOLockedValueBox<Task<Void, Never>?>(nil)
        // On one of the client's loops: its answers resume the task where they arrive.
        let task = Task(executorPreference: LoopTaskExecutor.next()) {
            let result = await run(pending: pending, handle: handle)
            if let result { loop.execute { pending.complete(result) } }
        }
        handle.withLockedValue { $0 = task }
        return .wait(pending)
    }

    /// What one attempt came to.
    private enum Outcome {
        /// The client has its answer (nil: a stream that has begun delivers it).
        case answered(AccessResult?)
        case failed(AIError)
    }

    /// Tries the candidates in order. Returns the access decision, or nil when it was already
    /// given (a stream that has begun).
    private func run(pending: PendingAccess, handle: NIOLockedValueBox<Task<Void, Never>?>) async -> AccessResult? {
        var providerError: AIError?
        var translationError: AIError?
        var failures = 0
        for (position, candidate) in candidates.enumerated() {
            let upstreams: [ProviderRequest]
            do {
                upstreams = try providerRequests(for: candidate)
            } catch {
                translationError = translationError ?? error  // this provider cannot; another may
                failures += 1
                continue
            }
            for attempt in 0...candidate.retries {
                let started = NIODeadline.now()
                switch await send(upstreams, to: candidate, pending: pending, handle: handle) {
                case .answered(let result):
                    let milliseconds = Double((NIODeadline.now() - started).nanoseconds) / 1_000_000
                    router?.succeeded(candidate.index, milliseconds: milliseconds)
                    // The answering deployment is also in the answer's X-Konnect-AI-Provider and -Model.
                    // (The messages are made only when logged.)
                    let deployment = candidate.deployment
                    if failures > 0 {
                        Self.logger.info("\(operation.model): answered by \(deployment.provider)/\(deployment.model) after \(failures) failed attempt(s)")
                    } else {
                        Self.logger.debug("\(operation.model): answered by \(deployment.provider)/\(deployment.model)")
                    }
                    return result
                case .failed(let error):
                    guard error.allowsFallback else { return AIIntake.answer(error, format) }
                    providerError = error
                    failures += 1
                    if attempt == candidate.retries {
                        router?.failed(candidate.index, now: Self.now(), retryAfter: error.retryAfter)
                    }
                }
            }
            if position + 1 < candidates.count, let providerError {
                Self.logger.warning("\(operation.model): \(candidate.deployment.provider)/\(candidate.deployment.model) failed (\(providerError.status): \(providerError.message)); trying the next deployment")
            }
        }
        return AIIntake.answer(providerError ?? translationError
            ?? AIError(.unavailable, "No deployment of \(operation.model) could answer"), format)
    }

    /// The provider requests for `candidate`: one, or for embeddings of more texts than the
    /// deployment takes at once, one per batch of them.
    private func providerRequests(for candidate: Candidate) throws(AIError) -> [ProviderRequest] {
        let provider = candidate.provider, deployment = candidate.deployment
        var upstreams: [ProviderRequest]
        switch operation {
        case .chat(let request):
            upstreams = [try provider.chatRequest(request, deployment: deployment)]
        case .embeddings(let request):
            let batch = max(1, provider.embeddingsBatchLimit(for: deployment) ?? request.inputs.count)
            upstreams = []
            for start in stride(from: 0, to: request.inputs.count, by: batch) {
                var part = request
                part.inputs = Array(request.inputs[start..<min(start + batch, request.inputs.count)])
                upstreams.append(try provider.embeddingsRequest(part, deployment: deployment))
            }
        }
        if let url = candidate.upstreamURL {
            // Kong's upstream_url names the chat endpoint. An OpenAI-style one has embeddings as
            // its sibling; otherwise the provider's own embeddings URL stands (Bedrock derives
            // it from the option, and must sign the URL it sends to).
            let chat = "/chat/completions"
            for index in upstreams.indices {
                switch operation {
                case .chat: upstreams[index].url = url
                case .embeddings where url.hasSuffix(chat): upstreams[index].url = String(url.dropLast(chat.count)) + "/embeddings"
                case .embeddings: break
                }
            }
        }
        return upstreams
    }

    /// Sends `upstream` and waits for the head of a successful answer (of the streamed kind
    /// when the client asked for a stream).
    private func execute(_ upstream: ProviderRequest, to candidate: Candidate) async -> Result<HTTPClientResponse, AIError> {
        var outbound = HTTPClientRequest(url: upstream.url)
        outbound.method = HTTPMethod(rawValue: upstream.method)
        for (name, value) in upstream.headers { outbound.headers.add(name: name, value: value) }
        outbound.body = .bytes(upstream.body)
        let provider = candidate.provider
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(outbound, timeout: candidate.timeout)
        } catch {
            return .failure(Self.failure(error, timeout: candidate.timeout))
        }
        let status = Int(response.status.code)
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        guard (200..<300).contains(status), operation.stream == nil || contentType.contains(provider.streamContentType) else {
            let headers = response.headers.map { ($0.name, $0.value) }
            return .failure(await failure(response, provider: provider, status: status, headers: headers, contentType: contentType))
        }
        return .success(response)
    }

    /// One attempt at one deployment: its requests (several only for embeddings in batches),
    /// in turn.
    private func send(_ upstreams: [ProviderRequest], to candidate: Candidate, pending: PendingAccess,
                      handle: NIOLockedValueBox<Task<Void, Never>?>) async -> Outcome {
        let provider = candidate.provider
        do {
            var headers = answerHeaders("application/json", candidate)
            switch operation {
            case .chat(let request):
                let response = try await execute(upstreams[0], to: candidate).get()
                if request.stream {
                    await relay(response, for: request, from: candidate, pending: pending, handle: handle)
                    return .answered(nil)
                }
                let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
                var answer = try provider.chatResponse(body)
                if answer.model.isEmpty { answer.model = candidate.deployment.model }
                if answer.created == 0 { answer.created = Int(Self.now()) }
                let usage = answer.usage
                    ?? .estimated(promptCharacters: request.promptCharacters, answerCharacters: answer.answerCharacters)
                headers += account(usage, candidate)
                return .answered(.respondStored(status: 200, headers: headers, body: format.responseBody(answer).buffer))
            case .embeddings(let request):
                var answer = EmbeddingsResponse(model: "", vectors: [], usage: Usage(inputTokens: 0, outputTokens: 0))
                for upstream in upstreams {
                    let response = try await execute(upstream, to: candidate).get()
                    let part = try provider.embeddingsResponse(try await response.body.collect(upTo: Self.maximumAnswerBytes))
                    answer.model = part.model
                    answer.vectors += part.vectors
                    answer.usage.inputTokens += part.usage.inputTokens
                    answer.usage.estimated = answer.usage.estimated || part.usage.estimated
                }
                guard answer.vectors.count == request.inputs.count else {
                    return .failed(AIError(.server, "The provider answered \(answer.vectors.count) embeddings for \(request.inputs.count) inputs"))
                }
                if answer.model.isEmpty { answer.model = candidate.deployment.model }
                if answer.usage.inputTokens == 0 {
                    answer.usage = .estimated(promptCharacters: request.inputs.reduce(0) { $0 + $1.count }, answerCharacters: 0)
                }
                headers += account(answer.usage, candidate)
                return .answered(.respondStored(status: 200, headers: headers,
                                                body: OpenAIChat.embeddingsBody(answer, encoding: request.encoding).buffer))
            }
        } catch let error as AIError {
            return .failed(error)
        } catch {
            return .failed(Self.failure(error, timeout: candidate.timeout))
        }
    }

    /// A provider's failure (or an answer of the wrong kind).
    private func failure(_ response: HTTPClientResponse, provider: any AIProvider, status: Int,
                         headers: [(String, String)], contentType: String) async -> AIError {
        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
        guard (200..<300).contains(status) else { return provider.error(status: status, headers: headers, body: body) }
        // A 2xx that is not the stream asked for: an error object some servers send with 200,
        // or something that is not the provider at all.
        if let json = try? JSON.parse(body), json["error"] != nil {
            return provider.error(status: 502, headers: headers, body: body)
        }
        let shown = contentType.isEmpty ? "no content type" : contentType
        return AIError(.server, "The provider answered with \(shown) instead of an event stream")
    }

    /// Streams the provider's answer to the client, translated event by event.
    private func relay(_ response: HTTPClientResponse, for request: ChatRequest, from candidate: Candidate, pending: PendingAccess,
                       handle: NIOLockedValueBox<Task<Void, Never>?>) async {
        let stream = PluginResponseStream(eventLoop: eventLoop)
        let headers = answerHeaders("text/event-stream", candidate)
        let loop = eventLoop
        loop.execute {
            // The client went away: stop reading the provider's stream (which closes its request).
            stream.onCancel { handle.withLockedValue { $0 }?.cancel() }
            pending.complete(.respondStream(status: 200, headers: headers, body: stream))
        }
        var decoder = candidate.provider.streamDecoder()
        var encoder = format.streamEncoder(for: request, created: Int(Self.now()))
        var out = ByteBuffer()
        var usage: Usage?
        var answerCharacters = 0
        defer {
            // Counted however the stream ended (a client that left used what it got).
            _ = account(usage ?? .estimated(promptCharacters: request.promptCharacters, answerCharacters: answerCharacters),
                        candidate)
        }
        do {
            for try await part in response.body {
                if Task.isCancelled { return }
                for event in try decoder.decode(part) {
                    answerCharacters += event.answerCharacters
                    if case .usage(let latest) = event { usage = latest }
                    // Some providers' streams never name the model (Cohere, Bedrock): it is the deployment's.
                    if case .start(let id, let model, let usage) = event, model.isEmpty {
                        encoder.encode(.start(id: id, model: candidate.deployment.model, usage: usage), into: &out)
                    } else {
                        encoder.encode(event, into: &out)
                    }
                }
                if out.readableBytes > 0 {
                    // A client that reads slowly holds the provider's stream back, not Konnect's memory.
                    await stream.writable()
                    let piece = out
                    out.clear()
                    loop.execute { stream.write(piece) }
                }
            }
            for event in try decoder.finish() { encoder.encode(event, into: &out) }
            encoder.finish(into: &out)
        } catch {
            if Task.isCancelled { return }
            // The stream has begun: the failure becomes the client format's error event.
            let failure = error as? AIError ?? Self.failure(error, timeout: candidate.timeout)
            encoder.encode(.error(failure), into: &out)
        }
        let piece = out
        loop.execute {
            stream.write(piece)
            stream.finish()
        }
    }

    private func answerHeaders(_ contentType: String, _ candidate: Candidate) -> [AccessResult.Header] {
        var headers = [AccessResult.Header("Content-Type", contentType)]
        if contentType == "text/event-stream" { headers.append(.init("Cache-Control", "no-cache")) }
        headers.append(.init("X-Konnect-AI-Provider", candidate.deployment.provider))
        headers.append(.init("X-Konnect-AI-Model", candidate.deployment.model))
        return headers
    }

    /// Counts `usage` in the ledger; the headers that report it.
    private func account(_ usage: Usage, _ candidate: Candidate) -> [AccessResult.Header] {
        AIUsageLedger.shared.record(
            at: Self.now(), consumer: attribution.consumer, route: attribution.route, model: operation.model,
            provider: candidate.deployment.provider, deployment: candidate.deployment.model, usage: usage,
            cost: candidate.price?.cost(of: usage))
        return Self.usageHeaders(usage, price: candidate.price)
    }

    /// `X-Konnect-AI-Tokens: input=…, output=…, cached=…` and, when the price is known,
    /// `X-Konnect-AI-Cost` in US dollars.
    static func usageHeaders(_ usage: Usage, price: Price?) -> [AccessResult.Header] {
        var tokens = "input=\(usage.inputTokens), output=\(usage.outputTokens), cached=\(usage.cachedInputTokens)"
        if usage.estimated { tokens += ", estimated" }
        var headers = [AccessResult.Header("X-Konnect-AI-Tokens", tokens)]
        if let price { headers.append(.init("X-Konnect-AI-Cost", dollars(price.cost(of: usage)))) }
        return headers
    }

    /// A decimal with up to nine places, without trailing zeros (`0.0000069`).
    static func dollars(_ amount: Double) -> String {
        // Prices have no upper bound and providers report the tokens: an amount past what nine
        // places in an Int hold is written as Swift writes a Double.
        guard amount >= 0, amount < 9e9 else { return "\(amount)" }
        let nanos = Int((amount * 1e9).rounded())
        var fraction = String(nanos % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(nanos / 1_000_000_000)" + (fraction.isEmpty ? "" : "." + fraction)
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
    static func now() -> Double { RateWindow.now() }
}

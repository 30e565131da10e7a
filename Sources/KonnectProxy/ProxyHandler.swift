import KonnectConfig
import KonnectHTTP1
import KonnectIO
import KonnectPlugins
import KonnectRouter
import NIOCore
import NIOHTTP1

/// Serves one client connection: decodes each request with `HTTP1Decoder`, validates and
/// routes it, and streams it to an upstream connection from this event loop's pool and the
/// response back, with back-pressure both ways. Heads are rewritten by copying the header lines
/// that cross the proxy; bodies pass as slices of the bytes read. One request at a time: the
/// bytes of a pipelined request stay in the inbound buffer until the previous response is done.
final class ProxyHandler: TCPStreamDelegate {
    private let stream: TCPStream
    private let loop: LoopContext
    private let runtime: ProxyRuntime
    private let settings: ProxySettings
    private let allocator: ByteBufferAllocator
    /// Small pieces of the response (its head, small body parts, chunk framing) gathered into one
    /// buffer, so that a small response leaves in a single write.
    private var clientOut: ByteBuffer?
    private var clientNeedsFlush = false
    /// Request body parts were written upstream since the last flush.
    private var upstreamNeedsFlush = false
    private static let coalesceLimit = 4096
    /// A keep-alive connection with no request for this long lets its read buffer go. Not at
    /// the first tick that finds it idle: a busy connection is idle for a moment between every
    /// two requests, and would free and allocate a buffer each time.
    private static let quietAfter = TimeAmount.milliseconds(250)
    private let clientIP: String
    private let serverPort: Int
    private let serverPortText: String

    // Connection state.
    private var decoder: HTTP1Decoder
    private var inbound = ProxyHandler.empty
    /// When an idle connection (no request in progress) is closed: the header timeout after
    /// connect, the keep-alive timeout after a response. Checked by the loop's deadline tick.
    private var idleDeadline: NIODeadline?
    private var lastClientRead = NIODeadline.now()
    private var readsHeld = false
    private var closeAfterResponse = false
    private var closed = false
    /// Set once the connection is being closed: nothing more is read or answered.
    private var closing = false
    /// The request in progress was answered before its body was read: the rest is dropped.
    private var discardingBody = false
    private var processingInbound = false

    // The request in progress, reset by `finishExchange`.
    private var inRequest = false
    private var request: HTTP1Head?
    private var requestFraming = HTTP1Decoder.Framing.none
    private var requestID = RequestID.given("")
    private var receivedAt = NIODeadline.now()
    private var snapshot: ConfigSnapshot?
    /// The matched route and its service, shared with the snapshot (nothing is copied per request).
    private var routeTarget: RouteTarget?
    private var plan: UpstreamPlan?
    /// The upstream request head: its first `upstreamHeadPrefixLength` bytes are the same for
    /// every target; `Host` and the empty line follow, written per attempt.
    private var upstreamHead = ProxyHandler.empty
    private var upstreamHeadPrefixLength = 0
    private var preserveHost = false
    /// The Host a plugin set for the upstream request (request-transformer), over the rest.
    private var hostOverride: String?
    private var clientHost = ""
    private var hashKey: UInt64?
    /// A hash-on cookie Konnect generated for this request, returned with the response.
    private var setCookie: String?
    private var tried: [Int] = []
    private var target = -1
    private var attemptsLeft = 0
    private var upstream: UpstreamConnection?
    private var upstreamHeadSent = false
    private var pendingBody: [ByteBuffer] = []
    /// The whole body, kept until a response starts, when it arrived before anything was sent.
    private var replayBody: [ByteBuffer]?
    private var requestEnded = false
    private var requestTrailers: ByteBuffer?
    private var bodyBytes: Int64 = 0
    private var responseStarted = false
    private var responseIsHeadOnly = false
    /// The client asked for `100 Continue` and has not been sent it: it may never send the body,
    /// so answering without reading the body must close the connection.
    private var awaitingContinue = false
    private var responseChunked = false
    private var upstreamResponseKeepAlive = true
    private var clientKeepAlive = true
    private var sentUpstreamAt = NIODeadline.now()
    private var lastUpstreamProgress = NIODeadline.now()
    /// The client's address for this request: the peer's, or from a trusted proxy's `X-Forwarded-For`.
    private var requestClientIP = ""
    /// What plugins know and decided about the request, when any apply.
    private var pluginContext: PluginContext?
    /// The context of the connection's last exchange, kept to be reused by the next one.
    private var spareContext: PluginContext?
    /// What plugins that run without a context keep for the connection's next request, and the
    /// header lines they add to the current response.
    private var pluginMemory = ConnectionMemory()
    private var readOnlyResponseLines = ByteBuffer()
    /// The access decision the request waits for, and where it goes once it is made.
    private var waitingOn: PendingAccess?
    private var waitingRoute: RoutedRequest?
    private var waitStarted = NIODeadline.now()
    /// A plugin asked for the whole request body: it is being read, and the chain resumes at its end.
    private var readingBodyForPlugins = false
    /// The plugins that see the response body (empty for most responses).
    private var responseFilters: [any ProxyPlugin] = []
    /// The largest request body allowed (node setting and plugins together).
    private var bodyLimit = Int64.max
    /// The status the client was sent, for the log phase.
    private var responseStatus = 0
    /// The body a plugin is writing as the response (`AccessResult.respondStream`).
    private var pluginStream: PluginResponseStream?

    /// Takes charge of a freshly accepted client stream.
    init(stream: TCPStream, loop: LoopContext, runtime: ProxyRuntime, serverPort: Int) {
        self.stream = stream
        self.loop = loop
        self.runtime = runtime
        self.settings = runtime.settings
        self.allocator = stream.loop.allocator
        self.clientIP = stream.remoteIP
        self.serverPort = serverPort
        self.serverPortText = String(serverPort)
        self.decoder = HTTP1Decoder(kind: .request,
                                    maxHeadSize: settings.maxHeadersSize + settings.maxURILength,
                                    maxFieldCount: settings.maxHeaderCount)
        // A client may close its sending side after a request and still read the answer.
        stream.allowHalfClosure = true
        stream.delegate = self
        loop.connections[ObjectIdentifier(self)] = self
        if loop.draining { closeAfterResponse = true }
        idleDeadline = now + settings.clientHeaderTimeout
    }

    /// The time the current batch of events began (one clock read per loop wake-up).
    private var now: NIODeadline { loop.eventLoop.eventTime }

    // MARK: Connection lifecycle

    func streamClosed(error: Error?) {
        closed = true
        closing = true
        loop.connections[ObjectIdentifier(self)] = nil
        runtime.connectionClosed()
        guard inRequest else { return }
        abandonUpstream()
        pluginStream?.cancel()
        pluginStream = nil
        // The log phase runs for an exchange the client cut short too (499 when it had no
        // response yet, as nginx logs it): plugins give back what they took for the request.
        if pluginContext?.phases.contains(.log) == true {
            if responseStatus == 0 { responseStatus = 499 }
            var finished = pluginContext
            pluginContext = nil
            retire(&finished, logRecord())
        }
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its response.
    func drain() {
        closeAfterResponse = true
        if !inRequest { stream.close() }
    }

    /// End of the grace period: close whatever is still open.
    func forceClose() {
        stream.close()
    }

    private func holdClientReads(_ hold: Bool) {
        if readsHeld && !hold { lastClientRead = now }  // the body timeout counts from here again
        readsHeld = hold
        stream.holdReads(hold)
    }

    func streamWritabilityChanged(isWritable: Bool) {
        upstream?.holdReads(!isWritable)
        pluginStream?.setWritable(isWritable)
    }

    /// The client closed its sending side. A complete request still in hand is answered (then
    /// the connection closes); anything else has nothing left to answer.
    func streamInputClosed() {
        if inRequest && requestEnded && !discardingBody && !closing {
            closeAfterResponse = true
        } else {
            stream.close()
        }
    }

    // MARK: Client request

    func streamRead(_ buffer: ByteBuffer) {
        var buffer = buffer
        if closing { return }
        if inbound.readableBytes == 0 { inbound = buffer } else { inbound.writeBuffer(&buffer) }
        processInbound()
    }

    /// Decodes and acts on buffered request bytes until a request waits for its response.
    private func processInbound() {
        // A request answered at once (a 404, say) completes inside this loop; the loop then goes
        // on with the next pipelined request instead of recursing.
        guard !processingInbound else { return }
        processingInbound = true
        defer { processingInbound = false }
        while !closing {
            if inRequest && requestEnded && !discardingBody {
                // A pipelined request: its bytes wait here; stop reading if they pile up.
                if inbound.readableBytes > settings.maxHeadersSize { holdClientReads(true) }
                break
            }
            let event: HTTP1Decoder.Event?
            do {
                event = try decoder.next(&inbound)
            } catch {
                rejectUndecodable(error)
                return
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                startRequest(head)
            case .body(let buffer):
                requestBody(buffer)
            case .end(let trailers):
                requestEnd(trailers: trailers)
            }
        }
        if inbound.readableBytes == 0 { inbound = Self.empty }  // do not keep the last read's storage
    }

    private func rejectUndecodable(_ error: HTTP1Error) {
        if discardingBody || (inRequest && responseStarted) {
            stream.close()
            return
        }
        if !inRequest {
            beginRequest()
            requestID = loop.nextRequestID()
        }
        let problem = RequestValidator.problem(for: error)
        respondWithError(problem.status, message: problem.message, forceClose: true)
    }

    private func requestBody(_ buffer: ByteBuffer) {
        if discardingBody {
            idleDeadline = now + settings.clientBodyTimeout
            return
        }
        guard inRequest else { return }
        bodyBytes += Int64(buffer.readableBytes)
        lastClientRead = now
        if bodyBytes > bodyLimit {
            respondTooLarge()
            return
        }
        if upstreamHeadSent, let upstream {
            writeBody(buffer, to: upstream)
            upstreamNeedsFlush = true
            lastUpstreamProgress = lastClientRead
            if !upstream.isWritable { holdClientReads(true) }
        } else if !responseStarted {
            pendingBody.append(buffer)
            if readingBodyForPlugins, let cap = pluginContext?.requestBodyCap, bodyBytes > cap { passBodyOn() }
        }
    }

    private func requestEnd(trailers: ByteBuffer?) {
        if discardingBody {
            discardingBody = false
            inRequest = false
            afterRequestCompleted()
            return
        }
        guard inRequest else { return }
        requestEnded = true
        requestTrailers = trailers
        if readingBodyForPlugins {
            requestBodyArrived()
            return
        }
        if upstreamHeadSent, let upstream {
            writeBodyEnd(to: upstream)
            upstream.flush()
            upstreamNeedsFlush = false
            lastUpstreamProgress = now
        }
    }

    private func writeBody(_ buffer: ByteBuffer, to upstream: UpstreamConnection) {
        if requestFraming == .chunked {
            guard buffer.readableBytes > 0 else { return }
            var header = allocator.buffer(capacity: 12)
            HTTP1Writer.writeChunkHeader(size: buffer.readableBytes, to: &header)
            upstream.write(header)
            upstream.write(buffer)
            upstream.write(Self.crlf)
        } else {
            upstream.write(buffer)
        }
    }

    private func writeBodyEnd(to upstream: UpstreamConnection) {
        guard requestFraming == .chunked else { return }
        var last = allocator.buffer(capacity: 5 + (requestTrailers?.readableBytes ?? 0))
        HTTP1Writer.writeLastChunk(trailers: requestTrailers, to: &last)
        upstream.write(last)
    }

    private static let crlf = ByteBuffer(string: "\r\n")
    /// One shared empty buffer, so an idle connection holds no buffer storage of its own.
    private static let empty = ByteBuffer()

    func streamReadComplete() {
        if upstreamNeedsFlush {
            upstream?.flush()
            upstreamNeedsFlush = false
        }
    }

    /// Marks the start of a request: its clock starts and it takes the loop's current snapshot.
    private func beginRequest() {
        loop.requestCount &+= 1
        inRequest = true
        receivedAt = now
        lastClientRead = receivedAt
        idleDeadline = nil
        snapshot = loop.snapshot
        bodyLimit = settings.maxBodySize > 0 ? settings.maxBodySize : .max
    }

    private func startRequest(_ head: HTTP1Head) {
        beginRequest()
        request = head
        requestFraming = decoder.framing
        let facts = RequestValidator.facts(of: head, maxFieldSize: settings.maxHeaderSize)
        requestID = facts.requestID.map(RequestID.given) ?? loop.nextRequestID()
        clientKeepAlive = !closeAfterResponse
            && (head.minorVersion >= 1 ? !facts.connectionClose : facts.connectionKeepAlive)
        responseIsHeadOnly = head.method == "HEAD"
        awaitingContinue = facts.expectsContinue && head.minorVersion >= 1 && decoder.framing != .none
        if requestFraming == .none { requestEnded = true }
        if let problem = RequestValidator.problem(in: head, facts: facts, framing: requestFraming, settings: settings) {
            respondWithError(problem.status, message: problem.message, forceClose: true)
            return
        }
        guard let target = RequestTarget(head.target) else {
            respondWithError(400, message: "Bad request: the request target must be a path or an http(s) URL", forceClose: true)
            return
        }
        // An absolute-form target names the host itself; the Host header is then ignored.
        if let authority = target.authority, !HostHeader.isValid(authority) {
            respondWithError(400, message: "Bad request: invalid host in the request target", forceClose: true)
            return
        }
        guard let snapshot else { return }
        requestClientIP = settings.trustedIPs.isEmpty
            ? clientIP : ClientAddress.resolve(peer: clientIP, head: head, trusted: settings.trustedIPs)
        let (rawPath, query) = target.originForm.splitPathAndQuery()

        // Global plugins' rewrite phase, before the route is known.
        if !snapshot.plugins.rewrite.isEmpty {
            let context = makePluginContext(head, target: target.originForm)
            pluginContext = context
            context.plugins = snapshot.plugins.rewrite
            context.phases = PluginChain.phases(of: context.plugins)
            for plugin in snapshot.plugins.rewrite {
                switch plugin.rewrite(context) {
                case .proceed: continue
                case .wait, .readBody:
                    respondWithError(500, message: "An unexpected error occurred (\(plugin.name) cannot wait before routing)")
                case let result: answer(result)
                }
                return
            }
        }

        // Route.
        guard let path = PathNormalizer.normalize(rawPath) else {
            respondWithError(400, message: "Bad request", forceClose: true)
            return
        }
        let hostHeader = target.authority ?? facts.host ?? ""
        clientHost = hostHeader
        let (host, port) = HostHeader.split(hostHeader)
        guard let match = snapshot.router.match(
            method: head.method, scheme: "http", host: host, port: port ?? serverPort, path: path,
            headers: RoutedHeaders(head: head))
        else {
            respondWithError(404, message: "no Route matched with those values")
            return
        }
        if let redirect = match.redirectStatus {
            let location = redirect == 426 ? nil : "https://\(hostHeader)\(target.originForm)"
            respondWithError(redirect, message: redirect == 426 ? "Please use HTTPS protocol" : "Moved", location: location)
            return
        }
        // A route without a service may still be answered by its plugins (ai-gateway); only a
        // request that would go upstream needs one (`proceedUpstream`).
        let plan = snapshot.plan(forRoute: match.target.index)
        let chain = snapshot.plugins(forRoute: match.target.index)
        if plan == nil, chain.isEmpty {
            respondWithError(503, message: "no Service found with those values")
            return
        }
        let routed = RoutedRequest(facts: facts, match: match, plan: plan, retries: match.target.service?.retries ?? 0,
                                   query: query, rawPath: rawPath, path: path, host: host, originForm: target.originForm)
        // Plugins (authentication, access control …) decide before anything goes upstream.
        if pluginContext == nil, chain.readsOnly {
            // Plugins that only read the request run without a context.
            let result = chain.access(head, path: path, clientIP: requestClientIP, memory: &pluginMemory,
                                      responseLines: &readOnlyResponseLines)
            guard case .proceed = result else {
                decided(result, routed)
                return
            }
        } else if !chain.isEmpty {
            let context = pluginContext ?? makePluginContext(head, target: target.originForm)
            pluginContext = context
            context.path = path
            if !match.captures.isEmpty { context.uriCaptures = match.captures }
            let result = chain.access(context)
            guard case .proceed = result else {
                decided(result, routed)
                return
            }
        }
        proceedUpstream(head, routed)
    }

    private func makePluginContext(_ head: HTTP1Head, target: String) -> PluginContext {
        if let spare = spareContext {
            spareContext = nil
            spare.reuse(head: head, target: target, clientIP: requestClientIP)
            return spare
        }
        return PluginContext(head: head, target: target, clientIP: requestClientIP, eventLoop: loop.eventLoop)
    }

    /// The header lines plugins add to the response, if any.
    private var pluginResponseLines: ByteBuffer? {
        pluginContext?.responseLines ?? (readOnlyResponseLines.readableBytes > 0 ? readOnlyResponseLines : nil)
    }

    /// Acts on an access decision other than proceed: waits for it, or answers the client.
    private func decided(_ result: AccessResult, _ routed: RoutedRequest) {
        switch result {
        case .proceed:
            guard let request else { return }
            proceedUpstream(request, routed)
        case .wait(let pending):
            waitingOn = pending
            waitingRoute = routed
            waitStarted = now
            if requestFraming != .none { holdClientReads(true) }
            pending.whenComplete { [weak self] result in self?.pluginDecided(pending, result) }
        case .readBody:
            readBodyForPlugins(routed)
        case .respond, .respondRaw, .respondStored, .respondStream:
            answer(result)
        }
    }

    /// Gives the answer a plugin left for an upstream failure, if there is one and nothing has
    /// been sent yet.
    private func answeredWithFallback() -> Bool {
        guard !responseStarted, let context = pluginContext, let fallback = context.fallback else { return false }
        context.fallback = nil
        context.usedFallback = true
        abandonUpstream()
        answer(fallback)
        return true
    }

    /// Answers the client as a plugin asked.
    private func answer(_ result: AccessResult) {
        switch result {
        case .respond(let status, let message, let headers):
            respondWithError(status, message: message, headers: headers)
        case .respondRaw(let status, let contentType, let body, let headers):
            respond(status, contentType: contentType, body: body, headers: headers)
        case .respondStored(let status, let headers, let body):
            respond(status, contentType: "", body: body, headers: headers)
        case .respondStream(let status, let headers, let body):
            respondStreaming(status, headers: headers, body: body)
        case .proceed, .wait, .readBody:
            respondWithError(500, message: "An unexpected error occurred")
        }
    }

    /// A plugin the request waited for has decided (on this loop): the chain carries on.
    private func pluginDecided(_ pending: PendingAccess, _ result: AccessResult) {
        guard !closed, waitingOn === pending, let context = pluginContext, let chain = context.chain,
              let routed = waitingRoute else {
            return  // the request is gone (the client left, or it timed out)
        }
        waitingOn = nil
        waitingRoute = nil
        decided(chain.resume(context, with: result), routed)
    }

    /// Reads the rest of the request body for a plugin (reads are not held: the body is wanted
    /// now), then resumes the chain at that plugin.
    private func readBodyForPlugins(_ routed: RoutedRequest) {
        guard pluginContext?.requestBody == nil else {
            respondWithError(500, message: "An unexpected error occurred (a plugin asked for the request body twice)")
            return
        }
        // A plugin that caps what it reads lets a longer body through (`passBodyOn`): only the
        // node's and plugins' own limits apply to it then.
        let cap = pluginContext?.requestBodyCap
        bodyLimit = min(bodyLimit, pluginContext?.bodyLimit ?? .max, cap == nil ? PluginContext.bufferedBodyLimit : .max)
        if case .length(let length) = requestFraming, length > bodyLimit {
            respondTooLarge()
            return
        }
        waitingRoute = routed
        readingBodyForPlugins = true
        if let cap, case .length(let length) = requestFraming, length > cap {
            passBodyOn()
            return
        }
        if requestEnded {
            requestBodyArrived()
            return
        }
        if awaitingContinue {
            stream.writeAndFlush(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))
            awaitingContinue = false
        }
        holdClientReads(false)
    }

    /// The body a plugin asked for is complete: it goes in the context as one buffer.
    private func requestBodyArrived() {
        guard let context = pluginContext, let chain = context.chain, let routed = waitingRoute else { return }
        readingBodyForPlugins = false
        waitingRoute = nil
        var body = allocator.buffer(capacity: Int(bodyBytes))
        for var part in pendingBody { body.writeBuffer(&part) }
        pendingBody = body.readableBytes > 0 ? [body] : []
        context.requestBody = body
        decided(chain.resumeWithBody(context), routed)
    }

    /// The body is longer than the cap the plugin reading it set: it goes upstream as the client
    /// sends it (what has arrived waits in `pendingBody`), and the chain resumes at that plugin
    /// without it.
    private func passBodyOn() {
        guard let context = pluginContext, let chain = context.chain, let routed = waitingRoute else { return }
        readingBodyForPlugins = false
        waitingRoute = nil
        context.requestBodyCap = nil
        context.requestBodyPassedOn = true
        decided(chain.resumeWithBody(context), routed)
    }

    /// Sends the request upstream once plugins let it through.
    private func proceedUpstream(_ head: HTTP1Head, _ routed: RoutedRequest) {
        guard let plan = routed.plan else {
            respondWithError(503, message: "no Service found with those values")
            return
        }
        let match = routed.match
        routeTarget = match.target
        self.plan = plan
        preserveHost = match.route.preserveHost
        let plugins = pluginContext
        hostOverride = plugins?.upstreamHost
        attemptsLeft = routed.retries + 1
        if let limit = plugins?.bodyLimit { bodyLimit = min(bodyLimit, limit) }
        if bodyLimit < .max, case .length(let length) = requestFraming, length > bodyLimit {
            respondTooLarge()
            return
        }
        if let body = plugins?.replacedRequestBody {
            pendingBody = body.readableBytes > 0 ? [body] : []
            bodyBytes = Int64(body.readableBytes)
            requestFraming = .length(Int64(body.readableBytes))
            requestTrailers = nil
        }
        hashKey = HashKey.compute(plan: plan, head: head, target: routed.originForm, clientIP: requestClientIP,
                                  captures: match.captures, path: routed.path)
        if hashKey == nil, plan.algorithm == .consistentHashing, case .cookie(let name, let cookiePath) = plan.hashOn {
            // No cookie yet: make one, hash it, and hand it to the client so it sticks (as Kong does).
            let value = loop.nextRequestID().description
            hashKey = StableHash.hash(value)
            setCookie = "\(name)=\(value); Path=\(cookiePath)"
        }

        writeUpstreamHead(head, facts: routed.facts, match: match,
                          query: plugins?.editsQuery == true ? plugins?.rewrittenQuery() : routed.query,
                          originalPath: routed.rawPath, host: routed.host, plugins: plugins)
        if requestFraming != .none {
            holdClientReads(true)
            if awaitingContinue {
                stream.writeAndFlush(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))
                awaitingContinue = false
            }
        }
        connectToNextTarget()
    }

    /// The request as the upstream sees it: path rewritten, hop-by-hop headers gone, forwarding
    /// headers and the request id added, framing set anew. `Host` is added per target.
    private func writeUpstreamHead(_ head: HTTP1Head, facts: RequestFacts, match: RouteMatch, query: Substring?,
                                   originalPath: Substring, host: String, plugins: PluginContext?) {
        guard !closed else { return }
        let named = facts.connectionNames
        // With plugins, identity headers a client sent are always left out: they cannot be forged.
        let removed = plugins?.removedHeaders
        let identityLines = plugins?.identity?.headerLines
        let pluginLines = plugins?.upstreamLines
        let method = plugins?.upstreamMethod ?? head.method
        let upstreamPath = plugins?.upstreamPath ?? match.upstreamPath
        let estimate = head.bytes.readableBytes + upstreamPath.utf8.count + originalPath.utf8.count
            + host.utf8.count + 2 * clientIP.utf8.count + (match.strippedPrefix?.utf8.count ?? 0) + 320
            + (identityLines?.utf8.count ?? 0) + (pluginLines?.utf8.count ?? 0)
        var out = allocator.buffer(capacity: estimate + 64)  // room for Host, written per attempt
        out.writeHead(estimate: estimate) { out in
            out.write(method)
            out.write(" ")
            out.write(upstreamPath)
            if let query {
                out.write("?")
                out.write(query)
            }
            out.write(" HTTP/1.1\r\n")
            var forwardedFor: [HTTP1Field] = []
            head.writeFieldLines(to: &out) { field in
                if HeaderRules.isHopByHop(head, field) || HeaderRules.isSetByProxy(head, field)
                    || (named.map { HeaderRules.isNamed(head, field, by: $0) } ?? false) {
                    return false
                }
                if let removed, HeaderRules.isIdentity(head, field) || HeaderRules.isNamed(head, field, by: removed) {
                    return false
                }
                if field.nameLength == 15 && head.name(of: field, is: "x-forwarded-for") {
                    forwardedFor.append(field)
                    return false
                }
                return true
            }
            out.write("X-Forwarded-For: ")
            for field in forwardedFor {
                head.writeBytes(from: Int(field.valueStart), to: Int(field.valueEnd), to: &out)
                out.write(", ")
            }
            out.write(clientIP)
            out.write("\r\nX-Forwarded-Proto: http\r\n")
            out.writeField("X-Forwarded-Host", host)
            out.writeField("X-Forwarded-Port", serverPortText)
            out.writeField("X-Forwarded-Path", originalPath)
            if let prefix = match.strippedPrefix { out.writeField("X-Forwarded-Prefix", prefix) }
            out.writeField("X-Real-IP", requestClientIP)
            out.write(head.minorVersion == 0 ? "Via: 1.0 konnect\r\n" : "Via: 1.1 konnect\r\n")
            if let identityLines { out.write(identityLines) }
            if let pluginLines { out.write(pluginLines) }
            if case .generated = requestID { writeRequestIDField(to: &out) }
            switch requestFraming {
            case .chunked:
                out.write("Transfer-Encoding: chunked\r\n")
            case .length(let length):
                out.write("Content-Length: ")
                out.writeDecimal(Int(length))
                out.write("\r\n")
            case .none, .untilClose:
                break
            }
        }
        upstreamHead = out
        upstreamHeadPrefixLength = out.writerIndex
    }

    // MARK: Upstream selection and connection

    private func connectToNextTarget() {
        guard let plan, let connectTimeout = routeTarget?.service?.connectTimeout, attemptsLeft > 0 else {
            respondWithError(502, message: "An invalid response was received from the upstream server")
            return
        }
        attemptsLeft -= 1
        if tried.count >= plan.targets.count { tried.removeAll(keepingCapacity: true) }
        guard let index = plan.pick(loop: loop.index, hashKey: hashKey, excluded: tried) else {
            respondWithError(503, message: "failure to get a peer from the ring-balancer")
            return
        }
        releaseTarget()
        target = index
        tried.append(index)
        plan.loopStates[loop.index].active[index] += 1
        let address = plan.targets[index]
        if let connection = loop.pool.takeIdle(address.poolKey) {
            connection.wasReused = true
            attach(connection, hostHeader: address.hostHeader)
            return
        }
        let timeout = TimeAmount.milliseconds(Int64(connectTimeout))
        loop.pool.connect(address, timeout: timeout) { [self] result in
            guard inRequest, !closed, target == index else {
                if case .success(let connection) = result { loop.pool.release(connection) }
                return
            }
            switch result {
            case .success(let connection):
                attach(connection, hostHeader: address.hostHeader)
            case .failure(let error):
                if attemptsLeft > 0 {
                    connectToNextTarget()
                } else if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                    respondWithError(504, message: "The upstream server is timing out")
                } else {
                    respondWithError(502, message: "An invalid response was received from the upstream server")
                }
            }
        }
    }

    private func attach(_ connection: UpstreamConnection, hostHeader: String) {
        guard !closed else { return }
        upstream = connection
        connection.owner = self
        connection.requestCount += 1
        connection.expectResponse(toHEAD: responseIsHeadOnly)
        upstreamHeadSent = true
        sentUpstreamAt = now
        lastUpstreamProgress = sentUpstreamAt
        // Host depends on the target, so it ends the head; a retry rewrites it in place.
        upstreamHead.moveWriterIndex(to: upstreamHeadPrefixLength)
        let host = hostOverride ?? (preserveHost ? clientHost : hostHeader)
        upstreamHead.writeHead(estimate: host.utf8.count + 10) { out in
            out.writeField("Host", host)
            out.write("\r\n")
        }
        if requestFraming == .none {
            connection.writeAndFlush(upstreamHead)  // most requests: the head is all there is
        } else {
            connection.write(upstreamHead)
            if requestEnded && replayBody == nil && isIdempotent { replayBody = pendingBody }
            for part in (replayBody ?? pendingBody) { writeBody(part, to: connection) }
            pendingBody.removeAll()
            if requestEnded { writeBodyEnd(to: connection) }
            connection.flush()
        }
        connection.holdReads(!stream.isWritable)
        holdClientReads(!connection.isWritable)
    }

    private var isIdempotent: Bool {
        switch request?.method {
        case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE": return true
        default: return false
        }
    }

    /// Gives up the current upstream connection after a failure or an early client exit.
    private func abandonUpstream() {
        if let upstream {
            upstream.owner = nil
            upstream.close()
            self.upstream = nil
        }
        upstreamHeadSent = false
        releaseTarget()
    }

    private func releaseTarget() {
        if target >= 0, let plan {
            plan.loopStates[loop.index].active[target] -= 1
        }
        target = -1
    }

    // MARK: Upstream response

    func upstreamHead(_ head: HTTP1Head, framing: HTTP1Decoder.Framing) {
        guard !closed, let request else { return }
        if head.status >= 500, answeredWithFallback() { return }
        lastUpstreamProgress = now
        replayBody = nil
        responseStarted = true
        if let plan, target >= 0 {
            let micros = Double((lastUpstreamProgress - sentUpstreamAt).nanoseconds) / 1000
            plan.loopStates[loop.index].recordLatency(target, microseconds: micros)
        }
        responseStatus = head.status
        if let context = pluginContext, context.phases.contains(.responseHeaders) {
            context.responseHead = head
        }
        runResponseHeaderPhase(status: head.status)
        var clientFraming = framing
        if let context = pluginContext, context.phases.contains(.responseBody) {
            responseFilters = context.plugins.filter { $0.phases.contains(.responseBody) }
            // A body whose length plugins change cannot keep the upstream's Content-Length.
            if !responseFilters.isEmpty, context.rewritesResponseBody, case .length = framing { clientFraming = .chunked }
        }
        sendToClient(makeClientHead(head, framing: clientFraming, request: request))
    }

    /// Passes a part of the response body through the plugins that see it.
    private func filterResponseBody(_ part: ByteBuffer, last: Bool) -> ByteBuffer {
        guard let context = pluginContext else { return part }
        var part = part
        for plugin in responseFilters { part = plugin.responseBody(context, part, last: last) }
        return part
    }

    /// Lets plugins add response header fields (once per response), for the upstream's response
    /// or Konnect's own.
    private func runResponseHeaderPhase(status: Int) {
        guard let context = pluginContext, context.phases.contains(.responseHeaders) else { return }
        for plugin in context.plugins where plugin.phases.contains(.responseHeaders) {
            plugin.responseHeaders(context, status: status)
        }
    }

    /// Queues bytes for the client: small pieces join `clientOut`, large ones go out as they are.
    private func sendToClient(_ piece: ByteBuffer) {
        clientNeedsFlush = true
        if piece.readableBytes <= Self.coalesceLimit {
            if clientOut == nil {
                clientOut = piece
            } else {
                var piece = piece
                clientOut!.writeBuffer(&piece)
            }
            return
        }
        pushClientOut()
        stream.write(piece)
    }

    private func pushClientOut() {
        if let out = clientOut {
            clientOut = nil
            stream.write(out)
        }
    }

    private func flushClient() {
        guard clientNeedsFlush else { return }
        clientNeedsFlush = false
        if let out = clientOut {
            clientOut = nil
            stream.writeAndFlush(out)
        } else {
            stream.flush()
        }
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        guard responseStarted, !responseIsHeadOnly else { return }
        lastUpstreamProgress = now
        sendBodyPart(responseFilters.isEmpty ? buffer : filterResponseBody(buffer, last: false))
        if !stream.isWritable { upstream?.holdReads(true) }
    }

    /// Sends a part of the response body, framed as the client's response is.
    private func sendBodyPart(_ buffer: ByteBuffer) {
        if responseChunked {
            guard buffer.readableBytes > 0 else { return }
            var header = allocator.buffer(capacity: 12)
            HTTP1Writer.writeChunkHeader(size: buffer.readableBytes, to: &header)
            sendToClient(header)
            sendToClient(buffer)
            sendToClient(Self.crlf)
        } else {
            sendToClient(buffer)
        }
    }

    func upstreamEnd(trailers: ByteBuffer?) {
        guard !closed, responseStarted else { return }
        if !responseFilters.isEmpty, !responseIsHeadOnly {
            sendBodyPart(filterResponseBody(allocator.buffer(capacity: 0), last: true))
        }
        var end: ByteBuffer?
        if responseChunked {
            var last = allocator.buffer(capacity: 5 + (trailers?.readableBytes ?? 0))
            HTTP1Writer.writeLastChunk(trailers: trailers, to: &last)
            end = last
        }
        finishExchange(end: end, reuseUpstream: upstreamResponseKeepAlive && requestEnded)
    }

    func upstreamReadComplete() {
        flushClient()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if upstreamHeadSent { holdClientReads(!isWritable) }
    }

    func upstreamClosed(error: Error?) {
        let connection = upstream
        upstream = nil
        upstreamHeadSent = false
        guard inRequest else { return }
        if responseStarted {
            // Part of the response is already with the client: the only honest signal left is to close.
            stream.close()
            return
        }
        let canReplay = replayBody != nil || (requestEnded && bodyBytes == 0)
        if canReplay && isIdempotent {
            if connection?.wasReused == true { attemptsLeft += 1 }  // a stale keep-alive connection is no real attempt
            if attemptsLeft > 0 {
                connectToNextTarget()
                return
            }
        }
        respondWithError(502, message: "An invalid response was received from the upstream server")
    }

    /// The response head as the client sees it: hop-by-hop headers replaced by Konnect's own
    /// framing, the request id and latency headers added.
    private func makeClientHead(_ head: HTTP1Head, framing: HTTP1Decoder.Framing, request: HTTP1Head) -> ByteBuffer {
        let connection = HeaderRules.connectionOptions(head)
        upstreamResponseKeepAlive = framing != .untilClose
            && (head.minorVersion >= 1 ? !connection.close : connection.keepAlive)
        var smallBody = 0
        if case .length(let length) = framing, length <= Self.coalesceLimit { smallBody = Int(length) }
        var out = allocator.buffer(capacity: head.bytes.readableBytes + 512 + smallBody)
        // Status code and reason phrase as the upstream sent them.
        let statusLineEnd = head.fields.first.map { Int($0.nameStart) - 2 } ?? (head.bytes.readableBytes - 4)
        var upstreamLength: HTTP1Field?
        var upstreamSentRequestID = false
        var codings: [Substring] = []
        responseChunked = false
        if framing == .chunked || framing == .untilClose, request.minorVersion >= 1 {
            responseChunked = !responseIsHeadOnly
            // Codings other than chunked (gzip, say) describe the body and are kept; the
            // common plain `chunked` is recognised without building any strings.
            let plainChunked = head.fields.allSatisfy {
                !head.name(of: $0, is: "transfer-encoding") || head.value(of: $0, is: "chunked")
            }
            if !plainChunked {
                codings = head.values(named: "transfer-encoding")
                    .flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingASCIISpaces() }
                    .filter { !$0.isEmpty && !$0.caseInsensitiveEquals("chunked") }
            }
        } else if framing == .chunked || framing == .untilClose {
            clientKeepAlive = false  // HTTP/1.0 without a length: the close marks the end
        }
        let plugins = pluginContext
        let pluginLines = pluginResponseLines
        let removed = plugins?.removedResponseHeaders ?? []
        out.writeHead(estimate: head.bytes.readableBytes + 400 + (setCookie?.utf8.count ?? 0) + (pluginLines?.readableBytes ?? 0)) { out in
            out.write(request.minorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            head.writeBytes(from: 9, to: statusLineEnd, to: &out)
            out.write("\r\n")
            head.writeFieldLines(to: &out) { field in
                if HeaderRules.isHopByHop(head, field) {
                    if field.nameLength == 14 && head.name(of: field, is: "content-length") { upstreamLength = field }
                    return false
                }
                if HeaderRules.isNamed(head, field, by: connection.named) { return false }
                if !removed.isEmpty, removed.contains(where: { field.nameLength == $0.utf8.count && head.name(of: field, equalsLowercased: $0) }) {
                    return false
                }
                if field.nameLength == 12 && head.name(of: field, is: "x-request-id") { upstreamSentRequestID = true }
                return true
            }
            switch framing {
            case .length(let length):
                out.write("Content-Length: ")
                out.writeDecimal(Int(length))
                out.write("\r\n")
            case .none:
                // HEAD and 304 may state the length the full response would have.
                if let upstreamLength, head.status != 204 {
                    head.writeFieldLine(upstreamLength, to: &out)
                    out.write("\r\n")
                } else if head.status != 204 && head.status != 304 && !responseIsHeadOnly {
                    out.write("Content-Length: 0\r\n")
                }
            case .chunked, .untilClose:
                if request.minorVersion >= 1 {
                    if codings.isEmpty {
                        out.write("Transfer-Encoding: chunked\r\n")
                    } else {
                        out.writeField("Transfer-Encoding", codings.joined(separator: ", ") + ", chunked")
                    }
                }
            }
            if !upstreamSentRequestID { writeRequestIDField(to: &out) }
            if let setCookie { out.writeField("Set-Cookie", setCookie) }
            if let pluginLines { out.write(pluginLines) }
            out.write(head.minorVersion == 0 ? "Via: 1.0 konnect\r\n" : "Via: 1.1 konnect\r\n")
            out.write("X-Konnect-Upstream-Latency: ")
            out.writeDecimal(Int((now - sentUpstreamAt).nanoseconds / 1_000_000))
            out.write("\r\nX-Konnect-Proxy-Latency: ")
            out.writeDecimal(Int((sentUpstreamAt - receivedAt).nanoseconds / 1_000_000))
            out.write("\r\n")
            writeConnectionHeader(to: &out, minorVersion: request.minorVersion)
            out.write("\r\n")
        }
        return out
    }

    private func writeRequestIDField(to out: inout HTTP1HeadWriter) {
        out.write("X-Request-Id: ")
        requestID.write(to: &out)
        out.write("\r\n")
    }

    private func writeConnectionHeader(to out: inout HTTP1HeadWriter, minorVersion: Int) {
        if awaitingContinue && !requestEnded { clientKeepAlive = false }
        if !clientKeepAlive || closeAfterResponse {
            clientKeepAlive = false
            out.write("Connection: close\r\n")
        } else if minorVersion == 0 {
            out.write("Connection: keep-alive\r\n")
        }
    }

    // MARK: Finishing

    /// Ends the client response, returns or closes the upstream connection and readies the
    /// connection for the next request (or closes it).
    private func finishExchange(end: ByteBuffer?, reuseUpstream: Bool) {
        guard !closed else { return }
        if let upstream {
            upstream.owner = nil
            self.upstream = nil
            if reuseUpstream { loop.pool.release(upstream) } else { upstream.close() }
        }
        releaseTarget()
        let keepAlive = clientKeepAlive && !closeAfterResponse
        let bodyUnread = !requestEnded
        var finished = pluginContext
        let record = finished?.phases.contains(.log) == true ? logRecord() : nil
        resetRequest()
        holdClientReads(false)
        if let end { sendToClient(end) }
        // The log phase runs before the response's last bytes are flushed: whatever the exchange
        // held or counted (an in-flight slot, tokens against a budget) is settled by the time the
        // client can send its next request, on this connection or another.
        retire(&finished, record)
        if keepAlive {
            flushClient()
            if bodyUnread {
                // The response is complete but the request body is not: read and drop the rest,
                // as nginx does, then carry on with the next request.
                discardingBody = true
                inRequest = true
                requestEnded = false
                idleDeadline = now + settings.clientBodyTimeout
            } else {
                afterRequestCompleted()
            }
            return
        }
        closing = true
        pushClientOut()
        clientNeedsFlush = false
        if bodyUnread {
            // Closing with unread bytes would reset the connection and could destroy the
            // response in flight; stop sending instead and keep draining for a moment.
            idleDeadline = now + .seconds(5)
            stream.closeAfterFlush(.output)
        } else {
            stream.closeAfterFlush(.all)
        }
    }

    private func logRecord() -> LogRecord {
        let proxied = upstreamHeadSent || responseStatus != 0 && target >= 0
        return LogRecord(
            status: responseStatus, totalMicroseconds: (now - receivedAt).nanoseconds / 1000,
            upstreamMicroseconds: proxied ? (now - sentUpstreamAt).nanoseconds / 1000 : nil,
            requestBodyBytes: bodyBytes, routeID: routeTarget?.route.id, serviceID: routeTarget?.service?.id)
    }

    /// The log phase, once the whole response is queued for the client; then the context is kept
    /// for the connection's next request, unless something still holds it.
    private func retire(_ finished: inout PluginContext?, _ record: LogRecord?) {
        if let record, let context = finished {
            for plugin in context.plugins where plugin.phases.contains(.log) {
                plugin.log(context, record)
            }
        }
        if isKnownUniquelyReferenced(&finished), let context = finished {
            context.recycle()
            spareContext = context
        }
        finished = nil
    }

    /// The exchange and its request are both complete: wait for, or start, the next request.
    private func afterRequestCompleted() {
        idleDeadline = now + settings.keepaliveTimeout
        if inbound.readableBytes > 0 { processInbound() }
    }

    private func resetRequest() {
        inRequest = false
        request = nil
        upstreamHead = Self.empty
        snapshot = nil
        routeTarget = nil
        plan = nil
        hashKey = nil
        setCookie = nil
        tried.removeAll(keepingCapacity: true)
        attemptsLeft = 0
        upstreamHeadSent = false
        pendingBody.removeAll()
        replayBody = nil
        requestEnded = false
        requestTrailers = nil
        bodyBytes = 0
        responseStarted = false
        responseChunked = false
        responseIsHeadOnly = false
        upstreamResponseKeepAlive = true
        awaitingContinue = false
        pluginContext = nil
        if readOnlyResponseLines.readableBytes > 0 { readOnlyResponseLines.clear() }
        waitingOn = nil
        waitingRoute = nil
        readingBodyForPlugins = false
        responseFilters = []
        responseStatus = 0
        pluginStream = nil
    }

    /// A request body over the limit: the answer of the plugin that set the limit, or Konnect's
    /// own 413. The connection closes, since the rest of the body is not read.
    private func respondTooLarge() {
        if case .respondStored(let status, let headers, let body)? = pluginContext?.tooLargeAnswer?() {
            respond(status, contentType: "", body: body, forceClose: true, headers: headers)
        } else {
            respondWithError(413, message: "Request size limit exceeded", forceClose: true)
        }
    }

    /// Answers the current request with Konnect's own JSON error, if no response has started.
    private func respondWithError(_ status: Int, message: String, forceClose: Bool = false, location: String? = nil,
                                  headers: [AccessResult.Header] = []) {
        if (502...504).contains(status), answeredWithFallback() { return }
        respond(status, contentType: "application/json; charset=utf-8",
                body: ErrorBody.json(message: message, requestID: requestID.description),
                forceClose: forceClose, location: location, headers: headers)
    }

    /// Answers the current request from Konnect itself, if no response has started. An empty
    /// content type sends no `Content-Type` (a body-less answer).
    private func respond(_ status: Int, contentType: String, body: String, forceClose: Bool = false,
                         location: String? = nil, headers: [AccessResult.Header] = []) {
        respond(status, contentType: contentType, body: ByteBuffer(string: body), forceClose: forceClose,
                location: location, headers: headers)
    }

    private func respond(_ status: Int, contentType: String, body: ByteBuffer, forceClose: Bool = false,
                         location: String? = nil, headers: [AccessResult.Header] = []) {
        guard beginOwnResponse(status) else { return }
        if forceClose { clientKeepAlive = false }
        runResponseHeaderPhase(status: status)
        var body = body
        if let context = pluginContext, context.phases.contains(.responseBody), !responseIsHeadOnly {
            responseFilters = context.plugins.filter { $0.phases.contains(.responseBody) }
            if !responseFilters.isEmpty { body = filterResponseBody(body, last: true) }
        }
        var out = ownHead(status, headers: headers, extra: 64 + body.readableBytes + (location?.utf8.count ?? 0)) { out in
            if let location { out.writeField("Location", location) }
            if !contentType.isEmpty { out.writeField("Content-Type", contentType) }
            out.write("Content-Length: ")
            out.writeDecimal(body.readableBytes)
            out.write("\r\n")
        }
        if !responseIsHeadOnly { out.writeImmutableBuffer(body) }
        sendToClient(out)
        inRequest = true
        finishExchange(end: nil, reuseUpstream: false)
    }

    /// Starts an answer of Konnect's own (or a plugin's) instead of the upstream's: false, with
    /// the connection closed, when the client is gone or a response has already begun (closing
    /// is the only honest signal left then).
    private func beginOwnResponse(_ status: Int) -> Bool {
        guard !closed, !responseStarted else {
            stream.close()
            return false
        }
        abandonUpstream()
        responseStarted = true
        responseStatus = status
        waitingOn = nil
        return true
    }

    /// The head of an answer of Konnect's own (or a plugin's): the status line, `headers`, the
    /// plugins' response lines, the fields `framing` writes, the request id and `Connection`.
    /// `extra`: room wanted beyond the head's own fields.
    private func ownHead(_ status: Int, headers: [AccessResult.Header], extra: Int,
                         framing: (inout HTTP1HeadWriter) -> Void) -> ByteBuffer {
        let pluginLines = pluginResponseLines ?? ByteBuffer()
        let minorVersion = request?.minorVersion ?? 1
        let estimate = 192 + extra + pluginLines.readableBytes
            + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        var out = allocator.buffer(capacity: estimate)
        out.writeHead(estimate: estimate) { out in
            out.write(minorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            out.writeDecimal(status)
            out.write(" ")
            out.write(HTTPResponseStatus(statusCode: status).reasonPhrase)
            out.write("\r\n")
            for field in headers { out.writeField(field.name, field.value) }
            out.write(pluginLines)
            framing(&out)
            writeRequestIDField(to: &out)
            writeConnectionHeader(to: &out, minorVersion: minorVersion)
            out.write("\r\n")
        }
        return out
    }

    /// Answers with a body a plugin writes over time: the head now (chunked, or delimited by
    /// closing for HTTP/1.0), each part as the plugin writes it.
    private func respondStreaming(_ status: Int, headers: [AccessResult.Header], body: PluginResponseStream) {
        guard beginOwnResponse(status) else {
            body.cancel()
            return
        }
        runResponseHeaderPhase(status: status)
        let minorVersion = request?.minorVersion ?? 1
        if minorVersion == 0 { clientKeepAlive = false }
        responseChunked = minorVersion >= 1
        let out = ownHead(status, headers: headers, extra: 32) { out in
            if minorVersion >= 1 { out.write("Transfer-Encoding: chunked\r\n") }
        }
        sendToClient(out)
        flushClient()
        if responseIsHeadOnly {
            body.cancel()
            finishExchange(end: nil, reuseUpstream: false)
            return
        }
        pluginStream = body
        body.attach(self)
    }

    // MARK: Deadlines

    /// Enforces this connection's timeouts; called by the loop's deadline tick, so no request
    /// schedules or cancels a timer of its own.
    func checkDeadlines(now: NIODeadline) {
        guard !closed else { return }
        guard inRequest, !discardingBody else {
            if let idleDeadline, now >= idleDeadline {
                stream.close()
            } else if !inRequest && inbound.readableBytes == 0 && now - lastClientRead >= Self.quietAfter {
                stream.releaseReadBuffer()  // gone quiet between requests: keep no read memory
            }
            return
        }
        if let waitingOn {
            // Plugins that wait enforce their own timeouts; this only stops a request waiting forever.
            if now - waitStarted >= waitingOn.longestWait {
                respondWithError(500, message: "An unexpected error occurred (a plugin did not decide in time)")
            }
            return
        }
        if !requestEnded, !readsHeld, now - lastClientRead >= settings.clientBodyTimeout {
            if responseStarted { stream.close() } else {
                respondWithError(408, message: "Request timeout", forceClose: true)
            }
            return
        }
        guard upstreamHeadSent, let target = routeTarget, let service = target.service else { return }
        let limit = TimeAmount.milliseconds(Int64(requestEnded ? service.readTimeout : service.writeTimeout))
        guard now - lastUpstreamProgress >= limit else { return }
        if responseStarted {
            abandonUpstream()
            stream.close()
        } else {
            respondWithError(504, message: "The upstream server is timing out")
        }
    }
}

/// Konnect's JSON error bodies: `{"message": ..., "request_id": ...}`.
enum ErrorBody {
    static func json(message: String, requestID: String) -> String {
        JSONValue.object(["message": .string(message), "request_id": .string(requestID)]).jsonText
    }
}

/// A routed request on its way upstream: what `startRequest` worked out, kept while plugins
/// decide (they may make the request wait).
struct RoutedRequest {
    var facts: RequestFacts
    var match: RouteMatch
    /// Nil for a route without a service: only its plugins can answer.
    var plan: UpstreamPlan?
    var retries: Int
    var query: Substring?
    var rawPath: Substring
    var path: String
    var host: String
    var originForm: String
}

extension ProxyHandler: PluginResponseStreamConsumer {
    func streamPart(_ part: ByteBuffer) {
        guard !closed, pluginStream != nil else { return }
        sendBodyPart(part)
        flushClient()
    }

    func streamEnded(failed: Bool) {
        guard !closed, pluginStream != nil else { return }
        pluginStream = nil
        if failed {
            stream.close()
            return
        }
        var end: ByteBuffer?
        if responseChunked {
            var last = allocator.buffer(capacity: 5)
            HTTP1Writer.writeLastChunk(trailers: nil, to: &last)
            end = last
        }
        finishExchange(end: end, reuseUpstream: false)
    }
}

import KonnectConfig
import KonnectRouter
import NIOCore
import NIOHTTP1

/// Serves one client connection: validates each request, routes it, and streams it to an
/// upstream connection from this event loop's pool and the response back, with back-pressure
/// both ways. One request at a time: pipelined requests wait in a queue until the previous
/// response is complete.
final class ProxyHandler: ChannelDuplexHandler, UpstreamConnectionOwner {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let loop: LoopContext
    private let runtime: ProxyRuntime
    private let settings: ProxySettings
    private var context: ChannelHandlerContext?
    private var clientIP = ""
    private var serverPort = 0
    private var serverPortText = ""

    // Connection state.
    /// When an idle connection (no request in progress) is closed: the header timeout after
    /// connect, the keep-alive timeout after a response. Checked by the loop's deadline tick.
    private var idleDeadline: NIODeadline?
    private var clientDeadlineIsIdle = true
    private var lastClientRead = NIODeadline.now()
    private var readsHeld = false
    private var readPending = false
    private var closeAfterResponse = false
    private var closed = false
    /// Set once the connection is being closed: nothing more is read or answered.
    private var closing = false
    /// Parts of pipelined requests that arrived before the current response was complete.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()

    // The request in progress, reset by `finishExchange`.
    private var inRequest = false
    private var request = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private var requestID = ""
    private var clientSentRequestID = false
    private var hostHeaderAdded = false
    private var receivedAt = NIODeadline.now()
    private var snapshot: ConfigSnapshot?
    private var service: Service?
    private var plan: UpstreamPlan?
    private var upstreamRequest = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private var preserveHost = false
    private var clientHost: Substring = ""
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
    private var requestTrailers: HTTPHeaders?
    private var bodyBytes: Int64 = 0
    private var responseStarted = false
    private var responseIsHeadOnly = false
    private var clientKeepAlive = true
    private var sentUpstreamAt = NIODeadline.now()
    private var lastUpstreamProgress = NIODeadline.now()

    init(loop: LoopContext, runtime: ProxyRuntime) {
        self.loop = loop
        self.runtime = runtime
        self.settings = runtime.settings
    }

    // MARK: Connection lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        clientIP = context.channel.remoteAddress?.ipAddress ?? ""
        serverPort = context.channel.localAddress?.port ?? settings.port
        serverPortText = String(serverPort)
        loop.connections[ObjectIdentifier(self)] = self
        if loop.draining { closeAfterResponse = true }
        idleDeadline = .now() + settings.clientHeaderTimeout
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        loop.connections[ObjectIdentifier(self)] = nil
        runtime.connectionClosed()
        if inRequest { abandonUpstream() }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its response.
    func drain() {
        closeAfterResponse = true
        if !inRequest { context?.close(promise: nil) }
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld { readPending = true } else { context.read() }
    }

    private func holdClientReads(_ hold: Bool) {
        if readsHeld && !hold { lastClientRead = .now() }  // the body timeout counts from here again
        readsHeld = hold
        if !hold, readPending, let context {
            readPending = false
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        upstream?.holdReads(!context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if closing { return }
        if inRequest && (requestEnded || !pipelined.isEmpty) && error is HTTPParserError {
            // A malformed request behind one still being answered: finish that one, then close.
            closeAfterResponse = true
            holdClientReads(true)
            return
        }
        if let parserError = error as? HTTPParserError, !responseStarted {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            respondWithError(status, message: status == .badRequest ? "Bad request" : "Request header fields too large",
                             forceClose: true)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Client request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closing { return }
        // A request that arrives while the previous one is still being answered (pipelining)
        // waits here; reading goes on, so the socket's read interest never has to be toggled.
        if !pipelined.isEmpty || (inRequest && requestEnded) {
            pipelined.append(part)
            if pipelined.count > 64 { holdClientReads(true) }
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            startRequest(head, context: context)
        case .body(let buffer):
            guard inRequest else { return }  // the rest of a body whose response is already complete
            bodyBytes += Int64(buffer.readableBytes)
            lastClientRead = .now()
            if settings.maxBodySize > 0, bodyBytes > settings.maxBodySize {
                respondWithError(.payloadTooLarge, message: "Request size limit exceeded", forceClose: true)
                return
            }
            if upstreamHeadSent, let upstream {
                upstream.write(.body(.byteBuffer(buffer)))
                lastUpstreamProgress = lastClientRead
                if !upstream.isWritable { holdClientReads(true) }
            } else if !responseStarted {
                pendingBody.append(buffer)
            }
        case .end(let trailers):
            guard inRequest else { return }
            requestEnded = true
            requestTrailers = trailers
            if upstreamHeadSent, let upstream {
                upstream.write(.end(trailers))
                upstream.flush()
                lastUpstreamProgress = .now()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamHeadSent { upstream?.flush() }
        context.fireChannelReadComplete()
    }

    private func startRequest(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard !inRequest else { return }
        inRequest = true
        request = head
        receivedAt = .now()
        lastClientRead = receivedAt
        let facts = RequestValidator.facts(of: head, maxFieldSize: settings.maxHeaderSize)
        if let given = facts.requestID {
            requestID = given
            clientSentRequestID = true
        } else {
            requestID = loop.nextRequestID()
            clientSentRequestID = false
        }
        clientKeepAlive = head.isKeepAlive && !closeAfterResponse
        responseIsHeadOnly = head.method == .HEAD
        let snapshot = loop.snapshot
        self.snapshot = snapshot
        if let problem = RequestValidator.problem(in: head, facts: facts, settings: settings) {
            respondWithError(problem.status, message: problem.message, forceClose: true)
            return
        }
        let hasBody = facts.hasBody
        idleDeadline = nil
        if !hasBody { requestEnded = true }

        // Route.
        let (rawPath, query) = head.uri.splitPathAndQuery()
        guard let path = PathNormalizer.normalize(rawPath) else {
            respondWithError(.badRequest, message: "Bad request", forceClose: true)
            return
        }
        let hostHeader = facts.host ?? ""
        clientHost = hostHeader
        let (host, port) = HostHeader.split(hostHeader)
        guard let match = snapshot.router.match(
            method: head.method.rawValue, scheme: "http", host: host, port: port ?? serverPort, path: path,
            headers: RoutedHeaders(headers: head.headers))
        else {
            respondWithError(.notFound, message: "no Route matched with those values")
            return
        }
        if let redirect = match.redirectStatus {
            let status = HTTPResponseStatus(statusCode: redirect)
            var extra = HTTPHeaders()
            if redirect != 426 { extra.add(name: "location", value: "https://\(hostHeader)\(head.uri)") }
            respondWithError(status, message: redirect == 426 ? "Please use HTTPS protocol" : "Moved", extraHeaders: extra)
            return
        }
        guard let service = match.service, let plan = snapshot.plan(for: service) else {
            respondWithError(.serviceUnavailable, message: "no Service found with those values")
            return
        }
        self.service = service
        self.plan = plan
        preserveHost = match.route.preserveHost
        attemptsLeft = service.retries + 1
        hashKey = HashKey.compute(plan: plan, head: head, clientIP: clientIP, captures: match.captures, path: path)
        if hashKey == nil, plan.algorithm == .consistentHashing, case .cookie(let name, let cookiePath) = plan.hashOn {
            // No cookie yet: make one, hash it, and hand it to the client so it sticks (as Kong does).
            let value = loop.nextRequestID()
            hashKey = StableHash.hash(value)
            setCookie = "\(name)=\(value); Path=\(cookiePath)"
        }

        upstreamRequest = makeUpstreamHead(head, facts: facts, match: match, query: query, originalPath: rawPath, host: host)
        if hasBody {
            holdClientReads(true)
            if facts.expectsContinue {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
        }
        connectToNextTarget()
    }

    /// The request as the upstream sees it: path rewritten, hop-by-hop headers gone, forwarding
    /// headers and the request id added, framing set anew. `Host` is filled in per target.
    private func makeUpstreamHead(_ head: HTTPRequestHead, facts: RequestFacts, match: RouteMatch, query: Substring?,
                                  originalPath: Substring, host: String) -> HTTPRequestHead {
        var (headers, priorForwardedFor) = HeaderRules.upstreamRequestHeaders(head.headers, extraCapacity: 11)
        headers.add(name: "X-Forwarded-For", value: priorForwardedFor.map { $0 + ", " + clientIP } ?? clientIP)
        headers.add(name: "X-Forwarded-Proto", value: "http")
        headers.add(name: "X-Forwarded-Host", value: host)
        headers.add(name: "X-Forwarded-Port", value: serverPortText)
        headers.add(name: "X-Forwarded-Path", value: String(originalPath))
        if let prefix = match.strippedPrefix { headers.add(name: "X-Forwarded-Prefix", value: String(prefix)) }
        headers.add(name: "X-Real-IP", value: clientIP)
        headers.add(name: "Via", value: head.version.minor == 0 ? "1.0 konnect" : "1.1 konnect")
        if !clientSentRequestID { headers.add(name: "X-Request-Id", value: requestID) }
        if facts.transferEncoding != nil {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else if let length = facts.contentLength {
            headers.add(name: "Content-Length", value: length)
        }
        let uri = query.map { match.upstreamPath + "?" + $0 } ?? match.upstreamPath
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }

    // MARK: Upstream selection and connection

    private func connectToNextTarget() {
        guard let plan, let service, attemptsLeft > 0 else {
            respondWithError(.badGateway, message: "An invalid response was received from the upstream server")
            return
        }
        attemptsLeft -= 1
        if tried.count >= plan.targets.count { tried.removeAll(keepingCapacity: true) }
        guard let index = plan.pick(loop: loop.index, hashKey: hashKey, excluded: tried) else {
            respondWithError(.serviceUnavailable, message: "failure to get a peer from the ring-balancer")
            return
        }
        releaseTarget()
        target = index
        tried.append(index)
        plan.loopStates[loop.index].active[index] += 1
        let address = plan.targets[index]
        if hostHeaderAdded { upstreamRequest.headers.remove(name: "host") }  // a retry on another target
        upstreamRequest.headers.add(name: "Host", value: preserveHost ? String(clientHost) : address.hostHeader)
        hostHeaderAdded = true
        if let connection = loop.pool.takeIdle(address.poolKey) {
            connection.wasReused = true
            attach(connection)
            return
        }
        let timeout = TimeAmount.milliseconds(Int64(service.connectTimeout))
        loop.pool.connect(address, timeout: timeout).assumeIsolated().whenComplete { [self] result in
            let result = result.flatMap { channel in Result { try loop.pool.attach(channel) } }
            guard inRequest, !closed else {
                if case .success(let connection) = result { loop.pool.release(connection) }
                return
            }
            switch result {
            case .success(let connection):
                attach(connection)
            case .failure(let error):
                if attemptsLeft > 0 {
                    connectToNextTarget()
                } else if error is ChannelError, case .connectTimeout = error as! ChannelError {
                    respondWithError(.gatewayTimeout, message: "The upstream server is timing out")
                } else {
                    respondWithError(.badGateway, message: "An invalid response was received from the upstream server")
                }
            }
        }
    }

    private func attach(_ connection: UpstreamConnection) {
        upstream = connection
        connection.owner = self
        connection.requestCount += 1
        upstreamHeadSent = true
        sentUpstreamAt = .now()
        lastUpstreamProgress = sentUpstreamAt
        connection.write(.head(upstreamRequest))
        let idempotent = Self.isIdempotent(request.method)
        if requestEnded && replayBody == nil && idempotent { replayBody = pendingBody }
        for part in (replayBody ?? pendingBody) { connection.write(.body(.byteBuffer(part))) }
        pendingBody.removeAll()
        if requestEnded { connection.write(.end(requestTrailers)) }
        connection.flush()
        connection.holdReads(!(context?.channel.isWritable ?? true))
        holdClientReads(!connection.isWritable)
    }

    private static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: return true
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

    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        lastUpstreamProgress = .now()
        switch part {
        case .head(let head):
            replayBody = nil
            responseStarted = true
            if let plan, target >= 0 {
                let micros = Double((lastUpstreamProgress - sentUpstreamAt).nanoseconds) / 1000
                plan.loopStates[loop.index].recordLatency(target, microseconds: micros)
            }
            context.write(wrapOutboundOut(.head(makeClientHead(head))), promise: nil)
        case .body(let buffer):
            guard responseStarted else { return }
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable { upstream?.holdReads(true) }
        case .end(let trailers):
            guard responseStarted else { return }
            let reusable = upstreamResponseKeepAlive && requestEnded
            finishExchange(end: .end(responseIsHeadOnly ? nil : trailers), reuseUpstream: reusable)
        }
    }

    private var upstreamResponseKeepAlive = true

    func upstreamReadComplete() {
        context?.flush()
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
            context?.close(promise: nil)
            return
        }
        let canReplay = replayBody != nil || (requestEnded && bodyBytes == 0)
        if canReplay && Self.isIdempotent(request.method) {
            if connection?.wasReused == true { attemptsLeft += 1 }  // a stale keep-alive connection is no real attempt
            if attemptsLeft > 0 {
                connectToNextTarget()
                return
            }
        }
        respondWithError(.badGateway, message: "An invalid response was received from the upstream server")
    }

    /// The response head as the client sees it: hop-by-hop headers replaced by Konnect's own
    /// framing, the request id and latency headers added.
    private func makeClientHead(_ head: HTTPResponseHead) -> HTTPResponseHead {
        upstreamResponseKeepAlive = head.isKeepAlive
        var (headers, upstreamLength, upstreamSentRequestID) = HeaderRules.clientResponseHeaders(head.headers, extraCapacity: 6)
        let status = head.status.code
        let bodyless = responseIsHeadOnly || status == 204 || status == 304 || status < 200
        if let length = upstreamLength, status != 204 {
            headers.add(name: "Content-Length", value: length)
        } else if !bodyless {
            if request.version.minor >= 1 && request.version.major == 1 {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            } else {
                clientKeepAlive = false  // HTTP/1.0 without a length: the close marks the end
            }
        }
        if !upstreamSentRequestID { headers.add(name: "X-Request-Id", value: requestID) }
        if let setCookie { headers.add(name: "Set-Cookie", value: setCookie) }
        headers.add(name: "Via", value: head.version.minor == 0 ? "1.0 konnect" : "1.1 konnect")
        let now = NIODeadline.now()
        headers.add(name: "X-Konnect-Upstream-Latency", value: String((now - sentUpstreamAt).nanoseconds / 1_000_000))
        headers.add(name: "X-Konnect-Proxy-Latency", value: String((sentUpstreamAt - receivedAt).nanoseconds / 1_000_000))
        addConnectionHeader(&headers)
        return HTTPResponseHead(version: request.version, status: head.status, headers: headers)
    }

    private func addConnectionHeader(_ headers: inout HTTPHeaders) {
        if !clientKeepAlive || closeAfterResponse {
            clientKeepAlive = false
            headers.add(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
    }

    // MARK: Finishing

    /// Ends the client response, returns or closes the upstream connection and readies the
    /// connection for the next request (or closes it).
    private func finishExchange(end: HTTPServerResponsePart, reuseUpstream: Bool) {
        guard let context else { return }
        if let upstream {
            upstream.owner = nil
            self.upstream = nil
            if reuseUpstream { loop.pool.release(upstream) } else { upstream.close() }
        }
        releaseTarget()
        let keepAlive = clientKeepAlive && !closeAfterResponse
        let bodyUnread = !requestEnded
        // With the response complete, whatever remains of the request body is read and
        // dropped (reads are not forwarded once `inRequest` is false), as nginx does.
        resetRequest()
        holdClientReads(false)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(end), promise: nil)
            idleDeadline = .now() + settings.keepaliveTimeout
            startPipelinedRequests(context: context)
            return
        }
        closing = true
        pipelined.removeAll()
        context.writeAndFlush(wrapOutboundOut(end)).assumeIsolated().whenComplete { [self] _ in
            if bodyUnread {
                // Closing with unread bytes would reset the connection and could destroy the
                // response in flight; stop sending instead and keep draining for a moment.
                context.close(mode: .output, promise: nil)
                idleDeadline = .now() + .seconds(5)
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// Starts the requests that waited behind the one just answered, until one is in progress.
    private func startPipelinedRequests(context: ChannelHandlerContext) {
        while let part = pipelined.first, !closing {
            if case .head = part, inRequest { break }
            pipelined.removeFirst()
            handle(part, context: context)
        }
    }

    private func resetRequest() {
        inRequest = false
        snapshot = nil
        service = nil
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
        upstreamResponseKeepAlive = true
        hostHeaderAdded = false
    }

    /// Answers the current request with Konnect's own JSON error, if no response has started.
    private func respondWithError(_ status: HTTPResponseStatus, message: String, forceClose: Bool = false,
                                  extraHeaders: HTTPHeaders = HTTPHeaders()) {
        guard let context, !responseStarted else {
            context?.close(promise: nil)
            return
        }
        if !inRequest { requestID = loop.nextRequestID() }
        abandonUpstream()
        responseStarted = true
        if forceClose { clientKeepAlive = false }
        let body = ErrorBody.json(message: message, requestID: requestID)
        var headers = extraHeaders
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "X-Request-Id", value: requestID)
        addConnectionHeader(&headers)
        let version = inRequest ? request.version : .http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))),
                      promise: nil)
        if !responseIsHeadOnly {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
                          promise: nil)
        }
        inRequest = true
        finishExchange(end: .end(nil), reuseUpstream: false)
    }

    // MARK: Deadlines

    /// Enforces this connection's timeouts; called by the loop's deadline tick, so no request
    /// schedules or cancels a timer of its own.
    func checkDeadlines(now: NIODeadline) {
        guard !closed, let context else { return }
        guard inRequest else {
            if let idleDeadline, now >= idleDeadline { context.close(promise: nil) }
            return
        }
        if !requestEnded, !readsHeld, now - lastClientRead >= settings.clientBodyTimeout {
            if responseStarted { context.close(promise: nil) } else {
                respondWithError(.requestTimeout, message: "Request timeout", forceClose: true)
            }
            return
        }
        guard upstreamHeadSent, let service else { return }
        let limit = TimeAmount.milliseconds(Int64(requestEnded ? service.readTimeout : service.writeTimeout))
        guard now - lastUpstreamProgress >= limit else { return }
        if responseStarted {
            abandonUpstream()
            context.close(promise: nil)
        } else {
            respondWithError(.gatewayTimeout, message: "The upstream server is timing out")
        }
    }
}

/// Konnect's JSON error bodies: `{"message": ..., "request_id": ...}`.
enum ErrorBody {
    static func json(message: String, requestID: String) -> String {
        "{\"message\":\"\(escape(message))\",\"request_id\":\"\(escape(requestID))\"}"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = Array("0123456789abcdef")
                out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xF)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension ProxyHandler {
    /// End of the grace period: close whatever is still open.
    func forceClose() {
        context?.close(promise: nil)
    }
}

import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// CRC-32 as gzip computes it, bit by bit: written apart from the code under test.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

private func bigEndian32(_ value: Int) -> [UInt8] {
    [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

/// One event-stream message, laid out by hand: prelude, its CRC, headers, payload, message CRC.
private func frame(rawHeaders: [UInt8], payload: [UInt8]) -> [UInt8] {
    var bytes = bigEndian32(16 + rawHeaders.count + payload.count) + bigEndian32(rawHeaders.count)
    bytes += bigEndian32(Int(crc32(bytes)))
    bytes += rawHeaders + payload
    bytes += bigEndian32(Int(crc32(bytes)))
    return bytes
}

/// String headers (type 7: a 16-bit length, then the bytes).
private func stringHeaders(_ headers: [(String, String)]) -> [UInt8] {
    var bytes: [UInt8] = []
    for (name, value) in headers {
        bytes += [UInt8(name.utf8.count)] + Array(name.utf8) + [7, UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)]
        bytes += Array(value.utf8)
    }
    return bytes
}

/// A ConverseStream event as Bedrock frames it.
private func event(_ type: String, _ payload: String) -> [UInt8] {
    frame(rawHeaders: stringHeaders([(":event-type", type), (":content-type", "application/json"), (":message-type", "event")]),
          payload: Array(payload.utf8))
}

/// An exception inside a stream, as Bedrock frames it.
private func exception(_ type: String, _ payload: String) -> [UInt8] {
    frame(rawHeaders: stringHeaders([(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")]),
          payload: Array(payload.utf8))
}

/// Feeds `pieces` to a new event-stream decoder, then finishes it.
private func decodeFrames(_ pieces: [[UInt8]]) throws(AIError) -> [AWSEventStreamMessage] {
    var decoder = AWSEventStreamDecoder()
    var messages: [AWSEventStreamMessage] = []
    for piece in pieces { messages += try decoder.decode(ByteBuffer(bytes: piece)) }
    try decoder.finish()
    return messages
}

/// Feeds `pieces` to a new Bedrock stream decoder, then finishes it.
private func decodeBedrockStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    try decodeStream(BedrockProvider().streamDecoder(), pieces)
}

/// `bytes` one byte at a time.
private func bytewise(_ bytes: [UInt8]) -> [[UInt8]] { bytes.map { [$0] } }

/// The events with the generated answer id replaced, so two decodings compare.
private func withoutID(_ events: [ChatStreamEvent]) -> [ChatStreamEvent] {
    events.map { event in
        if case .start(_, let model, let usage) = event { return .start(id: "id", model: model, usage: usage) }
        return event
    }
}

/// The Bedrock request body for what an OpenAI client sent.
private func bedrockBody(fromOpenAI text: String) throws -> JSON {
    try BedrockConverse.requestBody(OpenAIChat.request(from: JSON.parse(text)))
}

/// The error writing `request` for Bedrock gives, or nil when it writes one.
private func bedrockBodyError(_ request: ChatRequest) -> AIError? {
    return thrownAIError { () throws(AIError) in
        _ = try BedrockConverse.requestBody(request)
    }
}

private func bedrockResponse(_ text: String) throws -> ChatResponse {
    try BedrockProvider().chatResponse(ByteBuffer(string: text))
}

/// AWS's example credentials, as its SigV4 test suite uses them.
private let exampleCredentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
/// 2015-08-30T12:36:00Z, the suite's time.
private let suiteTime: Int64 = 1_440_938_160

// MARK: - SigV4

@Suite struct AWSSigV4Tests {
    /// AWS's Signature Version 4 test suite (aws-sig-v4-test-suite, as botocore ships it):
    /// service `service`, region `us-east-1`, host example.amazonaws.com, 20150830T123600Z.
    struct SuiteCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var url: String
        var headers: [(String, String)] = []
        var body = ""
        var sessionToken: String?
        var signedHeaders: String
        var signature: String
        var testDescription: String { name }
    }

    static let suite: [SuiteCase] = [
        SuiteCase(name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/",
                  signedHeaders: "host;x-amz-date",
                  signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SuiteCase(name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/",
                  signedHeaders: "host;x-amz-date",
                  signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SuiteCase(name: "get-vanilla-query-order-key-case", method: "GET",
                  url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                  signedHeaders: "host;x-amz-date",
                  signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SuiteCase(name: "post-x-www-form-urlencoded", method: "POST", url: "https://example.amazonaws.com/",
                  headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
                  signedHeaders: "content-type;host;x-amz-date",
                  signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        SuiteCase(name: "post-sts-header-before", method: "POST", url: "https://example.amazonaws.com/",
                  sessionToken: "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
                  signedHeaders: "host;x-amz-date;x-amz-security-token",
                  signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ]

    @Test(arguments: suite)
    func awsSuiteVectorsAreSignedExactly(vector: SuiteCase) throws {
        var credentials = exampleCredentials
        credentials.sessionToken = vector.sessionToken
        let signed = try AWSSigV4.sign(method: vector.method, url: vector.url, headers: vector.headers,
                                       body: ByteBuffer(string: vector.body), credentials: credentials,
                                       region: "us-east-1", service: "service", secondsSince1970: suiteTime)
        #expect(signed.signature == vector.signature)
        let authorization = signed.headers.first { $0.0 == "Authorization" }?.1
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
        #expect(signed.headers.contains { $0 == ("X-Amz-Date", "20150830T123600Z") })
        #expect(signed.headers.contains { $0.0 == "X-Amz-Security-Token" } == (vector.sessionToken != nil))
    }

    @Test func getVanillasCanonicalRequestAndStringToSignAreTheSuites() throws {
        let signed = try AWSSigV4.sign(method: "GET", url: "https://example.amazonaws.com/", headers: [], body: ByteBuffer(),
                                       credentials: exampleCredentials, region: "us-east-1", service: "service",
                                       secondsSince1970: suiteTime)
        // get-vanilla.creq and get-vanilla.sts.
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    /// The Converse request botocore 1.43.11's `SigV4Auth` (AWS's reference signer) signed for the
    /// same body, credentials and time: the model id's `%3A` is signed as `%253A`.
    @Test(arguments: [
        ("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "us-east-1", nil,
         "content-type;host;x-amz-date", "91d9f2ca8964ff52569909d45b429aa31f7a8dddbe0ba89a4bb924b36b2e7d95"),
        ("https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", "eu-west-3", "FQoGZXIvYXdzEXAMPLETOKEN",
         "content-type;host;x-amz-date;x-amz-security-token", "8dd431350aa1b90a5d87ec461671c5daefdb86d95d5cecd4d1375718bd7208ff"),
    ] as [(String, String, String?, String, String)])
    func aConverseRequestIsSignedAsBotocoreSignsIt(url: String, region: String, token: String?, signedHeaders: String, signature: String) throws {
        var credentials = exampleCredentials
        credentials.sessionToken = token
        let signed = try AWSSigV4.sign(method: "POST", url: url, headers: [("Content-Type", "application/json")],
                                       body: ByteBuffer(string: #"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#),
                                       credentials: credentials, region: region, service: "bedrock", secondsSince1970: 1_735_689_599)
        let method = url.hasSuffix("-stream") ? "converse-stream" : "converse"
        #expect(signed.canonicalRequest.hasPrefix("POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/\(method)\n\n"))
        #expect(signed.headers.last?.1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241231/\(region)/bedrock/aws4_request, SignedHeaders=\(signedHeaders), Signature=\(signature)")
    }

    @Test(arguments: [
        (Int64(0), "19700101T000000Z"),
        (suiteTime, "20150830T123600Z"),
        (951_868_799, "20000229T235959Z"),
        (1_735_689_599, "20241231T235959Z"),
    ])
    func timestampsAreWrittenInUTC(seconds: Int64, written: String) {
        #expect(AWSSigV4.timestamp(seconds) == written)
    }

    @Test func aURLThatIsNotHTTPCannotBeSigned() {
        let error = #expect(throws: AIError.self) {
            try AWSSigV4.sign(method: "POST", url: "bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", headers: [],
                              body: ByteBuffer(), credentials: exampleCredentials, region: "us-east-1", service: "bedrock",
                              secondsSince1970: suiteTime)
        }
        #expect(error?.kind == .server)
    }
}

// MARK: - Event stream framing

@Suite struct AWSEventStreamTests {
    static let frames = [
        event("messageStart", #"{"p":"abcd","role":"assistant"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"}"#),
        frame(rawHeaders: [], payload: []),
    ]

    @Test func bothCRCsAreTheStandardOne() {
        // The CRC-32 check value (of "123456789"), for the test's own CRC and the decoder's.
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func framesAreDecodedWholeAndOneByteAtATime() throws {
        let stream = Self.frames.flatMap { $0 }
        let whole = try decodeFrames([stream])
        #expect(whole.count == 3)
        #expect(whole[0].string(":event-type") == "messageStart")
        #expect(whole[0].string(":message-type") == "event")
        #expect(whole[0].headers.map(\.name) == [":event-type", ":content-type", ":message-type"])
        #expect(String(buffer: whole[1].payload) == #"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"}"#)
        #expect(whole[2].headers.isEmpty)
        #expect(whole[2].payload.readableBytes == 0)
        #expect(try decodeFrames(bytewise(stream)) == whole)
        // Split at every point of the stream, in two.
        for cut in 1..<stream.count {
            #expect(try decodeFrames([Array(stream[..<cut]), Array(stream[cut...])]) == whole)
        }
    }

    @Test func headersOfEveryTypeAreRead() throws {
        var raw: [UInt8] = []
        func name(_ text: String, _ type: UInt8) { raw += [UInt8(text.utf8.count)] + Array(text.utf8) + [type] }
        name("yes", 0)
        name("no", 1)
        name("byte", 2); raw += [0xFE]
        name("short", 3); raw += [0x01, 0x02]
        name("int", 4); raw += [0xFF, 0xFF, 0xFF, 0xFE]
        name("long", 5); raw += [0, 0, 0, 0, 0, 0, 0x01, 0x00]
        name("bytes", 6); raw += [0, 3, 1, 2, 3]
        name("text", 7); raw += [0, 3] + Array("hé".utf8)
        name("time", 8); raw += [0, 0, 0x01, 0x93, 0x1C, 0x4F, 0xA8, 0x00]
        name("id", 9); raw += (0..<16).map { UInt8($0) }
        let messages = try decodeFrames([frame(rawHeaders: raw, payload: Array("{}".utf8))])
        #expect(messages.first?.headers.map(\.value) == [
            .bool(true), .bool(false), .byte(-2), .int16(0x0102), .int32(-2), .int64(256), .bytes([1, 2, 3]),
            .string("hé"), .timestamp(0x0193_1C4F_A800), .uuid((0..<16).map { UInt8($0) }),
        ])
    }

    @Test func aBadMessageCRCFailsTheStreamAndKeepsFailingIt() {
        var bad = event("messageStart", #"{"role":"assistant"}"#)
        bad[bad.count - 1] ^= 0x01
        var decoder = AWSEventStreamDecoder()
        let error = #expect(throws: AIError.self) { try decoder.decode(ByteBuffer(bytes: bad)) }
        #expect(error?.kind == .server)
        #expect(error?.message.contains("message checksum mismatch") == true)
        #expect(throws: AIError.self) { try decoder.decode(ByteBuffer(bytes: Self.frames[0])) }
        #expect(throws: AIError.self) { try decoder.finish() }
    }

    @Test func aBadPreludeCRCFailsAsSoonAsThePreludeIsIn() {
        var bad = Self.frames[0]
        bad[3] ^= 0x01  // the total length, which the prelude's CRC covers
        var decoder = AWSEventStreamDecoder()
        #expect((try? decoder.decode(ByteBuffer(bytes: Array(bad[..<11])))) == [])
        let error = #expect(throws: AIError.self) { try decoder.decode(ByteBuffer(bytes: [bad[11]])) }
        #expect(error?.message.contains("prelude checksum mismatch") == true)
    }

    @Test(arguments: [
        (8, 0, "impossible message length 8"),
        (16 << 20 + 1, 0, "impossible message length 16777217"),
        (20, 5, "impossible headers length 5 in a message of 20 bytes"),
        (200_000, 140_000, "impossible headers length 140000"),
    ])
    func impossibleLengthsAreRefusedBeforeBuffering(total: Int, headers: Int, detail: String) {
        // A prelude whose CRC is right but whose lengths cannot be.
        var prelude = bigEndian32(total) + bigEndian32(headers)
        prelude += bigEndian32(Int(crc32(prelude)))
        var decoder = AWSEventStreamDecoder()
        let error = #expect(throws: AIError.self) { try decoder.decode(ByteBuffer(bytes: prelude)) }
        #expect(error?.kind == .server)
        #expect(error?.message.contains(detail) == true, "\(error?.message ?? "accepted")")
    }

    @Test func aCutStreamFailsAtItsEnd() throws {
        let stream = Self.frames[0] + Self.frames[1].prefix(20)
        var decoder = AWSEventStreamDecoder()
        #expect(try decoder.decode(ByteBuffer(bytes: stream)).count == 1)
        let error = #expect(throws: AIError.self) { try decoder.finish() }
        #expect(error?.kind == .server)
        #expect(error?.message.contains("cut inside a message (20 of \(Self.frames[1].count) bytes)") == true, "\(error?.message ?? "")")
    }

    @Test func aHeaderWithAnUnknownTypeIsMalformed() {
        let raw: [UInt8] = [4] + Array("oops".utf8) + [42]
        let error = #expect(throws: AIError.self) { try decodeFrames([frame(rawHeaders: raw, payload: [])]) }
        #expect(error?.message.contains("unknown value type 42") == true)
    }
}

// MARK: - Requests

@Suite struct BedrockRequestTests {
    static let openAIConversation = #"""
    {
      "model": "claude-via-bedrock",
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [
          {"type": "text", "text": "What is in this image, and how warm is it in Paris?"},
          {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "detail": "low"}}
        ]},
        {"role": "developer", "content": "Use metric units."},
        {"role": "assistant", "content": "A cat. Checking.", "tool_calls": [
          {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"days\":[1,2]}"}},
          {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18}"},
        {"role": "tool", "tool_call_id": "call_2", "content": "14:05"},
        {"role": "user", "content": "Which is warmer?"}
      ],
      "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}},
        {"type": "function", "function": {"name": "get_time"}}
      ],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
      "max_tokens": 300,
      "temperature": 0.2,
      "top_p": 0.8,
      "stop": ["END"],
      "n": 1,
      "stream": true,
      "stream_options": {"include_usage": true}
    }
    """#

    @Test func anOpenAIConversationIsWrittenForConverse() throws {
        let body = try bedrockBody(fromOpenAI: Self.openAIConversation)
        #expect(body.text == #"{"messages":[{"role":"user","content":[{"text":"What is in this image, and how warm is it in Paris?"},{"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQSkZJRg=="}}}]},{"role":"assistant","content":[{"text":"A cat. Checking."},{"toolUse":{"toolUseId":"call_1","name":"get_weather","input":{"city":"Paris","days":[1,2]}}},{"toolUse":{"toolUseId":"call_2","name":"get_time","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"text":"{\"temp_c\":18}"}]}},{"toolResult":{"toolUseId":"call_2","content":[{"text":"14:05"}]}},{"text":"Which is warmer?"}]}],"system":[{"text":"You are terse."},{"text":"Use metric units."}],"inferenceConfig":{"maxTokens":300,"temperature":0.2,"topP":0.8,"stopSequences":["END"]},"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Current weather in a city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}},{"toolSpec":{"name":"get_time","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"tool":{"name":"get_weather"}}}}"#)
    }

    @Test func aPlainRequestIsWrittenPlainly() throws {
        let body = try bedrockBody(fromOpenAI: #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(body.text == #"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#)
    }

    @Test(arguments: [
        (ToolChoice.auto, #"{"auto":{}}"#),
        (ToolChoice.required, #"{"any":{}}"#),
        (ToolChoice.function("get_weather"), #"{"tool":{"name":"get_weather"}}"#),
    ])
    func toolChoicesAreConversesUnion(choice: ToolChoice, written: String) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "get_weather", description: "", parameters: ["type": "object"])]
        request.toolChoice = choice
        let config = try BedrockConverse.requestBody(request)["toolConfig"]
        #expect(config?["toolChoice"]?.text == written)
        // An empty description is not sent (Bedrock wants one of at least a character).
        #expect(config?["tools"]?.text == #"[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]"#)
    }

    @Test func withoutAToolChoiceNoneIsSent() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "w")]
        #expect(try BedrockConverse.requestBody(request)["toolConfig"]?.text == #"{"tools":[{"toolSpec":{"name":"w","inputSchema":{"json":{"type":"object","properties":{}}}}}]}"#)
    }

    @Test func toolChoiceNoneWithholdsTheToolsWhileNoToolWasCalled() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Just chat.")])
        request.tools = [ToolDefinition(name: "w")]
        request.toolChoice = ToolChoice.none
        #expect(try BedrockConverse.requestBody(request)["toolConfig"] == nil)
        // Once the conversation has tool calls, Bedrock needs the tools, and cannot be told not to call them.
        request.messages += [
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "c1", name: "w", arguments: "{}")]),
            ChatMessage(role: .tool, content: [.text("18C")], toolCallID: "c1"),
        ]
        #expect(bedrockBodyError(request)?.param == "tool_choice")
    }

    @Test func aFailedToolsResultIsAnErrorStatusAndItsImagesGoAlong() throws {
        let body = try BedrockConverse.requestBody(AnthropicMessages.request(from: JSON.parse(#"""
        {"model":"m","max_tokens":100,"messages":[
          {"role":"user","content":"Chart it."},
          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"chart","input":{"q":"sales"}}]},
          {"role":"user","content":[
            {"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":[
              {"type":"text","text":"Partial chart"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]}
        """#)))
        #expect(body["messages"]?.array?.last?.text == #"{"role":"user","content":[{"toolResult":{"toolUseId":"toolu_1","content":[{"text":"Partial chart"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}],"status":"error"}}]}"#)
    }

    @Test func signedReasoningGoesBackBeforeTheCalls() throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [.thinking("Need the tool.", signature: "EqQBCkYI"), .text("Checking.")],
                        toolCalls: [ToolCall(id: "tooluse_1", name: "w", arguments: #"{"city":"Paris"}"#)]),
            ChatMessage(role: .tool, content: [.text("18C")], toolCallID: "tooluse_1"),
            // Reasoning without a signature cannot be verified by Bedrock: it stays behind.
            ChatMessage(role: .assistant, content: [.thinking("Unsigned.", signature: nil), .text("18C in Paris.")]),
        ])
        let messages = try #require(try BedrockConverse.requestBody(request)["messages"]?.array)
        #expect(messages[1].text == #"{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Need the tool.","signature":"EqQBCkYI"}}},{"text":"Checking."},{"toolUse":{"toolUseId":"tooluse_1","name":"w","input":{"city":"Paris"}}}]}"#)
        #expect(messages[3].text == #"{"role":"assistant","content":[{"text":"18C in Paris."}]}"#)
    }

    @Test(arguments: [
        ("image/png", "png"), ("image/jpeg", "jpeg"), ("image/jpg", "jpeg"), ("image/gif", "gif"), ("image/webp", "webp"),
    ])
    func imageFormatsComeFromTheMediaType(mediaType: String, format: String) throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: [.image(url: "data:\(mediaType);base64,AAAA", detail: nil)]),
        ])
        #expect(try BedrockConverse.requestBody(request)["messages"]?.array?.first?["content"]?.text
            == #"[{"image":{"format":"\#(format)","source":{"bytes":"AAAA"}}}]"#)
    }

    // MARK: Refusals

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var body: String
        var param: String
        var message: String?
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(label: "a field Konnect does not model",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}"#, param: "logprobs",
                message: "logprobs: is not supported by bedrock"),
        Refusal(label: "tool call arguments that are not JSON",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"city\":"}}]}]}"#,
                param: "messages[1].tool_calls[0].function.arguments"),
        Refusal(label: "tool call arguments that are not an object",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"d","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}"#,
                param: "messages[1].tool_calls[1].function.arguments",
                message: "messages[1].tool_calls[1].function.arguments: must be a JSON object"),
        Refusal(label: "an image Bedrock would have to fetch",
                body: #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#,
                param: "messages[0].content[1].image_url.url",
                message: "messages[0].content[1].image_url.url: bedrock does not fetch image URLs; send the image inline as a base64 data: URL"),
        Refusal(label: "an image in a format Bedrock does not take",
                body: #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]}"#,
                param: "messages[0].content[0].image_url.url",
                message: "messages[0].content[0].image_url.url: bedrock takes png, jpeg, gif or webp images, not image/bmp"),
        Refusal(label: "top_k", body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"top_k":40}"#, param: "top_k"),
        Refusal(label: "seed", body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":7}"#, param: "seed"),
        Refusal(label: "several choices", body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}"#, param: "n"),
        Refusal(label: "a presence penalty", body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5}"#,
                param: "presence_penalty"),
        Refusal(label: "a JSON response format",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#,
                param: "response_format"),
        Refusal(label: "only a system message", body: #"{"model":"m","messages":[{"role":"system","content":"Be brief."}]}"#,
                param: "messages"),
    ]

    @Test func aToolResultWithoutItsCallsIDIsRefused() {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "hi"), ChatMessage(role: .tool, text: "18C")])
        #expect(bedrockBodyError(request)?.param == "messages[1].tool_call_id")
    }

    @Test(arguments: refusals)
    func requestsBedrockCannotHonourNameTheField(refusal: Refusal) throws {
        let json = try JSON.parse(refusal.body)
        let error = bedrockBodyError(try OpenAIChat.request(from: json))
        #expect(error?.param == refusal.param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        if let message = refusal.message { #expect(error?.message == message) }
    }
}

// MARK: - Responses

@Suite struct BedrockResponseTests {
    static let toolUseAnswer = #"""
    {
      "output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "The user wants Paris.", "signature": "EqQBCkYIBxgC"}}},
        {"text": "Checking Paris."},
        {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}}}
      ]}},
      "stopReason": "tool_use",
      "usage": {"inputTokens": 12, "outputTokens": 40, "totalTokens": 1252, "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 200},
      "metrics": {"latencyMs": 812}
    }
    """#

    @Test func aToolUseAnswerIsRead() throws {
        let response = try bedrockResponse(Self.toolUseAnswer)
        #expect(response.id.hasPrefix("bedrock-"))
        #expect(response.model == "")  // the gateway names the deployment's model
        let choice = try #require(response.choices.first)
        #expect(choice.finishReason == .toolCalls)
        #expect(choice.message.content == [.thinking("The user wants Paris.", signature: "EqQBCkYIBxgC"), .text("Checking Paris.")])
        #expect(choice.message.toolCalls == [
            ToolCall(id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "get_weather", arguments: #"{"city":"Paris","unit":"c"}"#),
        ])
        // Bedrock's inputTokens leaves out the cache's tokens; Konnect's input counts them all.
        #expect(response.usage == Usage(inputTokens: 1212, outputTokens: 40, cachedInputTokens: 1000, cacheCreationInputTokens: 200))
    }

    @Test func anOpenAIClientSeesTheWholePromptAndItsCachedPart() throws {
        let body = OpenAIChat.responseBody(try bedrockResponse(Self.toolUseAnswer))
        #expect(body["choices"]?.array?.first?["finish_reason"] == "tool_calls")
        #expect(body["usage"]?["prompt_tokens"] == 1212)
        #expect(body["usage"]?["total_tokens"] == 1252)
        #expect(body["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 1000)
    }

    @Test func anAnthropicClientSeesBedrocksOwnCounts() throws {
        let body = AnthropicMessages.responseBody(try bedrockResponse(Self.toolUseAnswer))
        #expect(body["usage"]?.text == #"{"input_tokens":12,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":40}"#)
    }

    @Test(arguments: [
        ("end_turn", nil, FinishReason.stop, "stop"),
        ("tool_use", nil, .toolCalls, "tool_calls"),
        ("max_tokens", nil, .length, "length"),
        ("stop_sequence", #""additionalModelResponseFields":{"stop_sequence":"END"},"#, .stopSequence("END"), "stop"),
        ("stop_sequence", nil, .stopSequence(nil), "stop"),
        ("guardrail_intervened", nil, .contentFilter, "content_filter"),
        ("content_filtered", nil, .contentFilter, "content_filter"),
        ("model_context_window_exceeded", nil, .contextWindowExceeded, "length"),
        ("malformed_model_output", nil, .other("malformed_model_output"), "malformed_model_output"),
        ("malformed_tool_use", nil, .other("malformed_tool_use"), "malformed_tool_use"),
    ] as [(String, String?, FinishReason, String)])
    func stopReasonsAreKeptAsPreciseAsBedrockSaidThem(word: String, extra: String?, reason: FinishReason, openAIWord: String) throws {
        let response = try bedrockResponse(#"""
        {"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},\#(extra ?? "")"stopReason":"\#(word)","usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}
        """#)
        #expect(response.choices.first?.finishReason == reason)
        #expect(response.choices.first?.message.text == "ok")
        #expect(response.usage == Usage(inputTokens: 3, outputTokens: 1))
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["finish_reason"] == .string(openAIWord))
    }

    @Test(arguments: ["{}", #"{"output":{}}"#, "[]", "<html>"])
    func anAnswerWithoutAMessageIsAProviderFailure(body: String) {
        let error = #expect(throws: AIError.self) { try bedrockResponse(body) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }
}

// MARK: - Streams

@Suite struct BedrockStreamTests {
    /// A ConverseStream answer with text, a tool call whose input comes in pieces, and usage,
    /// as Bedrock frames it (the `p` padding field included).
    static let toolCallStream: [[UInt8]] = [
        event("messageStart", #"{"p":"abcdefghijkl","role":"assistant"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Checking"},"p":"abcd"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":" Paris."},"p":"abcdefghij"}"#),
        event("contentBlockStop", #"{"contentBlockIndex":0,"p":"abc"}"#),
        event("contentBlockStart", #"{"contentBlockIndex":1,"p":"ab","start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_Ss9Q"}}}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":""}},"p":"abcdef"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Pa"}},"p":"a"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"ris\"}"}},"p":"abcdefg"}"#),
        event("contentBlockStop", #"{"contentBlockIndex":1,"p":"abcdefgh"}"#),
        event("contentBlockStart", #"{"contentBlockIndex":2,"start":{"toolUse":{"name":"get_time","toolUseId":"tooluse_T2"}}}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}"#),
        event("contentBlockStop", #"{"contentBlockIndex":2}"#),
        event("messageStop", #"{"p":"abcdefghijklmnopq","stopReason":"tool_use"}"#),
        event("metadata", #"{"metrics":{"latencyMs":1402},"p":"abc","usage":{"cacheReadInputTokens":1024,"cacheWriteInputTokens":0,"inputTokens":418,"outputTokens":71,"totalTokens":1513}}"#),
    ]

    static let toolCallEvents: [ChatStreamEvent] = [
        .start(id: "id", model: "", usage: nil),
        .text("Checking"),
        .text(" Paris."),
        .toolCallStart(index: 0, id: "tooluse_Ss9Q", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"city": "Pa"#),
        .toolCallArguments(index: 0, fragment: #"ris"}"#),
        .toolCallStart(index: 1, id: "tooluse_T2", name: "get_time"),
        .toolCallArguments(index: 1, fragment: "{}"),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 1442, outputTokens: 71, cachedInputTokens: 1024)),
    ]

    @Test func aToolCallStreamIsReadWholeAndOneByteAtATime() throws {
        let stream = Self.toolCallStream.flatMap { $0 }
        let whole = try decodeBedrockStream([stream])
        guard case .start(let id, _, _)? = whole.first else {
            Issue.record("the stream did not start: \(whole)")
            return
        }
        #expect(id.hasPrefix("bedrock-"))
        #expect(withoutID(whole) == Self.toolCallEvents)
        #expect(withoutID(try decodeBedrockStream(bytewise(stream))) == Self.toolCallEvents)
        #expect(withoutID(try decodeBedrockStream(Self.toolCallStream)) == Self.toolCallEvents)
    }

    @Test func anOpenAIClientGetsTheToolCallsInOrder() throws {
        var encoder = AIClientFormat.openAI.streamEncoder(for: {
            var request = ChatRequest(model: "m", messages: [])
            request.stream = true
            request.streamUsage = true
            return request
        }(), created: 1_700_000_000)
        var out = ByteBuffer()
        for event in try decodeBedrockStream(Self.toolCallStream) { encoder.encode(event, into: &out) }
        encoder.finish(into: &out)
        let text = String(buffer: out)
        #expect(text.contains(#""tool_calls":[{"index":0,"id":"tooluse_Ss9Q","type":"function","function":{"name":"get_weather","arguments":""}}]"#))
        #expect(text.contains(#""tool_calls":[{"index":1,"id":"tooluse_T2","type":"function","function":{"name":"get_time","arguments":""}}]"#))
        #expect(text.contains(#""finish_reason":"tool_calls""#))
        #expect(text.contains(#""prompt_tokens":1442"#))
        #expect(text.hasSuffix("data: [DONE]\n\n"))
    }

    @Test func reasoningAndAGuardrailStopAreRead() throws {
        let events = try decodeBedrockStream([
            event("messageStart", #"{"role":"assistant"}"#),
            event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm."}}}"#),
            event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqQB"}}}"#),
            event("contentBlockStop", #"{"contentBlockIndex":0}"#),
            event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"text":"Sorry"}}"#),
            event("messageStop", #"{"stopReason":"guardrail_intervened"}"#),
            event("metadata", #"{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7},"metrics":{"latencyMs":100}}"#),
        ].flatMap { $0 }.chunked())
        #expect(withoutID(events) == [
            .start(id: "id", model: "", usage: nil), .thinking("Hmm."), .thinkingSignature("EqQB"), .text("Sorry"),
            .finish(.contentFilter), .usage(Usage(inputTokens: 5, outputTokens: 2)),
        ])
    }

    struct StreamException: Sendable, CustomTestStringConvertible {
        var type: String
        var kind: AIError.Kind
        var status: Int
        var testDescription: String { type }
    }

    @Test(arguments: [
        StreamException(type: "throttlingException", kind: .rateLimited, status: 429),
        StreamException(type: "serviceUnavailableException", kind: .overloaded, status: 503),
        StreamException(type: "modelStreamErrorException", kind: .server, status: 502),
        StreamException(type: "validationException", kind: .invalidRequest, status: 400),
        StreamException(type: "internalServerException", kind: .server, status: 500),
        StreamException(type: "somethingNewException", kind: .server, status: 502),
    ])
    func anExceptionMidStreamIsAnErrorOfItsKind(exception streamException: StreamException) throws {
        let events = try decodeBedrockStream(bytewise([
            event("messageStart", #"{"role":"assistant"}"#),
            event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Par"}}"#),
            exception(streamException.type, #"{"message":"Stream failed: \#(streamException.type)"}"#),
            // Nothing after an exception counts.
            event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"is"}}"#),
        ].flatMap { $0 }))
        #expect(events.count == 3)
        #expect(events[1] == .text("Par"))
        guard case .error(let error) = events.last else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(error.kind == streamException.kind)
        #expect(error.status == streamException.status)
        #expect(error.code == streamException.type)
        #expect(error.message == "Stream failed: \(streamException.type)")
    }

    @Test func aStreamCutInsideAFrameFails() {
        let stream = Self.toolCallStream.flatMap { $0 }
        var decoder = BedrockConverseStreamDecoder()
        #expect((try? decoder.decode(ByteBuffer(bytes: Array(stream.dropLast(10))))) != nil)
        let error = #expect(throws: AIError.self) { try decoder.finish() }
        #expect(error?.kind == .server)
    }

    @Test func aStreamThatEndsBeforeItsStopFails() {
        let error = #expect(throws: AIError.self) {
            try decodeBedrockStream([event("messageStart", #"{"role":"assistant"}"#), event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)])
        }
        #expect(error?.message == "The provider's stream ended before the answer was complete")
    }

    @Test func aCorruptFrameFailsTheStream() {
        var corrupt = event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
        corrupt[20] ^= 0x20
        let error = #expect(throws: AIError.self) { try decodeBedrockStream([event("messageStart", "{}"), corrupt]) }
        #expect(error?.kind == .server)
        #expect(error?.message.contains("checksum") == true)
    }

    @Test func toolInputForABlockThatStartedNoCallFails() {
        let error = #expect(throws: AIError.self) {
            try decodeBedrockStream([event("contentBlockDelta", #"{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}"#)])
        }
        #expect(error?.message.contains("content block 3") == true)
    }
}

private extension Array where Element == UInt8 {
    /// The bytes in pieces of 7, splitting frames at odd places.
    func chunked() -> [[UInt8]] {
        stride(from: 0, to: count, by: 7).map { Array(self[$0..<Swift.min($0 + 7, count)]) }
    }
}

// MARK: - Errors

@Suite struct BedrockErrorTests {
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var status: Int
        var errorType: String?
        var body: String
        var kind: AIError.Kind
        var clientStatus: Int
        var code: String?
        var message: String
        var testDescription: String { label }
    }

    static let cases: [ErrorCase] = [
        ErrorCase(label: "validation", status: 400, errorType: "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                  body: #"{"message":"The model returned the following errors: messages: roles must alternate"}"#,
                  kind: .invalidRequest, clientStatus: 400, code: "ValidationException",
                  message: "The model returned the following errors: messages: roles must alternate"),
        ErrorCase(label: "a wrong key", status: 403, errorType: "UnrecognizedClientException",
                  body: #"{"message":"The security token included in the request is invalid."}"#,
                  kind: .authentication, clientStatus: 401, code: "UnrecognizedClientException",
                  message: "The security token included in the request is invalid."),
        ErrorCase(label: "a wrong signature", status: 403, errorType: "InvalidSignatureException",
                  body: #"{"message":"The request signature we calculated does not match the signature you provided."}"#,
                  kind: .authentication, clientStatus: 401, code: "InvalidSignatureException",
                  message: "The request signature we calculated does not match the signature you provided."),
        ErrorCase(label: "no model access", status: 403, errorType: "AccessDeniedException",
                  body: #"{"Message":"You don't have access to the model with the specified model ID."}"#,
                  kind: .permission, clientStatus: 403, code: "AccessDeniedException",
                  message: "You don't have access to the model with the specified model ID."),
        ErrorCase(label: "no such model", status: 404, errorType: "ResourceNotFoundException",
                  body: #"{"message":"Model not found."}"#, kind: .notFound, clientStatus: 404, code: "ResourceNotFoundException",
                  message: "Model not found."),
        ErrorCase(label: "throttled", status: 429, errorType: "ThrottlingException",
                  body: #"{"message":"Too many requests, please wait before trying again."}"#,
                  kind: .rateLimited, clientStatus: 429, code: "ThrottlingException",
                  message: "Too many requests, please wait before trying again."),
        ErrorCase(label: "unavailable", status: 503, errorType: "ServiceUnavailableException",
                  body: #"{"message":"Bedrock is unable to process your request."}"#,
                  kind: .overloaded, clientStatus: 503, code: "ServiceUnavailableException",
                  message: "Bedrock is unable to process your request."),
        ErrorCase(label: "model not ready", status: 429, errorType: "ModelNotReadyException",
                  body: #"{"message":"Model is not ready."}"#, kind: .unavailable, clientStatus: 503, code: "ModelNotReadyException",
                  message: "Model is not ready."),
        ErrorCase(label: "internal", status: 500, errorType: "InternalServerException",
                  body: #"{"message":"Internal server error"}"#, kind: .server, clientStatus: 500, code: "InternalServerException",
                  message: "Internal server error"),
        ErrorCase(label: "the model failed", status: 424, errorType: "ModelErrorException",
                  body: #"{"message":"The model failed.","originalStatusCode":500}"#,
                  kind: .server, clientStatus: 502, code: "ModelErrorException", message: "The model failed."),
        ErrorCase(label: "the model timed out", status: 408, errorType: "ModelTimeoutException",
                  body: #"{"message":"Model has timed out in processing the request."}"#,
                  kind: .timeout, clientStatus: 504, code: "ModelTimeoutException",
                  message: "Model has timed out in processing the request."),
        ErrorCase(label: "the type in the body", status: 400, errorType: nil,
                  body: #"{"__type":"com.amazon.coral.validate#ValidationException","message":"1 validation error detected"}"#,
                  kind: .invalidRequest, clientStatus: 400, code: "ValidationException", message: "1 validation error detected"),
        ErrorCase(label: "not JSON", status: 502, errorType: nil, body: "<html>Bad Gateway</html>",
                  kind: .server, clientStatus: 502, code: nil, message: "The provider answered 502: <html>Bad Gateway</html>"),
    ]

    @Test(arguments: cases)
    func errorsAreReadByTheirType(errorCase: ErrorCase) {
        var headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", "4c0cbd7b-5cd5-4d1c-8f4b-0d0a1b2c3d4e")]
        if let type = errorCase.errorType { headers.append(("x-amzn-ErrorType", type)) }
        let error = BedrockProvider().error(status: errorCase.status, headers: headers, body: ByteBuffer(string: errorCase.body))
        #expect(error.kind == errorCase.kind)
        #expect(error.status == errorCase.clientStatus)
        #expect(error.code == errorCase.code)
        #expect(error.message == errorCase.message)
        #expect(error.retryAfter == nil)
    }

    @Test func throttlingAllowsFallbackAndKeepsRetryAfter() {
        let error = BedrockProvider().error(status: 429, headers: [("x-amzn-ErrorType", "ThrottlingException"), ("Retry-After", "3")],
                                            body: ByteBuffer(string: #"{"message":"Too many tokens"}"#))
        #expect(error.retryAfter == 3)
        #expect(error.allowsFallback)
        #expect(!BedrockProvider().error(status: 400, headers: [("x-amzn-ErrorType", "ValidationException")],
                                         body: ByteBuffer(string: #"{"message":"bad"}"#)).allowsFallback)
    }
}

// MARK: - Provider

@Suite struct BedrockProviderTests {
    @Test func itIsRegisteredAsBedrockAndStreamsAnEventStream() {
        #expect(AIProviders.named("bedrock")?.name == "bedrock")
        #expect(AIProviders.named("bedrock")?.streamContentType == "amazon.eventstream")
    }

    @Test(arguments: [
        (false, "anthropic.claude-3-5-sonnet-20240620-v1:0", nil, [:],
         "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"),
        (true, "anthropic.claude-3-5-sonnet-20240620-v1:0", nil, ["aws_region": "eu-west-3"],
         "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"),
        (false, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0", nil, [:],
         "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"),
        (true, "amazon.nova-lite-v1:0", "http://localhost:4566/", [:], "http://localhost:4566/model/amazon.nova-lite-v1%3A0/converse-stream"),
        (false, "amazon.nova-lite-v1:0", nil, ["upstream_url": "https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/amazon.nova-lite-v1:0/converse"],
         "https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/amazon.nova-lite-v1:0/converse"),
    ] as [(Bool, String, String?, [String: String], String)])
    func theRequestGoesToTheModelsConverseMethod(stream: Bool, model: String, baseURL: String?, options: [String: String], url: String) throws {
        var request = ChatRequest(model: "my-alias", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stream = stream
        let sent = try BedrockProvider().chatRequest(
            request, deployment: AIDeployment(provider: "bedrock", model: model, baseURL: baseURL, apiKey: "ABSKexample", options: options))
        #expect(sent.method == "POST")
        #expect(sent.url == url)
        // Without an access key, the key is a Bedrock API key.
        #expect(sent.headers.map(\.0) == ["Content-Type", "Authorization"])
        #expect(sent.headers.contains { $0 == ("Authorization", "Bearer ABSKexample") })
        #expect(try JSON.parse(sent.body).text == #"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#)
    }

    @Test func anAccessKeySignsTheRequestAsBotocoreWould() throws {
        let provider = BedrockProvider(now: { 1_735_689_599 })
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stream = true
        let sent = try provider.chatRequest(request, deployment: AIDeployment(
            provider: "bedrock", model: "anthropic.claude-3-5-sonnet-20240620-v1:0", apiKey: "ignored-when-signing",
            options: ["aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                      "aws_session_token": "FQoGZXIvYXdzEXAMPLETOKEN", "aws_region": "eu-west-3"]))
        #expect(sent.url == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream")
        // The signature botocore 1.43.11 gives for this request (see AWSSigV4Tests).
        #expect(sent.headers.map(\.0) == ["Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(sent.headers[1].1 == "20241231T235959Z")
        #expect(sent.headers[2].1 == "FQoGZXIvYXdzEXAMPLETOKEN")
        #expect(sent.headers[3].1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241231/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=8dd431350aa1b90a5d87ec461671c5daefdb86d95d5cecd4d1375718bd7208ff")
    }

    @Test func theDeploymentsTokenLimitIsUsedWhenTheRequestSetsNone() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let deployment = AIDeployment(provider: "bedrock", model: "amazon.nova-lite-v1:0", defaultMaxTokens: 1024)
        #expect(try JSON.parse(BedrockProvider().chatRequest(request, deployment: deployment).body)["inferenceConfig"]?.text == #"{"maxTokens":1024}"#)
        request.maxTokens = 50
        #expect(try JSON.parse(BedrockProvider().chatRequest(request, deployment: deployment).body)["inferenceConfig"]?.text == #"{"maxTokens":50}"#)
    }

    @Test func anAccessKeyWithoutItsSecretIsAConfigurationError() {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let error = #expect(throws: AIError.self) {
            try BedrockProvider().chatRequest(request, deployment: AIDeployment(
                provider: "bedrock", model: "amazon.nova-lite-v1:0", options: ["aws_access_key_id": "AKIDEXAMPLE"]))
        }
        #expect(error?.message.contains("aws_secret_access_key") == true)
    }

    @Test func withoutCredentialsNothingIsSigned() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let sent = try BedrockProvider().chatRequest(request, deployment: AIDeployment(provider: "bedrock", model: "amazon.nova-lite-v1:0"))
        #expect(sent.headers.map(\.0) == ["Content-Type"])
    }

    @Test func aRequestBedrockCannotHonourIsRefusedBeforeSending() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.otherFields = ["logit_bias": ["50256": -100]]
        let error = #expect(throws: AIError.self) {
            try BedrockProvider().chatRequest(request, deployment: AIDeployment(provider: "bedrock", model: "amazon.nova-lite-v1:0"))
        }
        #expect(error?.param == "logit_bias")
    }
}

// MARK: - Embeddings

@Suite struct BedrockEmbeddingsTests {
    /// A deployment of `model` signing with AWS's example key (and a session token) in eu-west-3.
    static func signing(_ model: String, options: [String: String] = [:]) -> AIDeployment {
        AIDeployment(provider: "bedrock", model: model, apiKey: "ignored-when-signing", options: [
            "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "aws_session_token": "FQoGZXIvYXdzEXAMPLETOKEN", "aws_region": "eu-west-3",
        ].merging(options) { $1 })
    }

    @Test func titanEmbedsOneNormalizedTextSignedAsBotocoreWould() throws {
        let provider = BedrockProvider(now: { 1_735_689_599 })
        let request = EmbeddingsRequest(model: "alias", inputs: ["hello there"], encoding: .base64, user: "user-7")
        let sent = try provider.embeddingsRequest(request, deployment: Self.signing("amazon.titan-embed-text-v2:0"))
        #expect(sent.method == "POST")
        #expect(sent.url == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke")
        #expect(String(buffer: sent.body) == #"{"inputText":"hello there","normalize":true}"#)
        #expect(sent.headers.map(\.0) == ["Content-Type", "Accept", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(sent.headers[0].1 == "application/json")
        #expect(sent.headers[1].1 == "application/json")
        #expect(sent.headers[2].1 == "20241231T235959Z")
        #expect(sent.headers[3].1 == "FQoGZXIvYXdzEXAMPLETOKEN")
        // What botocore 1.43.11's SigV4Auth signs for this URL, these headers and this body at this time.
        #expect(sent.headers[4].1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241231/eu-west-3/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=61fd4666265d0b4c023c80fd59217afcf3bf808fdbc163cbf1d46d474c4371b9")
    }

    @Test func theSignedPathIsTheModelsInvokeEncodedTwice() throws {
        let body = ByteBuffer(string: #"{"inputText":"hello there","normalize":true}"#)
        let signed = try AWSSigV4.sign(
            method: "POST", url: "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke",
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: body,
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN"),
            region: "eu-west-3", service: "bedrock", secondsSince1970: 1_735_689_599)
        #expect(signed.canonicalRequest.hasPrefix("POST\n/model/amazon.titan-embed-text-v2%253A0/invoke\n\naccept:application/json\ncontent-type:application/json\nhost:bedrock-runtime.eu-west-3.amazonaws.com\n"))
        #expect(signed.signature == "61fd4666265d0b4c023c80fd59217afcf3bf808fdbc163cbf1d46d474c4371b9")
    }

    @Test func cohereEmbedsSeveralTextsAsDocumentsSignedAsBotocoreWould() throws {
        let provider = BedrockProvider(now: { 1_735_689_599 })
        let deployment = AIDeployment(provider: "bedrock", model: "cohere.embed-english-v3", options: [
            "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ])
        let sent = try provider.embeddingsRequest(EmbeddingsRequest(model: "alias", inputs: ["hello there", "hi"]), deployment: deployment)
        #expect(sent.url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/cohere.embed-english-v3/invoke")
        #expect(String(buffer: sent.body) == #"{"texts":["hello there","hi"],"input_type":"search_document"}"#)
        #expect(sent.headers.map(\.0) == ["Content-Type", "Accept", "X-Amz-Date", "Authorization"])
        #expect(sent.headers[3].1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241231/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=4a0dd7ce75d74dc668fe807c0ffc65359ea4b49cde20ecb83deec01c30ba3abb")
    }

    @Test func theDeploymentChoosesCoheresInputTypeAndAnAPIKeyIsABearerToken() throws {
        let sent = try BedrockProvider().embeddingsRequest(
            EmbeddingsRequest(model: "alias", inputs: ["what is konnect?"]),
            deployment: AIDeployment(provider: "bedrock", model: "cohere.embed-multilingual-v3", baseURL: "http://localhost:4566/",
                                     apiKey: "ABSKexample", options: ["input_type": "search_query"]))
        #expect(sent.url == "http://localhost:4566/model/cohere.embed-multilingual-v3/invoke")
        #expect(sent.headers.map(\.0) == ["Content-Type", "Accept", "Authorization"])
        #expect(sent.headers[2].1 == "Bearer ABSKexample")
        #expect(String(buffer: sent.body) == #"{"texts":["what is konnect?"],"input_type":"search_query"}"#)
    }

    @Test(arguments: [
        ("amazon.titan-embed-text-v2:0", nil,
         "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0", nil,
         "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Famazon.titan-embed-text-v2%3A0/invoke"),
        ("us.cohere.embed-english-v3", nil, "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.cohere.embed-english-v3/invoke"),
        // Kong's upstream_url names the Converse endpoint; embeddings are its model's invoke.
        ("cohere.embed-english-v3", "https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/cohere.embed-english-v3/converse",
         "https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/cohere.embed-english-v3/invoke"),
        ("cohere.embed-english-v3", "https://proxy.internal/model/cohere.embed-english-v3/converse-stream",
         "https://proxy.internal/model/cohere.embed-english-v3/invoke"),
        ("cohere.embed-english-v3", "https://proxy.internal/embed", "https://proxy.internal/embed"),
    ] as [(String, String?, String)])
    func theRequestGoesToTheModelsInvoke(model: String, upstream: String?, url: String) throws {
        let sent = try BedrockProvider().embeddingsRequest(
            EmbeddingsRequest(model: "alias", inputs: ["hello"]),
            deployment: AIDeployment(provider: "bedrock", model: model, options: upstream.map { ["upstream_url": $0] } ?? [:]))
        #expect(sent.url == url)
        #expect(sent.headers.map(\.0) == ["Content-Type", "Accept"])
    }

    @Test(arguments: [256, 512, 1024])
    func titanTakesItsDimensions(dimensions: Int) throws {
        let sent = try BedrockProvider().embeddingsRequest(
            EmbeddingsRequest(model: "alias", inputs: ["hello"], dimensions: dimensions),
            deployment: AIDeployment(provider: "bedrock", model: "amazon.titan-embed-text-v2:0"))
        #expect(String(buffer: sent.body) == #"{"inputText":"hello","dimensions":\#(dimensions),"normalize":true}"#)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var model: String
        var inputs = ["hello"]
        var dimensions: Int?
        var param: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        // One text a call, and an exchange sends one request: several are refused, not split.
        Refusal(label: "several texts for titan", model: "amazon.titan-embed-text-v2:0", inputs: ["hello", "hi"], param: "input"),
        Refusal(label: "titan dimensions it cannot give", model: "amazon.titan-embed-text-v2:0", dimensions: 768, param: "dimensions"),
        Refusal(label: "dimensions for cohere v3", model: "cohere.embed-english-v3", dimensions: 1024, param: "dimensions"),
        Refusal(label: "a chat model", model: "anthropic.claude-3-5-haiku-20241022-v1:0", param: "model"),
        Refusal(label: "titan's first generation", model: "amazon.titan-embed-text-v1", param: "model"),
        Refusal(label: "cohere embed v4", model: "cohere.embed-v4:0", param: "model"),
        Refusal(label: "a provisioned model", model: "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123", param: "model"),
    ]

    @Test(arguments: refusals)
    func whatTheModelCannotHonourIsRefusedNamingTheField(refusal: Refusal) {
        let error = #expect(throws: AIError.self) {
            try BedrockProvider().embeddingsRequest(
                EmbeddingsRequest(model: "alias", inputs: refusal.inputs, dimensions: refusal.dimensions),
                deployment: AIDeployment(provider: "bedrock", model: refusal.model))
        }
        #expect(error?.kind == .invalidRequest)
        #expect(error?.param == refusal.param)
        #expect(error?.message.hasPrefix("\(refusal.param): ") == true)
    }

    @Test func anUnknownCohereInputTypeIsAConfigurationError() {
        let error = #expect(throws: AIError.self) {
            try BedrockProvider().embeddingsRequest(
                EmbeddingsRequest(model: "alias", inputs: ["hello"]),
                deployment: AIDeployment(provider: "bedrock", model: "cohere.embed-english-v3", options: ["input_type": "query"]))
        }
        #expect(error?.status == 500)
        #expect(error?.param == "model.options.input_type")
        #expect(error?.message.contains("bedrock") == true)
    }

    @Test func titansVectorAndTokenCountAreRead() throws {
        let answer = try BedrockProvider().embeddingsResponse(ByteBuffer(string: #"""
        {"embedding": [0.25, -0.5, 3], "inputTextTokenCount": 4, "embeddingsByType": {"float": [0.25, -0.5, 3]}}
        """#))
        #expect(answer == EmbeddingsResponse(model: "", vectors: [[0.25, -0.5, 3]], usage: Usage(inputTokens: 4, outputTokens: 0)))
    }

    @Test(arguments: [
        #"{"embeddings": [[0.25, -0.5], [1, 2]], "id": "6f6b0a5f-2b8c-4b6e-9d3e-2f1c0f1e9a7d", "response_type": "embeddings_floats", "texts": ["hello there", "hi"]}"#,
        #"{"embeddings": {"float": [[0.25, -0.5], [1, 2]]}, "id": "6f6b0a5f", "response_type": "embeddings_by_type", "texts": ["hello there", "hi"]}"#,
    ])
    func coheresVectorsAreReadAndItsUsageIsLeftToEstimate(body: String) throws {
        let answer = try BedrockProvider().embeddingsResponse(ByteBuffer(string: body))
        #expect(answer.vectors == [[0.25, -0.5], [1, 2]])
        // Bedrock counts Cohere's tokens in a response header only.
        #expect(answer.usage == Usage(inputTokens: 0, outputTokens: 0, estimated: true))
    }

    @Test(arguments: [
        ("{}", "The provider's answer has no embeddings"),
        (#"{"embedding": "AAAA", "inputTextTokenCount": 1}"#, "The provider's answer has no vector at embedding"),
        (#"{"embedding": [1, "2"]}"#, "The provider's answer has a string at embedding[1] instead of a number"),
        (#"{"embeddings": [[1], {"x": 2}]}"#, "The provider's answer has no vector at embeddings[1]"),
        (#"{"embeddings": "none"}"#, "The provider's answer has no list of vectors at embeddings"),
        (#"{"embeddings": {"float": [[null]]}}"#, "The provider's answer has a null at embeddings.float[0][0] instead of a number"),
        ("<html>", "The provider's answer is not JSON"),
    ])
    func aMalformedAnswerIsAProviderFailure(body: String, message: String) {
        let error = #expect(throws: AIError.self) { try BedrockProvider().embeddingsResponse(ByteBuffer(string: body)) }
        #expect(error?.kind == .server)
        #expect(error?.message == message)
    }
}

import Foundation
import NIOHTTP1
import Testing

/// The embeddings endpoints of the Gemini, Cohere and Bedrock mocks refuse what the providers
/// refuse, in their shapes: the SDK checks never provoke these (Konnect sends valid requests), so
/// their passing means the providers would have taken Konnect's requests.
@Suite("AI: the embeddings mocks refuse as the providers do")
struct MockEmbeddingsTests {
    /// The status and JSON body of a mock's whole answer, with its headers.
    static func answered(_ answer: MockAnswer) throws -> (status: Int, body: [String: Any], headers: [(String, String)]) {
        guard case .json(let status, let body, let headers) = answer, let object = body as? [String: Any] else {
            throw MockAnswerError(description: "not a JSON answer: \(answer)")
        }
        return (status, object, headers)
    }

    struct MockAnswerError: Error, CustomStringConvertible {
        var description: String
    }

    /// A request body, read as the mock handler reads it (with Foundation).
    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static func head(_ uri: String, _ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers))
    }

    // MARK: Gemini

    static let geminiURI = "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    static let geminiKey = [("x-goog-api-key", MockGemini.key)]

    static func geminiRequest(_ text: String) -> [String: Any] {
        ["model": "models/gemini-embedding-001", "content": ["parts": [["text": text]]]]
    }

    @Test func geminiEmbedsEachRequestInOrderWithoutUsage() throws {
        let body: [String: Any] = ["requests": [Self.geminiRequest("hello there"), Self.geminiRequest("hi")]]
        let answer = try Self.answered(MockGemini.answer(head: Self.head(Self.geminiURI, Self.geminiKey), body: body))
        #expect(answer.status == 200)
        let vectors = (answer.body["embeddings"] as? [[String: Any]])?.map { $0["values"] as? [Double] }
        #expect(vectors == [[2, 11, 0.5], [1, 2, 0.5]])
        #expect(answer.body.keys.sorted() == ["embeddings"])
    }

    static let hi = #"{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hi"}]}}"#

    @Test(arguments: [
        ("an unknown field", #"{"requests":[\#(hi)],"model":"x"}"#, "Unknown name \"model\""),
        ("no requests", "{}", "requests is not specified"),
        ("another model", #"{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"hi"}]}}]}"#, "must be the batch's"),
        ("a string dimensionality", #"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hi"}]},"outputDimensionality":"768"}]}"#,
         "output_dimensionality"),
        ("an unknown task type", #"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hi"}]},"taskType":"SEARCH"}]}"#,
         "task_type"),
        ("a part that is not text", #"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"inlineData":{}}]}}]}"#,
         "only text parts"),
    ])
    func geminiRefusesABadBatch(label: String, body: String, message: String) throws {
        let answer = try Self.answered(MockGemini.answer(head: Self.head(Self.geminiURI, Self.geminiKey), body: Self.object(body)))
        let error = answer.body["error"] as? [String: Any]
        #expect(answer.status == 400, "\(label)")
        #expect(error?["status"] as? String == "INVALID_ARGUMENT")
        #expect((error?["message"] as? String)?.contains(message) == true, "\(label): \(error ?? [:])")
    }

    @Test func geminiWithoutAKeyIsDenied() throws {
        let answer = try Self.answered(MockGemini.answer(head: Self.head(Self.geminiURI, []), body: ["requests": [Self.geminiRequest("hi")]]))
        #expect(answer.status == 403)
        #expect((answer.body["error"] as? [String: Any])?["status"] as? String == "PERMISSION_DENIED")
    }

    // MARK: Cohere

    static let cohereKey = [("Authorization", "Bearer \(MockCohere.key)")]

    @Test func cohereEmbedsWithBilledTokens() throws {
        let body: [String: Any] = ["model": "embed-v4.0", "texts": ["hello there", "hi"], "input_type": "search_document",
                                   "embedding_types": ["float"], "output_dimension": 512]
        let answer = try Self.answered(MockCohere.answer(head: Self.head("/v2/embed", Self.cohereKey), body: body))
        #expect(answer.status == 200)
        #expect((answer.body["embeddings"] as? [String: Any])?["float"] as? [[Double]] == [[2, 11, 0.5], [1, 2, 0.5]])
        #expect(((answer.body["meta"] as? [String: Any])?["billed_units"] as? [String: Int]) == ["input_tokens": 3])
    }

    @Test(arguments: [
        ("no input type", #"{"model":"embed-v4.0","texts":["hi"]}"#, "input_type is required"),
        ("an unknown input type", #"{"model":"embed-v4.0","texts":["hi"],"input_type":"document"}"#, "input_type must be"),
        ("no texts", #"{"model":"embed-v4.0","input_type":"search_query"}"#, "texts"),
        ("a text that is not a string", #"{"model":"embed-v4.0","texts":["hi",3],"input_type":"search_query"}"#, "list of strings"),
        ("dimensions for a v3 model", #"{"model":"embed-english-v3.0","texts":["hi"],"input_type":"search_query","output_dimension":256}"#,
         "embed-v4.0 and newer"),
        ("an unknown embedding type", #"{"model":"embed-v4.0","texts":["hi"],"input_type":"search_query","embedding_types":["half"]}"#,
         "embedding_types"),
    ])
    func cohereRefusesABadRequest(label: String, body: String, message: String) throws {
        let answer = try Self.answered(MockCohere.answer(head: Self.head("/v2/embed", Self.cohereKey), body: Self.object(body)))
        #expect(answer.status == 400, "\(label)")
        #expect((answer.body["message"] as? String)?.contains(message) == true, "\(label): \(answer.body)")
        #expect(answer.body["id"] is String)
    }

    @Test func cohereWithAWrongKeyIsUnauthorized() throws {
        let answer = try Self.answered(MockCohere.answer(head: Self.head("/v2/embed", [("Authorization", "Bearer nope")]),
                                                         body: ["model": "embed-v4.0", "texts": ["hi"], "input_type": "search_query"]))
        #expect(answer.status == 401)
    }

    // MARK: Bedrock

    /// A SigV4 `Authorization` by the mock's access key, dated now (the mock does not recompute signatures).
    static var bedrockSigned: [(String, String)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let date = formatter.string(from: Date())
        return [("X-Amz-Date", date), ("Authorization", "AWS4-HMAC-SHA256 Credential=\(MockBedrock.accessKeyID)/\(date.prefix(8))/\(MockBedrock.region)/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=\(String(repeating: "0f", count: 32))")]
    }

    static let titan = "/model/amazon.titan-embed-text-v2%3A0/invoke"
    static let cohere = "/model/cohere.embed-english-v3/invoke"

    @Test func titanEmbedsOneTextWithItsTokenCount() throws {
        let answer = try Self.answered(MockBedrock.answer(head: Self.head(Self.titan, Self.bedrockSigned),
                                                          body: ["inputText": "hello there", "dimensions": 256, "normalize": true]))
        #expect(answer.status == 200)
        #expect(answer.body["embedding"] as? [Double] == [2, 11, 0.5])
        #expect(answer.body["inputTextTokenCount"] as? Int == 2)
        #expect(answer.headers.contains { $0 == ("x-amzn-bedrock-input-token-count", "2") })
    }

    @Test func cohereOnBedrockEmbedsSeveralTexts() throws {
        let answer = try Self.answered(MockBedrock.answer(head: Self.head(Self.cohere, Self.bedrockSigned),
                                                          body: ["texts": ["hello there", "hi"], "input_type": "search_document"]))
        #expect(answer.status == 200)
        #expect(answer.body["embeddings"] as? [[Double]] == [[2, 11, 0.5], [1, 2, 0.5]])
        #expect(answer.body["response_type"] as? String == "embeddings_floats")
        #expect(answer.headers.contains { $0 == ("x-amzn-bedrock-input-token-count", "3") })
    }

    @Test(arguments: [
        (titan, #"{"inputText":"hi","texts":["hi"]}"#, "#: extraneous key [texts] is not permitted"),
        (titan, #"{"normalize":true}"#, "#: required key [inputText] not found"),
        (titan, #"{"inputText":["hi"]}"#, "#/inputText: expected type: String, found: JSONArray"),
        (titan, #"{"inputText":"hi","dimensions":768}"#, "#/dimensions: 768 is not a valid enum value"),
        (titan, #"{"inputText":"hi","normalize":"yes"}"#, "#/normalize: expected type: Boolean, found: String"),
        (cohere, #"{"texts":["hi"]}"#, "#: required key [input_type] not found"),
        (cohere, #"{"texts":["hi"],"input_type":"search_document","dimensions":256}"#, "#: extraneous key [dimensions] is not permitted"),
        (cohere, #"{"texts":"hi","input_type":"search_document"}"#, "#/texts: expected type: JSONArray, found: String"),
    ])
    func bedrockRefusesAMalformedInput(uri: String, body: String, problem: String) throws {
        let answer = try Self.answered(MockBedrock.answer(head: Self.head(uri, Self.bedrockSigned), body: Self.object(body)))
        #expect(answer.status == 400)
        #expect(answer.headers.first { $0.0 == "x-amzn-errortype" }?.1.hasPrefix("ValidationException:") == true)
        #expect(answer.body["message"] as? String == "Malformed input request: \(problem), please reformat your input and try again.")
    }

    @Test func bedrockWithoutASignatureIsDenied() throws {
        let answer = try Self.answered(MockBedrock.answer(head: Self.head(Self.titan, []), body: ["inputText": "hi"]))
        #expect(answer.status == 403)
        #expect(answer.headers.first { $0.0 == "x-amzn-errortype" }?.1.hasPrefix("MissingAuthenticationTokenException") == true)
    }
}

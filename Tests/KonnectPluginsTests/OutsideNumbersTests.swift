import Testing

@testable import KonnectAI
@testable import KonnectPlugins

/// Numbers that come from outside (a provider's headers, a price table times a provider's token
/// counts) are read and written without ever trapping, whatever their size.
@Suite("Numbers from outside")
struct OutsideNumbersTests {
    @Test(arguments: [
        ("retry-after", "7", 7.0), ("retry-after-ms", "1500", 1.5), ("retry-after", "1e300", 86_400),
        ("retry-after", "nan", nil), ("retry-after", "inf", nil), ("retry-after", "-5", nil),
        ("retry-after-ms", "nan", nil), ("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT", nil),
    ] as [(String, String, Double?)])
    func aProvidersWaitIsOneOrNone(header: String, value: String, seconds: Double?) {
        #expect(RetryAfter.seconds(in: [(header, value)]) == seconds)
    }

    @Test func geminisRetryDelayIsOneOrNone() throws {
        func delay(_ text: String) throws -> Double? {
            GeminiGenerate.retryDelay(in: [try JSON.parse(#"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"\#(text)"}"#)])
        }
        #expect(try delay("12s") == 12)
        #expect(try delay("nans") == nil)
        #expect(try delay("-3s") == nil)
        #expect(try delay("1e300s") == 86_400)
    }

    /// A provider's token counts: negative ones are none, huge ones at most 2^40, so that
    /// the totals made of them cannot overflow; and the totals stop at the largest integer.
    @Test func tokenCountsAreBoundedAndTheirTotalsSaturate() throws {
        let answer = try JSON.parse(#"""
            {"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
             "message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":5e18,"completion_tokens":5e18,"prompt_tokens_details":{"cached_tokens":-9e18}}}
            """#)
        let usage = try #require(try OpenAIChat.response(from: answer).usage)
        #expect(usage.inputTokens == 1 << 40 && usage.outputTokens == 1 << 40 && usage.cachedInputTokens == 0)
        #expect(usage.totalTokens == 1 << 41)
        var totals = AIUsageTotals(usage, cost: nil)
        var huge = AIUsageTotals()
        huge.inputTokens = Int.max - 1
        totals.add(huge)
        #expect(totals.inputTokens == Int.max)
        #expect(totals.outputTokens == 1 << 40)
    }

    @Test(arguments: [(0.0000069, "0.0000069"), (2.5, "2.5"), (3, "3"), (1e12, "1000000000000.0"), (1e300, "1e+300")])
    func costsAreWrittenWhateverTheirSize(amount: Double, text: String) {
        #expect(AIExchange.dollars(amount) == text)
    }
}

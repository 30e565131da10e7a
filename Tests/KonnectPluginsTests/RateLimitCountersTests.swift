import Foundation
@testable import KonnectPlugins
import Testing

/// The local rate-limiting counters, with the clock given: windows, sliding weights, refusals
/// that count for nothing, and exactness under concurrent use.
@Suite("Rate-limiting counters")
struct RateLimitCountersTests {
    static let k = RateKey(route: "r", service: nil, identifier: "k")
    /// 2026-03-10 12:00:00 UTC.
    static let noon = 1_773_144_000.0

    static func limits(_ pairs: (RateWindow, Double)...) -> [RateLimit] {
        pairs.map { RateLimit(window: $0.0, count: $0.1) }
    }

    @Test func aFixedWindowAllowsItsLimitThenRefusesUntilTheNextPeriod() {
        let counters = LocalRateCounters()
        let limits = Self.limits((.minute, 3))
        let remaining = (0..<3).map { counters.take(Self.k, limits: limits, now: Self.noon + Double($0), sliding: false).remaining(0) }
        #expect(remaining == [2, 1, 0])
        let refused = counters.take(Self.k, limits: limits, now: Self.noon + 59, sliding: false)
        #expect(refused.refusedBy == 0)
        #expect(refused.windows[0].reset == Int64(Self.noon) + 60)
        // Another key has its own count; the next minute starts afresh.
        #expect(counters.take(RateKey(route: "r", service: nil, identifier: "other"), limits: limits, now: Self.noon + 5, sliding: false).refusedBy == nil)
        #expect(counters.take(Self.k, limits: limits, now: Self.noon + 60, sliding: false).refusedBy == nil)
    }

    @Test func aRefusedRequestUsesNoQuotaOfALongerWindow() {
        let counters = LocalRateCounters()
        let limits = Self.limits((.second, 1), (.hour, 10))
        for second in 0..<5 {
            // Two requests a second: the second of each is refused by the per-second limit.
            #expect(counters.take(Self.k, limits: limits, now: Self.noon + Double(second), sliding: false).refusedBy == nil)
            #expect(counters.take(Self.k, limits: limits, now: Self.noon + Double(second) + 0.5, sliding: false).refusedBy == 0)
        }
        let usage = counters.take(Self.k, limits: limits, now: Self.noon + 10, sliding: false)
        #expect(usage.windows[1].used == 5)
    }

    @Test func aSlidingWindowWeighsInThePreviousPeriod() {
        let counters = LocalRateCounters()
        let limits = Self.limits((.minute, 10))
        for _ in 0..<10 { #expect(counters.take(Self.k, limits: limits, now: Self.noon + 30, sliding: true).refusedBy == nil) }
        // 15 s into the next minute, three quarters of the previous minute's 10 still count.
        let early = counters.take(Self.k, limits: limits, now: Self.noon + 75, sliding: true)
        #expect(early.windows[0].used == 7.5)
        #expect(early.refusedBy == nil)
        #expect(counters.take(Self.k, limits: limits, now: Self.noon + 75, sliding: true).refusedBy == nil)  // 8.5 + 1 ≤ 10
        #expect(counters.take(Self.k, limits: limits, now: Self.noon + 75, sliding: true).refusedBy == 0)  // 9.5 + 1 > 10
        // A fixed window would have allowed all ten again at once.
        let fixed = LocalRateCounters()
        for _ in 0..<10 { _ = fixed.take(Self.k, limits: limits, now: Self.noon + 30, sliding: false) }
        #expect((0..<10).allSatisfy { _ in fixed.take(Self.k, limits: limits, now: Self.noon + 75, sliding: false).refusedBy == nil })
        // Two periods later nothing of it is left.
        #expect(counters.take(Self.k, limits: limits, now: Self.noon + 185, sliding: true).windows[0].used == 0)
    }

    @Test(arguments: [
        // (moment, window, start, end) in UTC.
        ("2026-03-10T12:34:56Z", RateWindow.day, "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z"),
        ("2026-02-15T08:00:00Z", .month, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-12-31T23:59:59Z", .month, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2028-02-29T10:00:00Z", .year, "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"),
        ("2026-03-10T12:34:56Z", .hour, "2026-03-10T12:00:00Z", "2026-03-10T13:00:00Z"),
    ])
    func windowsAreCalendarPeriods(moment: String, window: RateWindow, start: String, end: String) throws {
        let parse = ISO8601DateFormatter()
        let now = try #require(parse.date(from: moment)).timeIntervalSince1970
        let period = window.period(containing: now)
        #expect(period.start == Int64(try #require(parse.date(from: start)).timeIntervalSince1970))
        #expect(period.end == Int64(try #require(parse.date(from: end)).timeIntervalSince1970))
    }

    @Test func concurrentRequestsNeverShareTheLastSlot() async {
        let counters = LocalRateCounters()
        let limits = Self.limits((.hour, 1000))
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<500).reduce(0) { count, _ in
                        count + (counters.take(Self.k, limits: limits, now: Self.noon, sliding: false).refusedBy == nil ? 1 : 0)
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 1000)
    }

    @Test func inFlightSlotsAreTakenAndGivenBack() {
        let counters = LocalRateCounters()
        #expect(counters.enter(Self.k, limit: 2))
        #expect(counters.enter(Self.k, limit: 2))
        #expect(!counters.enter(Self.k, limit: 2))
        counters.leave(Self.k)
        #expect(counters.enter(Self.k, limit: 2))
    }
}

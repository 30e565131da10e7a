import NIOCore
import Testing

@testable import KonnectProxy

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
private let a1 = DNSAddress(10, 0, 0, 1)
private let a2 = DNSAddress(10, 0, 0, 2)
private let a3 = DNSAddress(10, 0, 0, 3)

private func key(_ name: String, _ type: DNSRecordType = .a) -> DNSCacheKey {
    DNSCacheKey(name: name, type: type)
}

@Suite("DNS cache")
struct DNSCacheTests {
    @Test func answerLivesExactlyItsTTL() {
        var cache = DNSCache()
        cache.store(.addresses([a1], ttl: 10), for: key("api.test"), now: t0)
        #expect(cache.lookup(key("api.test"), now: t0 + .milliseconds(9_999)) == .addresses([a1]))
        #expect(cache.lookup(key("api.test"), now: t0 + .seconds(10)) == nil)
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(10)) == .query(key("api.test")))
    }

    @Test func ttlZeroIsRaisedToTheMinimum() {
        var cache = DNSCache()
        cache.store(.addresses([a1], ttl: 0), for: key("zero.test"), now: t0)
        #expect(cache.lookup(key("zero.test"), now: t0 + .milliseconds(999)) == .addresses([a1]))
        #expect(cache.lookup(key("zero.test"), now: t0 + .seconds(1)) == nil)
    }

    @Test func namesThatDoNotExistAreRememberedForTheNotFoundTTL() {
        var cache = DNSCache()
        cache.store(.nameError, for: key("gone.test"), now: t0)
        #expect(cache.step(candidates: ["gone.test"], now: t0 + .seconds(29)) == .failed(.notFound(["gone.test"])))
        #expect(cache.step(candidates: ["gone.test"], now: t0 + .seconds(30)) == .query(key("gone.test")))
    }

    @Test func failuresAreRememberedForTheErrorTTL() {
        var cache = DNSCache()
        cache.store(.failure("no answer"), for: key("flaky.test"), now: t0)
        #expect(cache.step(candidates: ["flaky.test"], now: t0 + .milliseconds(500))
            == .failed(.error("flaky.test A: no answer")))
        #expect(cache.step(candidates: ["flaky.test"], now: t0 + .seconds(1)) == .query(key("flaky.test")))
    }

    @Test func policyTTLsApply() {
        var cache = DNSCache(policy: DNSCachePolicy(notFoundTTL: .seconds(5), errorTTL: .seconds(3)))
        cache.store(.noData, for: key("a.test"), now: t0)
        cache.store(.failure("x"), for: key("b.test"), now: t0)
        #expect(cache.lookup(key("a.test"), now: t0 + .seconds(5)) == nil)
        #expect(cache.lookup(key("b.test"), now: t0 + .seconds(2)) == .failure("x"))
        #expect(cache.lookup(key("b.test"), now: t0 + .seconds(3)) == nil)
    }

    @Test func addressesRotateAcrossLookups() {
        var cache = DNSCache()
        cache.store(.addresses([a1, a2, a3], ttl: 60), for: key("rr.test"), now: t0)
        let picks = (0..<4).map { _ in cache.step(candidates: ["rr.test"], now: t0) }
        #expect(picks == [.address(a1), .address(a2), .address(a3), .address(a1)])
    }

    @Test func refreshedAnswerKeepsRotating() {
        var cache = DNSCache()
        cache.store(.addresses([a1, a2], ttl: 1), for: key("rr.test"), now: t0)
        #expect(cache.step(candidates: ["rr.test"], now: t0) == .address(a1))
        cache.store(.addresses([a1, a2], ttl: 1), for: key("rr.test"), now: t0 + .seconds(1))
        #expect(cache.step(candidates: ["rr.test"], now: t0 + .seconds(1)) == .address(a2))
    }

    @Test func aaaaIsAskedOnlyWhenThereAreNoARecords() throws {
        var cache = DNSCache()
        #expect(cache.step(candidates: ["six.test"], now: t0) == .query(key("six.test")))
        cache.store(.noData, for: key("six.test"), now: t0)
        #expect(cache.step(candidates: ["six.test"], now: t0) == .query(key("six.test", .aaaa)))
        let v6 = try #require(DNSAddress("2001:db8::1"))
        cache.store(.addresses([v6], ttl: 60), for: key("six.test", .aaaa), now: t0)
        #expect(cache.step(candidates: ["six.test"], now: t0) == .address(v6))
    }

    @Test func nameErrorSkipsAAAAAndMovesToTheNextCandidate() {
        var cache = DNSCache()
        cache.store(.nameError, for: key("api.corp.test"), now: t0)
        #expect(cache.step(candidates: ["api.corp.test", "api"], now: t0) == .query(key("api")))
        cache.store(.addresses([a1], ttl: 60), for: key("api"), now: t0)
        #expect(cache.step(candidates: ["api.corp.test", "api"], now: t0) == .address(a1))
    }

    @Test func aliasesAreFollowed() {
        var cache = DNSCache()
        cache.store(.alias("edge.cdn.test", ttl: 60), for: key("www.test"), now: t0)
        #expect(cache.step(candidates: ["www.test"], now: t0) == .query(key("edge.cdn.test")))
        cache.store(.addresses([a2], ttl: 60), for: key("edge.cdn.test"), now: t0)
        #expect(cache.step(candidates: ["www.test"], now: t0) == .address(a2))
    }

    @Test func aliasLoopFails() {
        var cache = DNSCache()
        cache.store(.alias("b.test", ttl: 60), for: key("a.test"), now: t0)
        cache.store(.alias("a.test", ttl: 60), for: key("b.test"), now: t0)
        guard case .failed(.error(let reason)) = cache.step(candidates: ["a.test"], now: t0) else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("CNAME"))
    }

    @Test func failureOfOneCandidateIsReportedWhenNoneResolves() {
        var cache = DNSCache()
        cache.store(.failure("SERVFAIL"), for: key("api.corp.test"), now: t0)
        cache.store(.nameError, for: key("api"), now: t0)
        #expect(cache.step(candidates: ["api.corp.test", "api"], now: t0) == .failed(.error("api.corp.test A: SERVFAIL")))
    }

    @Test func expiredAddressesStandInWhenTheRefreshFails() {
        var cache = DNSCache(policy: DNSCachePolicy(errorTTL: .seconds(1), staleTTL: .seconds(60)))
        cache.store(.addresses([a1], ttl: 10), for: key("api.test"), now: t0)
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(10)) == .query(key("api.test")))
        cache.store(.failure("timeout"), for: key("api.test"), now: t0 + .seconds(10))
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(10)) == .address(a1))
        // After the error TTL the name is asked for again.
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(11)) == .query(key("api.test")))
        // Past the stale limit a failure is reported.
        cache.store(.failure("timeout"), for: key("api.test"), now: t0 + .seconds(70))
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(70)) == .failed(.error("api.test A: timeout")))
    }

    @Test func notFoundReplacesStaleAddresses() {
        var cache = DNSCache()
        cache.store(.addresses([a1], ttl: 10), for: key("api.test"), now: t0)
        cache.store(.nameError, for: key("api.test"), now: t0 + .seconds(10))
        #expect(cache.step(candidates: ["api.test"], now: t0 + .seconds(10)) == .failed(.notFound(["api.test"])))
    }

    @Test func removeExpiredKeepsOnlyUsableEntries() {
        var cache = DNSCache(policy: DNSCachePolicy(staleTTL: .seconds(5)))
        cache.store(.addresses([a1], ttl: 10), for: key("keep.test"), now: t0)
        cache.store(.addresses([a1], ttl: 1), for: key("stale.test"), now: t0)
        cache.store(.failure("x"), for: key("drop.test"), now: t0)
        cache.removeExpired(now: t0 + .seconds(3))
        #expect(cache.count == 2)
        cache.removeExpired(now: t0 + .seconds(6))
        #expect(cache.count == 1)
    }
}

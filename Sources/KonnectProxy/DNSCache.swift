import NIOCore

/// How long answers are kept, by kind.
struct DNSCachePolicy: Sendable {
    /// Floor for record TTLs, so that TTL 0 does not send a query per request.
    var minimumTTL: TimeAmount = .seconds(1)
    /// NXDOMAIN and "no records of this type", as Kong's `dns_not_found_ttl`.
    var notFoundTTL: TimeAmount = .seconds(30)
    /// Failed lookups (timeout, SERVFAIL), as Kong's `dns_error_ttl`.
    var errorTTL: TimeAmount = .seconds(1)
    /// How long past its TTL an answer may still be used when refreshing it fails, as Kong's `dns_stale_ttl`.
    var staleTTL: TimeAmount = .seconds(3600)
}

/// Identifies one cached answer: a name and a record type.
struct DNSCacheKey: Hashable, Sendable, CustomStringConvertible {
    let name: String
    let type: DNSRecordType

    var description: String { "\(name) \(type)" }
}

/// Why a host name has no address.
enum DNSLookupFailure: Equatable, Sendable, CustomStringConvertible {
    /// Every name tried does not exist or has no A/AAAA records.
    case notFound([String])
    /// A lookup failed (and nothing else answered); the reason says how.
    case error(String)

    var description: String {
        switch self {
        case .notFound(let names):
            names.count == 1 ? "no such name or no A/AAAA records" : "no A/AAAA records for any of \(names.joined(separator: ", "))"
        case .error(let reason): reason
        }
    }
}

/// What a host name lookup needs next, given what the cache holds.
enum DNSLookupStep: Equatable, Sendable {
    case address(DNSAddress)
    case query(DNSCacheKey)
    case failed(DNSLookupFailure)
}

/// DNS answers by name and type, each with an absolute expiry computed from its TTL.
///
/// Pure state: the caller passes the current time, so it is tested with a manual clock.
/// Several addresses under one key are handed out in turn (round-robin).
struct DNSCache {
    enum Entry: Equatable {
        case addresses([DNSAddress])
        case alias(String)
        case noData
        case nameError
        case failure(String)

        var isPositive: Bool {
            switch self {
            case .addresses, .alias: true
            default: false
            }
        }
    }

    private struct Slot {
        var entry: Entry
        var expires: NIODeadline
        /// Until when a positive entry may stand in for a failed refresh.
        var staleUntil: NIODeadline
        var next = 0
    }

    let policy: DNSCachePolicy
    private var slots: [DNSCacheKey: Slot] = [:]
    private var sweepAt = 256

    init(policy: DNSCachePolicy = DNSCachePolicy()) {
        self.policy = policy
    }

    var count: Int { slots.count }

    /// Records what a query answered for `key`.
    ///
    /// A failure does not replace addresses that expired less than `staleTTL` ago: those are
    /// used again for `errorTTL`, then the name is asked for again.
    mutating func store(_ answer: DNSAnswer, for key: DNSCacheKey, now: NIODeadline) {
        let entry: Entry
        let lifetime: TimeAmount
        switch answer {
        case .addresses(let addresses, let ttl):
            entry = addresses.isEmpty ? .noData : .addresses(addresses)
            lifetime = addresses.isEmpty ? policy.notFoundTTL : recordLifetime(ttl)
        case .alias(let target, let ttl):
            entry = .alias(DNSMessage.canonicalName(target))
            lifetime = recordLifetime(ttl)
        case .noData:
            entry = .noData
            lifetime = policy.notFoundTTL
        case .nameError:
            entry = .nameError
            lifetime = policy.notFoundTTL
        case .truncated:
            entry = .failure("the DNS answer was truncated")
            lifetime = policy.errorTTL
        case .failure(let reason):
            entry = .failure(reason)
            lifetime = policy.errorTTL
        }
        let expires = now + lifetime
        if case .failure = entry, var slot = slots[key], slot.entry.isPositive, now < slot.staleUntil {
            slot.expires = min(expires, slot.staleUntil)
            slots[key] = slot
            return
        }
        let staleUntil = entry.isPositive ? expires + policy.staleTTL : expires
        slots[key] = Slot(entry: entry, expires: expires, staleUntil: staleUntil, next: slots[key]?.next ?? 0)
        if slots.count >= sweepAt { removeExpired(now: now) }
    }

    /// The live entry for `key`, `nil` when missing or expired. Addresses rotate: each call
    /// that returns `.addresses` puts the next address first.
    mutating func lookup(_ key: DNSCacheKey, now: NIODeadline) -> Entry? {
        guard var slot = slots[key], slot.expires > now else { return nil }
        guard case .addresses(let addresses) = slot.entry, addresses.count > 1 else { return slot.entry }
        let first = slot.next % addresses.count
        slot.next = first + 1
        slots[key] = slot
        return .addresses(Array(addresses[first...] + addresses[..<first]))
    }

    /// The next step of resolving a host name through the candidate names of a search list:
    /// for each name, A records, then AAAA when the name has no A records, following aliases.
    /// Returns an address, the query whose answer is missing, or why nothing resolves.
    mutating func step(candidates: [String], now: NIODeadline) -> DNSLookupStep {
        var firstError: String?
        for candidate in candidates {
            types: for type in [DNSRecordType.a, .aaaa] {
                var name = candidate
                for _ in 0..<9 {
                    let key = DNSCacheKey(name: name, type: type)
                    switch lookup(key, now: now) {
                    case nil:
                        return .query(key)
                    case .addresses(let addresses):
                        return .address(addresses[0])
                    case .alias(let target):
                        name = target
                        continue
                    case .noData:
                        continue types
                    case .nameError:
                        break types
                    case .failure(let reason):
                        if firstError == nil { firstError = "\(key): \(reason)" }
                        break types
                    }
                }
                if firstError == nil { firstError = "\(candidate) \(type): more than 8 CNAME records in a row" }
                break types
            }
        }
        if let firstError { return .failed(.error(firstError)) }
        return .failed(.notFound(candidates))
    }

    /// Forgets entries that can no longer be used, not even as stale stand-ins.
    mutating func removeExpired(now: NIODeadline) {
        slots = slots.filter { $0.value.staleUntil > now || $0.value.expires > now }
        sweepAt = max(256, slots.count * 2)
    }

    private func recordLifetime(_ ttl: UInt32) -> TimeAmount {
        max(.seconds(Int64(ttl)), policy.minimumTTL)
    }
}

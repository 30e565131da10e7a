import Crypto
import Foundation
import KonnectConfig
import NIOConcurrencyHelpers
import NIOCore

/// Identifies the consumer by a username and password (`Authorization: Basic …`, Kong's
/// basic-auth). Passwords are stored as slow salted hashes, so checking one takes about 0.1 s of
/// CPU: that happens on `PasswordChecks`' thread, never on the event loop, while the request
/// waits; a password that checked out is remembered, so a client's later requests cost a hash
/// lookup only.
final class BasicAuthPlugin: ProxyPlugin {
    let name = "basic-auth"
    var phases: PluginPhases { .access }
    let hideCredentials: Bool
    /// The anonymous consumer, or 401 with the scheme's challenge.
    let failure: AuthenticationFailure
    let credentials: CredentialIndex

    init(config: JSONValue, credentials: CredentialIndex) throws(PluginConfigProblem) {
        hideCredentials = config.flag("hide_credentials")
        self.credentials = credentials
        failure = AuthenticationFailure(challenge: "Basic realm=\"\(config.text("realm") ?? "service")\"",
                                        anonymous: try config.anonymousIdentity(credentials))
    }

    func access(_ context: PluginContext) -> AccessResult {
        if context.isAuthenticated { return .proceed }
        var header = context.head.value(named: "authorization")
        var headerName = "authorization"
        if header == .none {
            header = context.head.value(named: "proxy-authorization")
            headerName = "proxy-authorization"
        }
        let value: String
        switch header {
        case .none: return failure.answer("Unauthorized", context)
        case .many: return failure.answer("Duplicate authorization header", context)
        case .one(let text): value = text
        }
        guard let (username, password) = Self.decode(value) else {
            return failure.answer("Invalid authentication credentials", context)
        }
        if hideCredentials { context.removeHeader(headerName) }
        let found = credentials.basicAuth(username)
        if let found, PasswordChecks.shared.isRemembered(password, hash: found.passwordHash) {
            context.identify(found.identity)
            return .proceed
        }
        // An unknown username is checked against a stand-in hash, so that the answer takes as
        // long as for a wrong password and says nothing about which usernames exist.
        let pending = PendingAccess()
        let loop = context.eventLoop
        let bound = NIOLoopBound((context, self), eventLoop: loop)
        let accepted = PasswordChecks.shared.check(password, hash: found?.passwordHash ?? PasswordChecks.standIn) { valid in
            loop.execute {
                let (context, plugin) = bound.value
                if valid, let found {
                    context.identify(found.identity)
                    pending.complete(.proceed)
                } else {
                    pending.complete(plugin.failure.answer("Invalid authentication credentials", context))
                }
            }
        }
        guard accepted else {
            return .respond(status: 503, message: "Too many password checks in progress; try again shortly",
                            headers: [.init("Retry-After", "1")])
        }
        return .wait(pending)
    }

    /// The username and password of a `Basic` authorization value.
    static func decode(_ value: String) -> (String, String)? {
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1].trimmingCharacters(in: .whitespaces))),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":"), colon != text.startIndex
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

}

/// Checks passwords against their stored hashes off the event loops, one at a time (a check is
/// pure CPU; the event loops must keep the rest), with a bounded queue; and remembers the
/// passwords that checked out.
final class PasswordChecks: Sendable {
    static let shared = PasswordChecks()
    /// Checks waiting or running beyond which new ones are refused (503) rather than queued.
    static let queueLimit = 64
    /// Hash an unknown username's password is checked against (its password is unguessable).
    static let standIn = PasswordHash.make(UUID().uuidString)

    private let queue = DispatchQueue(label: "konnect.password-checks")
    private let waiting = NIOLockedValueBox(0)
    /// SHA-256 of (stored hash, password) for passwords that checked out. Keyed by the stored
    /// hash too, so a changed password forgets the old one.
    private let remembered = NIOLockedValueBox(Set<SHA256Digest>())
    private static let rememberedLimit = 10_000

    /// Whether `password` is remembered as matching `hash`.
    func isRemembered(_ password: String, hash: String) -> Bool {
        let key = Self.key(password, hash)
        return remembered.withLockedValue { $0.contains(key) }
    }

    /// Checks `password` against `hash` on the checking thread and calls `done` there; false
    /// (and no call) when too many checks are waiting.
    func check(_ password: String, hash: String, done: @escaping @Sendable (Bool) -> Void) -> Bool {
        let admitted = waiting.withLockedValue { count in
            guard count < Self.queueLimit else { return false }
            count += 1
            return true
        }
        guard admitted else { return false }
        queue.async { [self] in
            let valid = PasswordHash.verify(password, against: hash)
            if valid {
                let key = Self.key(password, hash)
                remembered.withLockedValue { set in
                    if set.count >= Self.rememberedLimit { set.removeAll() }
                    set.insert(key)
                }
            }
            waiting.withLockedValue { $0 -= 1 }
            done(valid)
        }
        return true
    }

    private static func key(_ password: String, _ hash: String) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(data: Array(hash.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(password.utf8))
        return hasher.finalize()
    }
}

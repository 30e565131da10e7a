import Crypto
import KonnectConfig

/// A configuration's consumers and credentials, indexed for lookups on the request path. Built
/// once per configuration snapshot.
public struct CredentialIndex: Sendable {
    private let consumersByID: [String: Consumer]
    private let consumersByUsername: [String: Consumer]
    /// Key-auth credentials by the SHA-256 of their key: a lookup's timing says nothing about the
    /// keys themselves, and the key is then compared in constant time.
    private let keysByDigest: [SHA256Digest: KeyAuthCredential]
    private let groupsByConsumer: [String: [String]]

    public init(_ configuration: Configuration) {
        consumersByID = Dictionary(configuration.consumers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        consumersByUsername = Dictionary(
            configuration.consumers.compactMap { consumer in consumer.username.map { ($0, consumer) } },
            uniquingKeysWith: { first, _ in first })
        keysByDigest = Dictionary(configuration.keyAuthCredentials.map { (SHA256.hash(data: Array($0.key.utf8)), $0) },
                                  uniquingKeysWith: { first, _ in first })
        var groups: [String: [String]] = [:]
        for acl in configuration.acls { groups[acl.consumerID, default: []].append(acl.group) }
        groupsByConsumer = groups
    }

    /// The consumer with this id, or else this username (how a plugin's `anonymous` names one).
    public func consumer(_ idOrUsername: String) -> Consumer? {
        consumersByID[idOrUsername.lowercased()] ?? consumersByUsername[idOrUsername]
    }

    /// The key-auth credential whose key is `key`, and its consumer.
    public func keyAuth(_ key: String) -> (credential: KeyAuthCredential, consumer: Consumer)? {
        let bytes = Array(key.utf8)
        guard let credential = keysByDigest[SHA256.hash(data: bytes)],
              Self.constantTimeEquals(Array(credential.key.utf8), bytes),
              let consumer = consumersByID[credential.consumerID]
        else { return nil }
        return (credential, consumer)
    }

    /// The ACL groups of a consumer.
    public func groups(of consumerID: String) -> [String] {
        groupsByConsumer[consumerID] ?? []
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

import Foundation
import KonnectConfig

/// A consumer as identified by a credential, with the header lines that tell the upstream who it
/// is (made once per snapshot, not per request; an object, so passing one costs one retain).
public final class Identity: Sendable {
    public let consumer: Consumer
    /// The id of the credential that identified the consumer (nil for the anonymous consumer).
    public let credentialID: String?
    public let isAnonymous: Bool
    /// Kong's identity headers for the upstream, as `Name: value\r\n` lines. A value with
    /// control characters (a username could hold one) is left out rather than let it split the head.
    public let headerLines: String
    /// The consumer's ACL groups (for acl), found once rather than per request.
    public let groups: CredentialIndex.ConsumerGroups?
    /// The ids of the consumer groups the consumer is in, in the order of the groups' names
    /// (plugins scoped to a group apply from the first that has one).
    public let consumerGroupIDs: [String]
    /// The consumer group the consumer counts in (rate-limiting's `limit_by: consumer-group`):
    /// the first by name when it is in several.
    public var consumerGroupID: String? { consumerGroupIDs.first }

    public init(consumer: Consumer, credentialID: String?, anonymous: Bool = false, groups: CredentialIndex.ConsumerGroups? = nil,
                consumerGroupIDs: [String] = []) {
        self.consumer = consumer
        self.groups = groups
        self.consumerGroupIDs = consumerGroupIDs
        self.credentialID = credentialID
        isAnonymous = anonymous
        var headers: [AccessResult.Header] = [.init("X-Consumer-ID", consumer.id)]
        if let username = consumer.username { headers.append(.init("X-Consumer-Username", username)) }
        if let customID = consumer.customID { headers.append(.init("X-Consumer-Custom-ID", customID)) }
        if let credentialID { headers.append(.init("X-Credential-Identifier", credentialID)) }
        if anonymous { headers.append(.init("X-Anonymous-Consumer", "true")) }
        headerLines = headers.filter { AccessResult.Header.isSafe($0.value) }.map(\.line).joined()
    }
}

/// A configuration's consumers and credentials, indexed for lookups on the request path. Built
/// once per configuration snapshot.
public struct CredentialIndex: Sendable {
    private let consumersByID: [String: Consumer]
    private let consumersByUsername: [String: Consumer]
    /// Key-auth credentials by key. The dictionary's hashing is seeded per process, so which
    /// stored keys a given key is compared with cannot be steered from outside.
    private let keys: [String: Identity]
    private let groupsByConsumer: [String: ConsumerGroups]
    /// Each consumer's consumer groups, in the order of their names (`Identity.consumerGroupIDs`).
    private let consumerGroupsByConsumer: [String: [String]]
    /// JWT credentials by key (the `iss`, or the plugin's key claim): their verification key and
    /// who they identify.
    private let jwt: [String: JWTCredential]
    /// Basic-auth credentials by username: the stored password hash and who it identifies.
    private let basicAuth: [String: (passwordHash: String, identity: Identity)]

    /// A consumer's ACL groups, and the `X-Consumer-Groups` line they make.
    public final class ConsumerGroups: Sendable {
        public let names: [String]
        public let headerLine: String?

        init(names: [String]) {
            self.names = names
            let header = AccessResult.Header("X-Consumer-Groups", names.joined(separator: ", "))
            headerLine = AccessResult.Header.isSafe(header.value) ? header.line : nil
        }
    }

    public init(_ configuration: Configuration) {
        var names: [String: [String]] = [:]
        for acl in configuration.acls { names[acl.consumerID, default: []].append(acl.group) }
        let groups = names.mapValues(ConsumerGroups.init)
        groupsByConsumer = groups
        let groupNames = Dictionary(configuration.consumerGroups.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        var memberOf: [String: [(name: String, id: String)]] = [:]
        for membership in configuration.consumerGroupConsumers {
            guard let name = groupNames[membership.groupID] else { continue }
            memberOf[membership.consumerID, default: []].append((name, membership.groupID))
        }
        let consumerGroups = memberOf.mapValues { $0.sorted { $0.name < $1.name }.map(\.id) }
        consumerGroupsByConsumer = consumerGroups
        let identity = { (consumer: Consumer, credentialID: String) in
            Identity(consumer: consumer, credentialID: credentialID, groups: groups[consumer.id],
                     consumerGroupIDs: consumerGroups[consumer.id] ?? [])
        }
        consumersByID = Dictionary(configuration.consumers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        consumersByUsername = Dictionary(
            configuration.consumers.compactMap { consumer in consumer.username.map { ($0, consumer) } },
            uniquingKeysWith: { first, _ in first })
        var keys: [String: Identity] = [:]
        for credential in configuration.keyAuthCredentials {
            guard let consumer = consumersByID[credential.consumerID] else { continue }
            keys[credential.key] = identity(consumer, credential.id)
        }
        self.keys = keys
        var basicAuth: [String: (passwordHash: String, identity: Identity)] = [:]
        for credential in configuration.basicAuthCredentials {
            guard let consumer = consumersByID[credential.consumerID] else { continue }
            basicAuth[credential.username] = (credential.passwordHash, identity(consumer, credential.id))
        }
        self.basicAuth = basicAuth
        var jwt: [String: JWTCredential] = [:]
        for secret in configuration.jwtSecrets {
            guard let consumer = consumersByID[secret.consumerID] else { continue }
            let identity = identity(consumer, secret.id)
            if secret.algorithm.isHMAC {
                jwt[secret.key] = JWTCredential(
                    algorithm: secret.algorithm,
                    key: JWTVerificationKey(algorithm: secret.algorithm, secret: Array(secret.secret.utf8)),
                    base64Key: Data(base64Encoded: secret.secret).flatMap { JWTVerificationKey(algorithm: secret.algorithm, secret: Array($0)) },
                    jwksURI: nil, identity: identity)
            } else {
                let key = secret.rsaPublicKey.flatMap { JWTVerificationKey(algorithm: secret.algorithm, pem: $0) }
                jwt[secret.key] = JWTCredential(algorithm: secret.algorithm, key: key, base64Key: key,
                                                jwksURI: secret.jwksURI, identity: identity)
            }
        }
        self.jwt = jwt
    }

    /// `consumer` as identified by the credential `credentialID`, with its groups.
    func identity(_ consumer: Consumer, credentialID: String?, anonymous: Bool = false) -> Identity {
        Identity(consumer: consumer, credentialID: credentialID, anonymous: anonymous, groups: groupsByConsumer[consumer.id],
                 consumerGroupIDs: consumerGroupsByConsumer[consumer.id] ?? [])
    }

    /// The consumer with this id, or else this username (how a plugin's `anonymous` names one).
    public func consumer(_ idOrUsername: String) -> Consumer? {
        consumersByID[idOrUsername.lowercased()] ?? consumersByUsername[idOrUsername]
    }

    /// Who the key-auth key `key` identifies.
    public func keyAuth(_ key: String) -> Identity? {
        keys[key]
    }

    /// The password hash of the basic-auth credential `username`, and who it identifies.
    public func basicAuth(_ username: String) -> (passwordHash: String, identity: Identity)? {
        basicAuth[username]
    }

    /// The JWT credential with key `key`.
    func jwt(_ key: String) -> JWTCredential? {
        jwt[key]
    }
}

/// A JWT credential ready to verify with: its key (for HMAC, also with the secret read as
/// base64), or the JWKS document whose keys verify its tokens.
struct JWTCredential: Sendable {
    let algorithm: JWTAlgorithm
    let key: JWTVerificationKey?
    let base64Key: JWTVerificationKey?
    let jwksURI: String?
    let identity: Identity

    func key(base64Secret: Bool) -> JWTVerificationKey? {
        base64Secret ? base64Key : key
    }
}

/// Consumer credentials and TLS material, in Kong's 3.x data model. Credentials are stored
/// and validated here; the authentication plugins use them.

/// A key that identifies its consumer to the key-auth plugin (Kong's `keyauth_credentials`).
public struct KeyAuthCredential: Sendable, Hashable {
    public var id: String
    public var consumerID: String
    /// Unique among all key-auth credentials.
    public var key: String
    public var tags: [String]

    public init(id: String, consumerID: String, key: String, tags: [String] = []) {
        self.id = id
        self.consumerID = consumerID
        self.key = key
        self.tags = tags
    }
}

/// A username and password for the basic-auth plugin. Only a salted, slow hash of the password
/// is kept (`PasswordHash`).
public struct BasicAuthCredential: Sendable, Hashable {
    public var id: String
    public var consumerID: String
    /// Unique among all basic-auth credentials.
    public var username: String
    /// `PasswordHash` text (`$pbkdf2-sha256$i=…$salt$hash`), never the password itself.
    public var passwordHash: String
    public var tags: [String]

    public init(id: String, consumerID: String, username: String, passwordHash: String, tags: [String] = []) {
        self.id = id
        self.consumerID = consumerID
        self.username = username
        self.passwordHash = passwordHash
        self.tags = tags
    }
}

/// Signing algorithms a JWT credential may name (Kong's `jwt_secrets.algorithm`).
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable {
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case edDSA = "EdDSA"

    /// Whether tokens are signed with the shared `secret` (HMAC) rather than a key pair.
    public var isHMAC: Bool { rawValue.hasPrefix("HS") }
}

/// The key a JWT credential verifies tokens with (Kong's `jwt_secrets`): tokens whose `iss` (or
/// the plugin's `key_claim_name`) equals `key` are checked with `secret`, `rsaPublicKey`, or the
/// keys published at `jwksURI`.
public struct JWTSecret: Sendable, Hashable {
    public var id: String
    public var consumerID: String
    /// Unique among all JWT credentials.
    public var key: String
    /// The HMAC secret (HS*); unused for key-pair algorithms.
    public var secret: String
    public var algorithm: JWTAlgorithm
    /// The PEM public key for RS*, PS*, ES* and EdDSA (Kong's field name, whatever the key type).
    public var rsaPublicKey: String?
    /// Beyond Kong: an identity provider's JWKS document whose keys verify the tokens, instead
    /// of one `rsaPublicKey` (key-pair algorithms only).
    public var jwksURI: String?
    public var tags: [String]

    public init(id: String, consumerID: String, key: String, secret: String, algorithm: JWTAlgorithm = .hs256,
                rsaPublicKey: String? = nil, jwksURI: String? = nil, tags: [String] = []) {
        self.id = id
        self.consumerID = consumerID
        self.key = key
        self.secret = secret
        self.algorithm = algorithm
        self.rsaPublicKey = rsaPublicKey
        self.jwksURI = jwksURI
        self.tags = tags
    }
}

/// A group a consumer belongs to, for the acl plugin (Kong's `acls`); unique per consumer.
public struct ACLGroup: Sendable, Hashable {
    public var id: String
    public var consumerID: String
    public var group: String
    public var tags: [String]

    public init(id: String, consumerID: String, group: String, tags: [String] = []) {
        self.id = id
        self.consumerID = consumerID
        self.group = group
        self.tags = tags
    }
}

/// A certificate and its private key, served to TLS clients for the names of its SNIs.
public struct TLSCertificate: Sendable, Hashable {
    public var id: String
    /// PEM: the certificate, then any intermediates.
    public var cert: String
    /// PEM private key matching `cert`.
    public var key: String
    /// A second certificate and key of the other key type (RSA beside ECDSA), both or neither.
    public var certAlt: String?
    public var keyAlt: String?
    public var tags: [String]

    public init(id: String, cert: String, key: String, certAlt: String? = nil, keyAlt: String? = nil, tags: [String] = []) {
        self.id = id
        self.cert = cert
        self.key = key
        self.certAlt = certAlt
        self.keyAlt = keyAlt
        self.tags = tags
    }
}

/// A server name (exact, `*.example.com` or `example.*`) and the certificate served for it.
public struct SNI: Sendable, Hashable {
    public var id: String
    /// Unique among all SNIs.
    public var name: String
    public var certificateID: String
    public var tags: [String]

    public init(id: String, name: String, certificateID: String, tags: [String] = []) {
        self.id = id
        self.name = name
        self.certificateID = certificateID
        self.tags = tags
    }
}

/// A trusted CA certificate, for verifying upstream servers and client certificates.
public struct CACertificate: Sendable, Hashable {
    public var id: String
    /// PEM, exactly one certificate, which must be a CA.
    public var cert: String
    /// Lower-case hex SHA-256 of the certificate's DER; unique among CA certificates.
    public var certDigest: String
    public var tags: [String]

    public init(id: String, cert: String, certDigest: String, tags: [String] = []) {
        self.id = id
        self.cert = cert
        self.certDigest = certDigest
        self.tags = tags
    }
}

// MARK: - As entities

extension KeyAuthCredential: EntityValue {
    public static var kind: EntityKind { .keyAuthCredentials }
    public static var list: WritableKeyPath<Configuration, [KeyAuthCredential]> { \.keyAuthCredentials }
    public var entity: Entity { .keyAuthCredential(self) }
    public var uniqueName: String? { key }
    public var references: [EntityReferenceField: String] { [.consumer: consumerID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { consumerID = ids[.consumer] ?? "" }

    public var jsonFields: [String: JSONValue] {
        ["consumer": EntityField.reference(consumerID), "key": .string(key), "tags": EntityField.list(tags)]
    }
}

extension BasicAuthCredential: EntityValue {
    public static var kind: EntityKind { .basicAuthCredentials }
    public static var list: WritableKeyPath<Configuration, [BasicAuthCredential]> { \.basicAuthCredentials }
    public var entity: Entity { .basicAuthCredential(self) }
    public var uniqueName: String? { username }
    public var references: [EntityReferenceField: String] { [.consumer: consumerID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { consumerID = ids[.consumer] ?? "" }

    public var jsonFields: [String: JSONValue] {
        [
            "consumer": EntityField.reference(consumerID), "username": .string(username),
            "password": .string(passwordHash), "tags": EntityField.list(tags),
        ]
    }
}

extension JWTSecret: EntityValue {
    public static var kind: EntityKind { .jwtSecrets }
    public static var list: WritableKeyPath<Configuration, [JWTSecret]> { \.jwtSecrets }
    public var entity: Entity { .jwtSecret(self) }
    public var uniqueName: String? { key }
    public var references: [EntityReferenceField: String] { [.consumer: consumerID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { consumerID = ids[.consumer] ?? "" }

    public var jsonFields: [String: JSONValue] {
        [
            "consumer": EntityField.reference(consumerID), "key": .string(key), "secret": .string(secret),
            "algorithm": .string(algorithm.rawValue), "rsa_public_key": EntityField.text(rsaPublicKey),
            "jwks_uri": EntityField.text(jwksURI), "tags": EntityField.list(tags),
        ]
    }
}

extension ACLGroup: EntityValue {
    public static var kind: EntityKind { .acls }
    public static var list: WritableKeyPath<Configuration, [ACLGroup]> { \.acls }
    public var entity: Entity { .acl(self) }
    public var references: [EntityReferenceField: String] { [.consumer: consumerID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { consumerID = ids[.consumer] ?? "" }

    public var jsonFields: [String: JSONValue] {
        ["consumer": EntityField.reference(consumerID), "group": .string(group), "tags": EntityField.list(tags)]
    }
}

extension TLSCertificate: EntityValue {
    public static var kind: EntityKind { .certificates }
    public static var list: WritableKeyPath<Configuration, [TLSCertificate]> { \.certificates }
    public var entity: Entity { .certificate(self) }

    public var jsonFields: [String: JSONValue] {
        [
            "cert": .string(cert), "key": .string(key), "cert_alt": EntityField.text(certAlt),
            "key_alt": EntityField.text(keyAlt), "tags": EntityField.list(tags),
        ]
    }
}

extension SNI: EntityValue {
    public static var kind: EntityKind { .snis }
    public static var list: WritableKeyPath<Configuration, [SNI]> { \.snis }
    public var entity: Entity { .sni(self) }
    public var uniqueName: String? { name }
    public var references: [EntityReferenceField: String] { [.certificate: certificateID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { certificateID = ids[.certificate] ?? "" }

    public var jsonFields: [String: JSONValue] {
        ["name": .string(name), "certificate": EntityField.reference(certificateID), "tags": EntityField.list(tags)]
    }
}

extension CACertificate: EntityValue {
    public static var kind: EntityKind { .caCertificates }
    public static var list: WritableKeyPath<Configuration, [CACertificate]> { \.caCertificates }
    public var entity: Entity { .caCertificate(self) }

    public var jsonFields: [String: JSONValue] {
        ["cert": .string(cert), "cert_digest": .string(certDigest), "tags": EntityField.list(tags)]
    }
}

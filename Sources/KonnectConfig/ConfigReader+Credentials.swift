import Foundation
import Yams

/// A credential, certificate, SNI, CA certificate or AI model as read, until its id and parent
/// are settled.
struct EntityDraft {
    var entity: Entity
    var info: DraftInfo
    /// The parent (a credential's consumer, an SNI's certificate) as written in the entity.
    var parentReference: Reference?
    /// Index into the parent kind's drafts when the entity is nested under its parent.
    var parent: Int?
    /// What the derived id is made from when no id is given, from the parent's id.
    var idKey: (String) -> String
}

extension ConfigReader {
    static let keyAuthSchema = FieldSchema(noun: "a key-auth credential", fields: ["id", "consumer", "key", "tags"])
    static let basicAuthSchema = FieldSchema(
        noun: "a basic-auth credential", fields: ["id", "consumer", "username", "password", "tags"]
    )
    static let jwtSchema = FieldSchema(
        noun: "a JWT credential", fields: ["id", "consumer", "key", "secret", "algorithm", "rsa_public_key", "jwks_uri", "tags"]
    )
    static let aclSchema = FieldSchema(noun: "an ACL group", fields: ["id", "consumer", "group", "tags"])
    static let certificateSchema = FieldSchema(
        noun: "a certificate", fields: ["id", "cert", "key", "cert_alt", "key_alt", "snis", "tags"]
    )
    static let sniSchema = FieldSchema(noun: "an SNI", fields: ["id", "name", "certificate", "tags"])
    static let caCertificateSchema = FieldSchema(noun: "a CA certificate", fields: ["id", "cert", "cert_digest", "tags"])

    /// A consumer's nested credential lists, by the kind they hold.
    static let consumerCredentialLists: [(key: String, kind: EntityKind)] = [
        ("keyauth_credentials", .keyAuthCredentials), ("basicauth_credentials", .basicAuthCredentials),
        ("jwt_secrets", .jwtSecrets), ("acls", .acls),
    ]

    /// Reads an entity of one of the kinds kept as `EntityDraft`s; `parent` is the index of the
    /// consumer (or certificate, for an SNI) it is nested under.
    func readDraft(_ kind: EntityKind, _ node: Node, at path: String, index: Int, parent: Int?) {
        switch kind {
        case .keyAuthCredentials: readKeyAuth(node, at: path, index: index, consumer: parent)
        case .basicAuthCredentials: readBasicAuth(node, at: path, index: index, consumer: parent)
        case .jwtSecrets: readJWT(node, at: path, index: index, consumer: parent)
        case .acls: readACL(node, at: path, index: index, consumer: parent)
        case .certificates: readCertificate(node, at: path, index: index)
        case .snis: readSNI(node, at: path, index: index, certificate: parent)
        case .caCertificates: readCACertificate(node, at: path, index: index)
        case .aiModels: readAIModel(node, at: path, index: index)
        case .consumerGroups: readConsumerGroup(node, at: path, index: index)
        case .consumerGroupConsumers: readMembership(node, at: path, index: index)
        case .services, .routes, .upstreams, .targets, .consumers, .plugins: break
        }
    }

    /// A required string field that passes `isValid`, with an issue when missing or invalid.
    /// The issue of a `secret` field (a key, password or private key) never quotes the value,
    /// so error messages and logs do not carry it.
    func requiredString(_ fields: Fields, _ key: String, expected: String, secret: Bool = false,
                                where isValid: (String) -> Bool) -> Located<String>? {
        guard let node = fields[key] else {
            reportMissing(key, in: fields, expected: expected)  // quotes at most `null`
            return nil
        }
        let path = fields.path(key)
        guard secret else {
            guard let text = string(node, at: path, expected: expected, where: isValid) else { return nil }
            return Located(value: text, path: path, location: TextLocation(node))
        }
        guard node.scalarType == .string, case .scalar(let scalar) = node, isValid(scalar.string) else {
            report(path, TextLocation(node), expected: expected)
            return nil
        }
        return Located(value: scalar.string, path: path, location: TextLocation(node))
    }

    /// An optional secret string field (never quoted in issues).
    private func optionalSecret(_ fields: Fields, _ key: String, expected: String) -> String? {
        guard fields[key] != nil else { return nil }
        return requiredString(fields, key, expected: expected, secret: true) { _ in true }?.value
    }

    func addDraft(_ entity: Entity, _ fields: Fields, index: Int, name: Located<String>?, parent: Int?,
                          idKey: @escaping (String) -> String) {
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: name)
        let parentReference = entity.kind.referenceFields.first.flatMap { field in
            reference(fields, field.rawValue, kind: Self.article(field.kind.noun))
        }
        drafts[entity.kind, default: []].append(
            EntityDraft(entity: entity, info: info, parentReference: parentReference, parent: parent, idKey: idKey)
        )
    }

    // MARK: Credentials

    func readKeyAuth(_ node: Node, at path: String, index: Int, consumer: Int?) {
        guard let fields = fields(node, at: path, schema: Self.keyAuthSchema) else { return }
        let key = requiredString(fields, "key", expected: "a key of 1 to 1024 visible characters (no spaces)",
                                 secret: true, where: ConfigSyntax.isCredentialKey)
        let credential = KeyAuthCredential(id: "", consumerID: "", key: key?.value ?? "", tags: tags(fields))
        addDraft(credential.entity, fields, index: index, name: key, parent: consumer) { _ in
            "keyauth_credential:key:\(credential.key)"
        }
    }

    func readBasicAuth(_ node: Node, at path: String, index: Int, consumer: Int?) {
        guard let fields = fields(node, at: path, schema: Self.basicAuthSchema) else { return }
        let username = requiredString(fields, "username", expected: "a username of printable characters",
                                      where: ConfigSyntax.isPrintable)
        let password = requiredString(fields, "password", expected: "a password (1 to 1024 bytes)", secret: true) {
            !$0.isEmpty && $0.utf8.count <= 1024
        }
        var hash = ""
        if let password {
            if PasswordHash.isHash(password.value) {
                hash = password.value
            } else if PasswordHash.looksLikeHash(password.value) {
                report(password.path, password.location,
                       expected: "a password, or a complete $pbkdf2-sha256$i=ROUNDS$SALT$HASH (this one is malformed or has under 100000 rounds)")
            } else {
                hash = PasswordHash.make(password.value)
            }
        }
        let credential = BasicAuthCredential(id: "", consumerID: "", username: username?.value ?? "",
                                             passwordHash: hash, tags: tags(fields))
        addDraft(credential.entity, fields, index: index, name: username, parent: consumer) { _ in
            "basicauth_credential:username:\(credential.username)"
        }
    }

    func readJWT(_ node: Node, at path: String, index: Int, consumer: Int?) {
        guard let fields = fields(node, at: path, schema: Self.jwtSchema) else { return }
        let key = requiredString(fields, "key", expected: "a key (the value of the token's iss claim)",
                                 where: ConfigSyntax.isPrintable)
        var algorithm = JWTAlgorithm.hs256
        if let node = fields["algorithm"],
           let text = oneOf(node, at: fields.path("algorithm"), JWTAlgorithm.allCases.map(\.rawValue)) {
            algorithm = JWTAlgorithm(rawValue: text) ?? .hs256
        }
        var secret = ""
        if algorithm.isHMAC {
            secret = requiredString(fields, "secret", expected: "the HMAC secret of 1 to 1024 visible characters",
                                    secret: true, where: ConfigSyntax.isCredentialKey)?.value ?? ""
        } else {
            secret = optionalSecret(fields, "secret", expected: "a string") ?? ""
        }
        var publicKey: String?
        var jwksURI: String?
        if let node = fields["jwks_uri"] {
            if algorithm.isHMAC {
                report(fields.path("jwks_uri"), node: node, expected: "unset: HMAC (HS*) credentials have no published keys")
            } else if fields["rsa_public_key"] != nil {
                report(fields.path("jwks_uri"), node: node, expected: "unset: only one of rsa_public_key and jwks_uri may be given")
            } else {
                jwksURI = string(node, at: fields.path("jwks_uri"), expected: "an http or https URL", where: ConfigSyntax.isHTTPURL)
            }
        } else if !algorithm.isHMAC {
            let expected = Self.publicKeyExpected(for: algorithm) + ", or a jwks_uri"
            if let pem = requiredString(fields, "rsa_public_key", expected: expected, where: { _ in true }) {
                if KeyMaterial.isPublicKey(pem.value, for: algorithm) {
                    publicKey = pem.value
                } else {
                    report(pem.path, pem.location, expected: expected)
                }
            }
        }
        let credential = JWTSecret(id: "", consumerID: "", key: key?.value ?? "", secret: secret, algorithm: algorithm,
                                   rsaPublicKey: publicKey, jwksURI: jwksURI, tags: tags(fields))
        addDraft(credential.entity, fields, index: index, name: key, parent: consumer) { _ in
            "jwt_secret:key:\(credential.key)"
        }
    }

    private static func publicKeyExpected(for algorithm: JWTAlgorithm) -> String {
        let type = switch algorithm {
        case .es256: "EC P-256"
        case .es384: "EC P-384"
        case .es512: "EC P-521"
        case .edDSA: "Ed25519"
        default: "RSA (2048 bits or more)"
        }
        return "a PEM public key (-----BEGIN PUBLIC KEY-----) of type \(type) for \(algorithm.rawValue)"
    }

    func readACL(_ node: Node, at path: String, index: Int, consumer: Int?) {
        guard let fields = fields(node, at: path, schema: Self.aclSchema) else { return }
        let group = requiredString(fields, "group", expected: "a group name of printable characters",
                                   where: ConfigSyntax.isPrintable)
        let acl = ACLGroup(id: "", consumerID: "", group: group?.value ?? "", tags: tags(fields))
        addDraft(acl.entity, fields, index: index, name: nil, parent: consumer) { consumerID in
            "acl:\(consumerID):\(acl.group)"
        }
    }

    // MARK: Certificates

    func readCertificate(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.certificateSchema) else { return }
        let certExpected = "a PEM certificate (-----BEGIN CERTIFICATE-----), intermediates after it"
        let keyExpected = "the PEM private key of the certificate"
        let cert = requiredString(fields, "cert", expected: certExpected) { _ in true }
        let key = requiredString(fields, "key", expected: keyExpected, secret: true) { _ in true }
        var type: KeyMaterial.KeyType?
        if let cert, let key {
            let check = KeyMaterial.checkPair(cert: cert.value, key: key.value)
            if let issue = check.certIssue { report(cert.path, cert.location, expected: issue) }
            if let issue = check.keyIssue { report(key.path, key.location, expected: issue) }
            type = check.type
        }
        let certAlt = fields["cert_alt"].flatMap { string($0, at: fields.path("cert_alt"), expected: certExpected) }
        let keyAlt = optionalSecret(fields, "key_alt", expected: keyExpected)
        switch (certAlt, keyAlt) {
        case (let certAlt?, let keyAlt?):
            let check = KeyMaterial.checkPair(cert: certAlt, key: keyAlt)
            if let issue = check.certIssue { report(fields.path("cert_alt"), fields.location, expected: issue) }
            if let issue = check.keyIssue { report(fields.path("key_alt"), fields.location, expected: issue) }
            if let type, let altType = check.type, type.isEC == altType.isEC {
                report(fields.path("cert_alt"), fields.location,
                       expected: "a certificate of the other key type than cert (RSA beside ECDSA); both are \(type.rawValue)")
            }
        case (nil, nil):
            break
        case (nil, _?):
            report(fields.path("cert_alt"), fields.location, expected: "the certificate of key_alt (both or neither)")
        case (_?, nil):
            report(fields.path("key_alt"), fields.location, expected: "the private key of cert_alt (both or neither)")
        }
        let certificate = TLSCertificate(id: "", cert: cert?.value ?? "", key: key?.value ?? "", certAlt: certAlt,
                                         keyAlt: keyAlt, tags: tags(fields))
        addDraft(certificate.entity, fields, index: index, name: nil, parent: nil) { _ in
            "certificate:cert:\(certificate.cert)"
        }
        let certificateIndex = drafts[.certificates, default: []].count - 1
        eachEntity(in: fields, "snis", noun: "SNIs (names, or maps with a name)") { node, path, index in
            if case .scalar = node {
                // The Admin API's short form: a list of names.
                let map = Node.mapping(Node.Mapping([(Node("name"), node)]))
                readSNI(map, at: path, index: index, certificate: certificateIndex, nameAt: path)
            } else {
                readSNI(node, at: path, index: index, certificate: certificateIndex)
            }
        }
    }

    /// `nameAt` is where the name was written when the SNI is given as a bare name.
    func readSNI(_ node: Node, at path: String, index: Int, certificate: Int?, nameAt: String? = nil) {
        guard let fields = fields(node, at: path, schema: Self.sniSchema) else { return }
        let expected = "a server name (example.com, *.example.com or example.*), not an IP address"
        guard var name = requiredString(fields, "name", expected: expected, where: ConfigSyntax.isServerName) else { return }
        if let nameAt {
            name.path = nameAt
        }
        let sni = SNI(id: "", name: name.value.lowercased(), certificateID: "", tags: tags(fields))
        addDraft(sni.entity, fields, index: index, name: name, parent: certificate) { _ in "sni:name:\(sni.name)" }
    }

    func readCACertificate(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.caCertificateSchema) else { return }
        let cert = requiredString(fields, "cert", expected: "a PEM CA certificate (-----BEGIN CERTIFICATE-----)") { _ in true }
        var digest = ""
        if let cert {
            let check = KeyMaterial.checkCA(cert.value)
            if let issue = check.issue { report(cert.path, cert.location, expected: issue) }
            digest = check.digest ?? ""
        }
        if let node = fields["cert_digest"], let given = string(node, at: fields.path("cert_digest")), !digest.isEmpty,
           given.lowercased() != digest {
            report(fields.path("cert_digest"), node: node, expected: "the SHA-256 digest of cert (\(digest)), or nothing")
        }
        let ca = CACertificate(id: "", cert: cert?.value ?? "", certDigest: digest, tags: tags(fields))
        addDraft(ca.entity, fields, index: index, name: nil, parent: nil) { _ in "ca_certificate:digest:\(ca.certDigest)" }
    }
}

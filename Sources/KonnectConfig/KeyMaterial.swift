import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// Checks of PEM certificates and keys, so that what the TLS layer and the jwt plugin will load
/// is known to load when it is written. Each check returns what was wrong, or nil.
enum KeyMaterial {
    /// The certificates of a PEM text, leaf first, or what is wrong with it.
    enum Certificates {
        case found([X509.Certificate])
        case invalid(String)
    }

    static func certificates(_ pem: String) -> Certificates {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            return .invalid("PEM text (-----BEGIN CERTIFICATE----- …)")
        }
        guard !documents.isEmpty, documents.allSatisfy({ $0.discriminator == "CERTIFICATE" }) else {
            return .invalid("only CERTIFICATE blocks")
        }
        var certificates: [X509.Certificate] = []
        for document in documents {
            guard let certificate = try? X509.Certificate(pemDocument: document) else {
                return .invalid("a certificate X.509 can read (block \(certificates.count + 1) is not one)")
            }
            certificates.append(certificate)
        }
        return .found(certificates)
    }

    /// The private key of a PEM text (PKCS#8 `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`,
    /// EC parameters blocks skipped), or nil.
    static func privateKey(_ pem: String) -> X509.Certificate.PrivateKey? {
        guard let documents = try? PEMDocument.parseMultiple(pemString: pem) else { return nil }
        let keys = documents.filter { $0.discriminator != "EC PARAMETERS" }
        guard keys.count == 1 else { return nil }
        return try? X509.Certificate.PrivateKey(pemDocument: keys[0])
    }

    /// The public key of a PEM text (`PUBLIC KEY`, or `RSA PUBLIC KEY`), or nil.
    static func publicKey(_ pem: String) -> X509.Certificate.PublicKey? {
        guard let documents = try? PEMDocument.parseMultiple(pemString: pem), documents.count == 1 else { return nil }
        let document = documents[0]
        if document.discriminator == "RSA PUBLIC KEY" {
            return (try? _RSA.Signing.PublicKey(derRepresentation: document.derBytes)).map(X509.Certificate.PublicKey.init)
        }
        return try? X509.Certificate.PublicKey(pemDocument: document)
    }

    enum KeyType: String {
        case rsa = "RSA", p256 = "EC P-256", p384 = "EC P-384", p521 = "EC P-521", ed25519 = "Ed25519"

        var isEC: Bool { self == .p256 || self == .p384 || self == .p521 }
    }

    static func type(of key: X509.Certificate.PublicKey) -> KeyType? {
        if _RSA.Signing.PublicKey(key) != nil { return .rsa }
        if P256.Signing.PublicKey(key) != nil { return .p256 }
        if P384.Signing.PublicKey(key) != nil { return .p384 }
        if P521.Signing.PublicKey(key) != nil { return .p521 }
        if Curve25519.Signing.PublicKey(key) != nil { return .ed25519 }
        return nil
    }

    /// Whether `pem` is a public key of the type `algorithm` verifies with.
    static func isPublicKey(_ pem: String, for algorithm: JWTAlgorithm) -> Bool {
        guard let key = publicKey(pem) else { return false }
        switch (type(of: key), algorithm) {
        case (.rsa?, .rs256), (.rsa?, .rs384), (.rsa?, .rs512), (.rsa?, .ps256), (.rsa?, .ps384), (.rsa?, .ps512),
             (.p256?, .es256), (.p384?, .es384), (.p521?, .es512), (.ed25519?, .edDSA):
            return true
        default:
            return false
        }
    }

    /// Lower-case hex SHA-256 of a certificate's DER encoding (Kong's `cert_digest`).
    static func digest(of certificate: X509.Certificate) -> String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return "" }
        return NameBasedUUID.hex(SHA256.hash(data: serializer.serializedBytes))
    }

    /// What is wrong with a certificate and key pair, or nil when the key is the certificate's.
    /// Returns the key type too, so a second pair can be checked to differ.
    static func checkPair(cert: String, key: String) -> (certIssue: String?, keyIssue: String?, type: KeyType?) {
        let leaf: X509.Certificate
        switch certificates(cert) {
        case .invalid(let issue): return (issue, nil, nil)
        case .found(let list): leaf = list[0]
        }
        guard let privateKey = privateKey(key) else {
            return (nil, "a PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", nil)
        }
        guard privateKey.publicKey == leaf.publicKey else {
            return (nil, "the private key of the certificate (this key does not match it)", nil)
        }
        return (nil, nil, type(of: leaf.publicKey))
    }

    /// What is wrong with a CA certificate, or nil; and its digest.
    static func checkCA(_ pem: String, now: Date = Date()) -> (issue: String?, digest: String?) {
        let list: [X509.Certificate]
        switch certificates(pem) {
        case .invalid(let issue): return (issue, nil)
        case .found(let found): list = found
        }
        guard list.count == 1 else { return ("exactly one certificate (this text has \(list.count))", nil) }
        let certificate = list[0]
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            return ("a CA certificate (this one lacks the basic constraint CA:TRUE)", nil)
        }
        guard certificate.notValidAfter > now else {
            return ("a certificate that has not expired (Not After is in the past)", nil)
        }
        return (nil, digest(of: certificate))
    }
}

import Crypto
import CryptoExtras
import Foundation
import X509

/// Certificates and keys made for a test run, so no fixture expires and every key is fresh.
public enum TestCertificates {
    public enum KeyType: Sendable {
        case p256, rsa2048
    }

    /// A PEM certificate and its PEM private key.
    public struct Pair: Sendable {
        public var cert: String
        public var key: String
        /// The certificate's public key as PEM (`BEGIN PUBLIC KEY`).
        public var publicKey: String
    }

    /// A self-signed certificate for `commonName`; a CA when `isCA`.
    public static func selfSigned(commonName: String = "konnect.test", keyType: KeyType = .p256, isCA: Bool = false,
                                  notValidAfter: Date = Date().addingTimeInterval(86_400 * 365)) throws -> Pair {
        let privateKey: Certificate.PrivateKey
        let keyPEM: String
        let algorithm: Certificate.SignatureAlgorithm
        switch keyType {
        case .p256:
            let key = P256.Signing.PrivateKey()
            privateKey = Certificate.PrivateKey(key)
            keyPEM = key.pemRepresentation
            algorithm = .ecdsaWithSHA256
        case .rsa2048:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            privateKey = Certificate.PrivateKey(key)
            keyPEM = key.pemRepresentation
            algorithm = .sha256WithRSAEncryption
        }
        let name = try DistinguishedName { CommonName(commonName) }
        let extensions = try Certificate.Extensions {
            Critical(isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
            notValidBefore: notValidAfter.addingTimeInterval(-86_400 * 730), notValidAfter: notValidAfter,
            issuer: name, subject: name, signatureAlgorithm: algorithm, extensions: extensions,
            issuerPrivateKey: privateKey
        )
        return Pair(cert: try certificate.serializeAsPEM().pemString, key: keyPEM,
                    publicKey: try privateKey.publicKey.serializeAsPEM().pemString)
    }
}

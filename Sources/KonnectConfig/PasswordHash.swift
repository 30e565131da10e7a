import Crypto
import CryptoExtras
import Foundation

/// Basic-auth passwords as they are kept: PBKDF2-HMAC-SHA256 with a random 16-byte salt, in
/// the PHC string form `$pbkdf2-sha256$i=<rounds>$<salt>$<hash>` (base64 without padding).
///
/// A configuration never holds a password itself: a plain password is hashed when it is read,
/// and a value already in this form is kept as it is, so an exported configuration loads back
/// unchanged.
public enum PasswordHash {
    /// OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
    public static let defaultRounds = 600_000
    static let scheme = "pbkdf2-sha256"
    /// Fewer rounds than this in a given hash are refused: it would be cheap to attack.
    static let minimumRounds = 100_000
    static let maximumRounds = 10_000_000

    /// The hash of `password` with a new random salt.
    public static func make(_ password: String, rounds: Int = defaultRounds) -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let derived = derive(password, salt: salt, rounds: rounds)
        return "$\(scheme)$i=\(rounds)$\(base64(salt))$\(base64(derived))"
    }

    /// Whether `password` is the one `hash` was made from (constant time in the comparison).
    public static func verify(_ password: String, against hash: String) -> Bool {
        guard let parts = parse(hash) else { return false }
        let derived = derive(password, salt: parts.salt, rounds: parts.rounds)
        guard derived.count == parts.hash.count else { return false }
        return zip(derived, parts.hash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Whether `text` is a well-formed hash in this form.
    public static func isHash(_ text: String) -> Bool {
        parse(text) != nil
    }

    /// Whether `text` claims to be a hash (starts like one), well-formed or not.
    static func looksLikeHash(_ text: String) -> Bool {
        text.hasPrefix("$\(scheme)$")
    }

    private static func parse(_ text: String) -> (rounds: Int, salt: [UInt8], hash: [UInt8])? {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == scheme, parts[2].hasPrefix("i="),
              let rounds = Int(parts[2].dropFirst(2)), (minimumRounds...maximumRounds).contains(rounds),
              let salt = unbase64(parts[3]), salt.count >= 8, let hash = unbase64(parts[4]), hash.count == 32
        else { return nil }
        return (rounds, salt, hash)
    }

    private static func derive(_ password: String, salt: [UInt8], rounds: Int) -> [UInt8] {
        let key = try? KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds
        )
        return key.map { $0.withUnsafeBytes { Array($0) } } ?? []
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    private static func unbase64(_ text: Substring) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        let padded = String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded).map { Array($0) }
    }
}

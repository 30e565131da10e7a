import Yams

extension ConfigReader {
    /// Format versions a file may declare; files before 3.0 are read the way Kong migrates them.
    static let formatVersions = ["3.0", "2.1", "1.1"]

    /// Sections of Kong's format that Konnect does not read yet; named in the issue so users know why.
    static let unsupportedSections: Set<String> = [
        "vaults", "keys", "key_sets", "filter_chains",
        "oauth2_credentials", "hmacauth_credentials", "mtls_auth_credentials",
    ]

    static let documentSchema = FieldSchema(
        noun: "a configuration",
        fields: ["_format_version", "_transform", "_workspace"] + EntityKind.allCases.map(\.rawValue)
    )

    /// Reads a whole document; entity drafts and issues accumulate on `self`.
    func readDocument(_ root: Node?) {
        guard let root else {
            report("", TextLocation(nil), expected: "a configuration map starting with _format_version: \"3.0\" (the file is empty)")
            return
        }
        guard let document = mapEntries(root, at: "", expected: "a configuration map starting with _format_version: \"3.0\"")
        else { return }

        readFormatVersion(document)

        for entry in document.ordered {
            switch entry.key {
            case "_format_version":
                break
            case "_transform":
                if let node = document["_transform"] { _ = boolean(node, at: "_transform") }
            case "_workspace":
                if let node = document["_workspace"] { _ = string(node, at: "_workspace") }
            case "services":
                eachEntity(in: document, "services", noun: "services") { readService($0, at: $1, index: $2) }
            case "routes":
                eachEntity(in: document, "routes", noun: "routes") { readRoute($0, at: $1, index: $2, service: nil) }
            case "upstreams":
                eachEntity(in: document, "upstreams", noun: "upstreams") { readUpstream($0, at: $1, index: $2) }
            case "targets":
                eachEntity(in: document, "targets", noun: "targets") { readTarget($0, at: $1, index: $2, upstream: nil) }
            case "consumers":
                eachEntity(in: document, "consumers", noun: "consumers") { readConsumer($0, at: $1, index: $2) }
            case "plugins":
                eachEntity(in: document, "plugins", noun: "plugins") { readPlugin($0, at: $1, index: $2, parent: nil) }
            default:
                if let kind = EntityKind(rawValue: entry.key) {
                    eachEntity(in: document, entry.key, noun: entry.key) { readDraft(kind, $0, at: $1, index: $2, parent: nil) }
                } else if Self.unsupportedSections.contains(entry.key) {
                    report(entry.key, TextLocation(entry.keyNode), value: entry.key,
                           expected: "a section Konnect reads (\(entry.key) are not supported yet)")
                } else {
                    reportUnknownField(entry, in: document, schema: Self.documentSchema)
                }
            }
        }
    }

    private func readFormatVersion(_ document: Fields) {
        let expected = "the format version as a quoted string: \"3.0\" (or the older \"2.1\", \"1.1\")"
        guard let node = document["_format_version"] else {
            reportMissing("_format_version", in: document, expected: expected)
            return
        }
        guard let version = string(node, at: "_format_version", expected: expected, where: Self.formatVersions.contains)
        else { return }
        legacyPaths = version != "3.0"
    }
}

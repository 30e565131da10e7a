import Yams

extension ConfigReader {
    /// Credential lists a consumer may carry: those Konnect reads, then those of Kong plugins
    /// Konnect does not have yet (refused with a message that says so).
    static let credentialLists = consumerCredentialLists.map(\.key) + unsupportedCredentialLists
    static let unsupportedCredentialLists = ["oauth2_credentials", "hmacauth_credentials", "mtls_auth_credentials"]

    static let consumerSchema = FieldSchema(
        noun: "a consumer",
        fields: ["id", "username", "custom_id", "tags", "plugins", "groups"] + credentialLists
    )

    func readConsumer(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.consumerSchema) else { return }
        func identifier(_ key: String) -> Located<String>? {
            guard let node = fields[key],
                let text = string(node, at: fields.path(key), expected: "a non-empty string", where: { !$0.isEmpty })
            else { return nil }
            return Located(value: text, path: fields.path(key), location: TextLocation(node))
        }
        let username = identifier("username")
        let customID = identifier("custom_id")
        if fields["username"] == nil, fields["custom_id"] == nil {
            report(path, fields.location, expected: "a consumer with a username or a custom_id (at least one)")
        }
        for key in Self.unsupportedCredentialLists {
            if let entry = fields.entry(key) {
                report(fields.path(key), TextLocation(entry.keyNode), value: key,
                       expected: "a credential list Konnect reads (\(key) are not supported yet)")
            }
        }
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: username)
        let consumer = Consumer(id: "", username: username?.value, customID: customID?.value, tags: tags(fields))
        consumers.append(ConsumerDraft(consumer: consumer, info: info, username: username, customID: customID))
        let consumerIndex = consumers.count - 1
        eachEntity(in: fields, "plugins", noun: "plugins") { readPlugin($0, at: $1, index: $2, parent: .consumer(consumerIndex)) }
        readGroups(of: consumerIndex, in: fields)
        for (key, kind) in Self.consumerCredentialLists {
            eachEntity(in: fields, key, noun: "credentials") { readDraft(kind, $0, at: $1, index: $2, parent: consumerIndex) }
        }
    }
}

// Schemas of the plugins that rewrite requests and responses on their way through.

extension PluginSchema {
    /// One group of request-transformer operations: header, query argument and body field names.
    static func requestOperations(pairs: Bool, uri: Bool = false) -> PluginField.FieldType {
        func list(_ name: String, _ what: String, check: (@Sendable (JSONValue) -> String?)? = nil) -> PluginField {
            let check = check ?? (pairs ? PluginChecks.namePair : nil)
            return PluginField.strings(name, default: [], check: check, pairs ? "\(what), as `name:value`." : "\(what) names.")
        }
        var fields = [
            list("headers", "Headers", check: pairs ? PluginChecks.headerPair : PluginChecks.transformableHeader),
            list("querystring", "Query arguments"),
            list("body", "Body fields (JSON: dotted paths into nested objects)"),
        ]
        if uri { fields.insert(PluginField("uri", .string, "Path sent upstream instead of the request's (templates allowed)."), at: 0) }
        return .record(fields)
    }

    static let requestTransformer = PluginSchema("request-transformer", fields: [
        PluginField("http_method", .string, oneOf: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    "Method sent upstream instead of the request's."),
        PluginField("remove", requestOperations(pairs: false), required: true, default: emptyOperations(uri: false),
                    "Removed first."),
        PluginField("rename", requestOperations(pairs: true), required: true, default: emptyOperations(uri: false),
                    "Renamed next, as `old:new`, when present."),
        PluginField("replace", requestOperations(pairs: true, uri: true), required: true, default: emptyOperations(uri: true),
                    "Values replaced next, when present."),
        PluginField("add", requestOperations(pairs: true), required: true, default: emptyOperations(uri: false),
                    "Added next, when not present."),
        PluginField("append", requestOperations(pairs: true), required: true, default: emptyOperations(uri: false),
                    "Added last, next to any value already there."),
        PluginField("max_body_size", .integer, required: true, default: 1_048_576, between: 0...16_777_216,
                    "Largest body (bytes, from Content-Length) whose fields are transformed; larger or chunked bodies pass untouched, with a log line."),
    ])

    private static func emptyOperations(uri: Bool) -> JSONValue {
        var fields: [String: JSONValue] = ["headers": .array([]), "querystring": .array([]), "body": .array([])]
        if uri { fields["uri"] = .null }
        return .object(fields)
    }
}

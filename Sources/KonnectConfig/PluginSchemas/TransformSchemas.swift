// Schemas of the plugins that rewrite requests and responses on their way through.

extension PluginSchema {
    /// One group of request-transformer operations: header, query argument and body field names.
    /// Operations that give a value (`setsHost`) may give Host, which then is the Host sent
    /// upstream; none may remove or rename it.
    static func requestOperations(pairs: Bool, uri: Bool = false, setsHost: Bool = false) -> PluginField.FieldType {
        func list(_ name: String, _ what: String, check: (@Sendable (JSONValue) -> String?)? = nil) -> PluginField {
            let check = check ?? (pairs ? PluginChecks.namePair : nil)
            return PluginField.strings(name, default: [], check: check, pairs ? "\(what), as `name:value`." : "\(what) names.")
        }
        var fields = [
            list("headers", "Headers", check: setsHost ? PluginChecks.headerNamePair
                                                       : pairs ? PluginChecks.headerPair : PluginChecks.transformableHeader),
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
        PluginField("replace", requestOperations(pairs: true, uri: true, setsHost: true), required: true, default: emptyOperations(uri: true),
                    "Values replaced next, when present."),
        PluginField("add", requestOperations(pairs: true, setsHost: true), required: true, default: emptyOperations(uri: false),
                    "Added next, when not present."),
        PluginField("append", requestOperations(pairs: true, setsHost: true), required: true, default: emptyOperations(uri: false),
                    "Added last, next to any value already there."),
        PluginField("max_body_size", .integer, required: true, default: 1_048_576, between: 0...16_777_216,
                    "Largest body (bytes, from Content-Length) whose fields are transformed; larger or chunked bodies pass untouched, with a log line."),
    ])

    /// One group of response-transformer operations: header names and JSON body fields, with the
    /// types of the values (`json_types`) where values are given.
    static func responseOperations(pairs: Bool, types: Bool) -> PluginField.FieldType {
        var fields = [
            PluginField.strings("headers", default: [], check: pairs ? PluginChecks.headerPair : PluginChecks.headerName,
                                pairs ? "Headers, as `name:value`." : "Header names."),
            PluginField.strings("json", default: [], check: pairs ? PluginChecks.namePair : nil,
                                pairs ? "JSON body fields (dotted paths into nested objects), as `name:value`." : "JSON body fields (dotted paths into nested objects)."),
        ]
        if types {
            fields.append(.strings("json_types", default: [], oneOf: ["string", "number", "boolean"],
                                   "The type of each `json` value, by position (string when not given)."))
        }
        return .record(fields)
    }

    private static func emptyResponseOperations(types: Bool) -> JSONValue {
        var fields: [String: JSONValue] = ["headers": .array([]), "json": .array([])]
        if types { fields["json_types"] = .array([]) }
        return .object(fields)
    }

    static let responseTransformer = PluginSchema("response-transformer", fields: [
        PluginField("remove", responseOperations(pairs: false, types: false), required: true,
                    default: emptyResponseOperations(types: false), "Removed first."),
        PluginField("rename", responseOperations(pairs: true, types: false), required: true,
                    default: emptyResponseOperations(types: false), "Renamed next, as `old:new`, when present."),
        PluginField("replace", responseOperations(pairs: true, types: true), required: true,
                    default: emptyResponseOperations(types: true), "Values replaced next, when present."),
        PluginField("add", responseOperations(pairs: true, types: true), required: true,
                    default: emptyResponseOperations(types: true), "Added next, when not present."),
        PluginField("append", responseOperations(pairs: true, types: true), required: true,
                    default: emptyResponseOperations(types: true), "Added last, next to any value already there."),
        PluginField("allow", .record([
            .strings("json", "JSON body fields kept (dotted paths); all others are dropped. Empty: all are kept."),
        ]), required: true, default: .object(["json": .array([])]), "Response JSON field filtering (beyond Kong OSS)."),
        PluginField("max_body_size", .integer, required: true, default: 1_048_576, between: 0...16_777_216,
                    "Largest body (bytes) whose JSON is transformed; a larger one passes untouched, with a log line."),
    ])

    private static func emptyOperations(uri: Bool) -> JSONValue {
        var fields: [String: JSONValue] = ["headers": .array([]), "querystring": .array([]), "body": .array([])]
        if uri { fields["uri"] = .null }
        return .object(fields)
    }
}

/// One problem found in a configuration, with where it is.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is, e.g. `services[1].routes[0].paths[2]`; `""` for the document root.
    public var path: String
    /// The offending value as written, when there is one (long values are truncated).
    public var value: String?
    /// What was expected, in plain words.
    public var expected: String
    /// 1-based line in the file, when known.
    public var line: Int?
    /// 1-based column in the file, when known.
    public var column: Int?

    /// Values longer than this many characters are cut, with `…` marking the cut.
    public static let maximumValueLength = 80

    public init(path: String, value: String? = nil, expected: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.value = value.map(Self.truncated)
        self.expected = expected
        self.line = line
        self.column = column
    }

    /// `services[1].routes[0].paths[2]: expected a path starting with '/' or '~', got "abc" (line 12, column 9)`
    public var description: String {
        var text = path.isEmpty ? "" : "\(path): "
        text += "expected \(expected)"
        if let value {
            text += ", got \(Self.quoted(value))"
        }
        if let line {
            text += column.map { " (line \(line), column \($0))" } ?? " (line \(line))"
        }
        return text
    }

    private static func truncated(_ value: String) -> String {
        guard value.count > maximumValueLength else { return value }
        return String(value.prefix(maximumValueLength - 1)) + "…"
    }

    /// The value as a JSON string: quoted, with quotes, backslashes and control characters escaped.
    private static func quoted(_ value: String) -> String {
        JSONValue.string(value).jsonText
    }
}

/// Every problem in a configuration, reported at once.
public struct ConfigValidationError: Error, Sendable, CustomStringConvertible {
    /// The file name, when the configuration was loaded from a file.
    public var source: String?
    /// The problems, ordered by their position in the file.
    public var issues: [ConfigIssue]

    public init(source: String? = nil, issues: [ConfigIssue]) {
        self.source = source
        self.issues = issues
    }

    public var description: String {
        let count = issues.count == 1 ? "1 problem" : "\(issues.count) problems"
        let header = source.map { "\($0): \(count) in the configuration" } ?? "\(count) in the configuration"
        return ([header + ":"] + issues.map { "  - \($0)" }).joined(separator: "\n")
    }
}

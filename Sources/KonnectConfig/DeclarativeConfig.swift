import Foundation
import Yams

/// Loads Kong-format declarative configuration (`_format_version: "3.0"`) from YAML or JSON.
///
/// Loading checks the whole file and reports every problem at once, each with its path and line.
/// Entities without an `id` get one derived from their kind and name (or parent and position), so
/// the same file always yields the same ids. In the result each kind of entity is listed in the
/// order it is written in the file, nested entities at the place they are nested.
public enum DeclarativeConfig {
    /// Parses YAML or JSON text in Kong's declarative format and validates it completely.
    public static func parse(_ text: String, source: String? = nil) throws(ConfigValidationError) -> Configuration {
        try parse(compose(text, source: source), source: source)
    }

    /// Like `parse`, for an Admin API body, which may also wrap the document as a string in a
    /// `config` field (`{"config": "…"}`), as Kong's `POST /config` allows.
    public static func parseRequestBody(_ text: String, source: String? = nil) throws(ConfigValidationError) -> Configuration {
        let root = try compose(text, source: source)
        if let mapping = root?.mapping, mapping.count == 1, let inner = mapping["config"]?.scalar?.string {
            return try parse(inner, source: source)
        }
        return try parse(root, source: source)
    }

    private static func compose(_ text: String, source: String?) throws(ConfigValidationError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch {
            throw ConfigValidationError(source: source, issues: [syntaxIssue(error, text: text)])
        }
    }

    private static func parse(_ root: Node?, source: String?) throws(ConfigValidationError) -> Configuration {
        let reader = ConfigReader()
        reader.readDocument(root)
        let configuration = reader.resolve()
        guard reader.issues.isEmpty else {
            throw ConfigValidationError(source: source, issues: ordered(reader.issues))
        }
        return configuration
    }

    /// Reads and parses a file (errors for unreadable files are a ConfigValidationError with one issue at path "").
    public static func load(path: String) throws(ConfigValidationError) -> Configuration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            throw ConfigValidationError(source: path, issues: [
                ConfigIssue(path: "", value: path, expected: "a readable configuration file (\(reason))"),
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigValidationError(source: path, issues: [
                ConfigIssue(path: "", value: path, expected: "a file in UTF-8"),
            ])
        }
        return try parse(text, source: path)
    }

    /// Issues by position in the file (those without a line last), without repeats.
    private static func ordered(_ issues: [ConfigIssue]) -> [ConfigIssue] {
        var seen: Set<ConfigIssue> = []
        let unique = issues.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { left, right in
            let leftKey = (left.element.line ?? .max, left.element.column ?? 0, left.offset)
            let rightKey = (right.element.line ?? .max, right.element.column ?? 0, right.offset)
            return leftKey < rightKey
        }.map(\.element)
    }

    /// Where `key` is written again at the same indentation as its first occurrence at `mark`,
    /// which the YAML parser does not report.
    private static func repeatedKey(_ key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line < lines.count else { return nil }
        for index in mark.line..<lines.count {
            let line = lines[index].unicodeScalars
            guard line.count >= mark.column else { continue }
            let indentation = line.prefix(mark.column - 1)
            let rest = String(String.UnicodeScalarView(line.dropFirst(mark.column - 1)))
            if indentation.allSatisfy({ $0 == " " || $0 == "-" }),
                rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':")
            {
                return (index + 1, mark.column)
            }
        }
        return nil
    }

    /// One issue describing why the text is not YAML or JSON, with the line when the parser gives one.
    private static func syntaxIssue(_ error: any Error, text: String) -> ConfigIssue {
        guard let error = error as? YamlError else {
            return ConfigIssue(path: "", expected: "valid YAML or JSON (\(error))")
        }
        func issue(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> ConfigIssue {
            var reason = problem
            if let context { reason += " \(context.text) at line \(context.mark.line)" }
            return ConfigIssue(path: "", expected: "valid YAML or JSON (\(reason))", line: mark.line, column: mark.column)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return issue(problem, context, mark)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in text.prefix(offset).filter { $0 == "\n" }.count + 1 }
            return ConfigIssue(path: "", expected: "readable text (\(problem))", line: line)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let repeated = duplicates.first.flatMap { repeatedKey($0, after: context.mark, in: text) }
            return ConfigIssue(
                path: "", value: duplicates.joined(separator: ", "), expected: "each key at most once in a map",
                line: repeated?.line ?? context.mark.line, column: repeated?.column ?? context.mark.column
            )
        default:
            return ConfigIssue(path: "", expected: "valid YAML or JSON (\(error))")
        }
    }
}

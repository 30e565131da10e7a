import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// The parse error for `bytes`, or nil when they parse.
func jsonParseError(_ bytes: [UInt8]) -> JSONParseError? {
    do throws(JSONParseError) {
        _ = try JSON.parse(bytes)
        return nil
    } catch {
        return error
    }
}

func jsonParseError(_ text: String) -> JSONParseError? { jsonParseError(Array(text.utf8)) }

/// JSON text that must be refused, and the byte the refusal points at.
struct JSONRefusal: Sendable, CustomTestStringConvertible {
    var label: String
    var bytes: [UInt8]
    var offset: Int

    init(_ label: String, _ text: String, at offset: Int) {
        self.label = label
        bytes = Array(text.utf8)
        self.offset = offset
    }

    init(_ label: String, bytes: [UInt8], at offset: Int) {
        self.label = label
        self.bytes = bytes
        self.offset = offset
    }

    var testDescription: String { label }
}

// MARK: - Round trips and field order

@Suite struct JSONRoundTripTests {
    /// Compact texts Konnect must write back byte for byte after reading them.
    @Test(arguments: [
        #"{"zeta":1,"alpha":2,"middle":3}"#,
        #"{"z":{"y":true,"x":null,"w":[1,"two",{"d":3,"c":4}]},"a":false}"#,
        #"{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}"#,
        #"[]"#,
        #"{}"#,
        #"[null,true,false,0,-1,0.5,"",{},[]]"#,
        #"{"":""}"#,
        #""plain""#,
        #"-12"#,
        #"0.7"#,
    ])
    func compactTextRoundTripsExactly(text: String) throws {
        let value = try JSON.parse(text)
        #expect(value.text == text)
    }

    @Test func objectsKeepTheirFieldOrder() throws {
        let value = try JSON.parse(#"{"zeta":1,"alpha":{"y":1,"b":2,"x":3},"middle":"m"}"#)
        #expect(value.object?.keys == ["zeta", "alpha", "middle"])
        #expect(value["alpha"]?.object?.keys == ["y", "b", "x"])
        #expect(value["middle"] == "m")
    }

    @Test func whiteSpaceIsReadAndWrittenCompactly() throws {
        let value = try JSON.parse("  {\n\t\"b\" : [ 1 , 2 ] ,\r\n \"a\":\"x\" }  \n")
        #expect(value.text == #"{"b":[1,2],"a":"x"}"#)
    }

    @Test func theByteEntryPointsAgree() throws {
        let text = #"{"caf\u00e9":["é",1.5,null]}"#
        let fromString = try JSON.parse(text)
        let fromBytes = try JSON.parse(Array(text.utf8))
        let fromBuffer = try JSON.parse(ByteBuffer(string: text))
        // A collection without contiguous storage takes the copying path.
        let fromLazy = try JSON.parse(text.utf8.lazy.map { $0 })
        #expect(fromString == ["café": ["é", 1.5, nil]])
        #expect(fromBytes == fromString)
        #expect(fromBuffer == fromString)
        #expect(fromLazy == fromString)
        #expect(fromString.buffer == ByteBuffer(string: #"{"café":["é",1.5,null]}"#))
    }

    @Test func editedObjectsWriteInInsertionOrder() {
        var object: JSONObject = ["model": "a", "messages": [], "stream": true]
        object["temperature"] = 0.5
        object["model"] = "b"
        object["messages"] = nil
        #expect(JSON.object(object).text == #"{"model":"b","stream":true,"temperature":0.5}"#)
    }

    @Test func equalityDependsOnFieldOrder() throws {
        let ab = try JSON.parse(#"{"a":1,"b":2}"#)
        let ba = try JSON.parse(#"{"b":2,"a":1}"#)
        #expect(ab != ba)
        #expect(ab == ["a": 1, "b": 2])
    }
}

// MARK: - Strings

@Suite struct JSONStringTests {
    @Test(arguments: [
        (#""line\nbreak""#, "line\nbreak"),
        (#""say \"hi\"""#, #"say "hi""#),
        (#""back\\slash""#, #"back\slash"#),
        (#""caf\u00e9""#, "café"),
        (#""\u00C9T\u00c9""#, "ÉTÉ"),
        (#""\ud83d\ude00""#, "😀"),
        (#""smile \uD83D\uDE00!""#, "smile 😀!"),
        (#""a\/b""#, "a/b"),
        (#""\b\f\r\t""#, "\u{08}\u{0C}\r\t"),
        (#""nul\u0000here""#, "nul\u{0}here"),
        (#""naïve 日本 😀""#, "naïve 日本 😀"),
        (#""""#, ""),
    ])
    func escapesAreRead(json: String, expected: String) throws {
        #expect(try JSON.parse(json) == .string(expected))
    }

    @Test(arguments: [
        ("line\nbreak", #""line\nbreak""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        ("\t\r\u{08}\u{0C}", #""\t\r\b\f""#),
        ("\u{01}x\u{1F}", #""\u0001x\u001f""#),
        ("nul\u{0}", #""nul\u0000""#),
        ("café 😀", #""café 😀""#),
        ("a/b", #""a/b""#),
    ])
    func stringsAreEscapedOnWrite(text: String, expected: String) throws {
        let written = JSON.string(text).text
        #expect(written == expected)
        #expect(try JSON.parse(written) == .string(text))
    }

    @Test func everyControlCharacterIsEscapedAndReadsBack() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) } + Array("end".utf8), as: UTF8.self)
        let written = JSON.string(text).buffer
        #expect(!written.readableBytesView.contains { $0 < 0x20 })
        #expect(try JSON.parse(written) == .string(text))
    }

    @Test func keysAreEscapedToo() throws {
        let value: JSON = ["a\"b\n": 1]
        #expect(value.text == #"{"a\"b\n":1}"#)
        #expect(try JSON.parse(value.text) == value)
    }
}

// MARK: - Numbers

@Suite struct JSONNumberTests {
    @Test(arguments: [
        ("0", "0"),
        ("42", "42"),
        ("-17", "-17"),
        ("1.0", "1"),
        ("100.000", "100"),
        ("0.7", "0.7"),
        ("0.1", "0.1"),
        ("-2.5", "-2.5"),
        ("3.14159", "3.14159"),
        ("1e3", "1000"),
        ("1E+3", "1000"),
        ("2.5e-3", "0.0025"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("123456789012345", "123456789012345"),
        ("-123456789012345", "-123456789012345"),
    ])
    func numbersAreWrittenInTheirShortestForm(input: String, written: String) throws {
        #expect(try JSON.parse(input).text == written)
    }

    @Test func negativeZeroIsZero() throws {
        #expect(try JSON.parse("-0").number == 0)
        #expect(try JSON.parse("-0").integer == 0)
    }

    @Test func integersReadAsIntegers() throws {
        #expect(try JSON.parse("256").integer == 256)
        #expect(try JSON.parse("1e3").integer == 1000)
        #expect(try JSON.parse("2.5").integer == nil)
        #expect(try JSON.parse(#""3""#).integer == nil)
    }

    @Test func largeIntegersKeepTheirValue() throws {
        // Past 15 digits the value is the nearest double, as every JSON reader gives it.
        #expect(try JSON.parse("9007199254740993").number == 9_007_199_254_740_992)
        #expect(try JSON.parse("12345678901234567890").number == 12_345_678_901_234_567_890.0)
        #expect(try JSON.parse("-9223372036854775808").number == -9_223_372_036_854_775_808.0)
        for text in ["12345678901234567890", "1e300", "-4.9e-324"] {
            let value = try JSON.parse(text)
            #expect(try JSON.parse(value.text) == value, "\(text) written as \(value.text)")
        }
    }

    /// Integers from 10^15 up to 2^53 are exact doubles and must be written as plain digits:
    /// OpenAI refuses `"seed": 1234567890123456.0` for an integer parameter.
    @Test(arguments: ["1000000000000000", "1234567890123456", "9007199254740991", "-4503599627370496"])
    func largeExactIntegersAreWrittenWithoutAFraction(text: String) throws {
        let value = try JSON.parse(text)
        #expect(value.text == text)
    }

    @Test func nonFiniteNumbersAreWrittenAsNull() {
        #expect(JSON.array([.number(.nan), .number(.infinity), .number(-.infinity)]).text == "[null,null,null]")
    }
}

// MARK: - Refusals

@Suite struct JSONRefusalTests {
    static let refusals: [JSONRefusal] = [
        JSONRefusal("empty text", "", at: 0),
        JSONRefusal("only white space", "   ", at: 3),
        JSONRefusal("trailing comma in an array", "[1,2,]", at: 5),
        JSONRefusal("trailing comma in an object", #"{"a":1,}"#, at: 7),
        JSONRefusal("leading zero", "01", at: 1),
        JSONRefusal("leading zeros in an array", "[007]", at: 2),
        JSONRefusal("negative leading zero", "-01", at: 2),
        JSONRefusal("fraction without digits", "1.", at: 2),
        JSONRefusal("fraction without integer", ".5", at: 0),
        JSONRefusal("plus sign", "+1", at: 0),
        JSONRefusal("exponent without digits", "1e", at: 2),
        JSONRefusal("lone minus", "-", at: 1),
        JSONRefusal("number out of range", "[1e400]", at: 1),
        JSONRefusal("NaN", "NaN", at: 0),
        JSONRefusal("unterminated string", #""abc"#, at: 4),
        JSONRefusal("unterminated string after an escape", #""ab\"#, at: 4),
        JSONRefusal("unterminated string with escapes", #""a\nb"#, at: 5),
        JSONRefusal("bare tab in a string", "\"a\tb\"", at: 2),
        JSONRefusal("bare newline in a string", "\"a\nb\"", at: 2),
        JSONRefusal("bare newline after an escape", "\"\\n\nx\"", at: 3),
        JSONRefusal("invalid escape", #""\x""#, at: 3),
        JSONRefusal("short unicode escape", #""\u12""#, at: 3),
        JSONRefusal("lone high surrogate", #""\ud83d""#, at: 7),
        JSONRefusal("high surrogate then text", #""\ud83dx""#, at: 7),
        JSONRefusal("high surrogate then a non-surrogate", #""\ud83d\u0041""#, at: 13),
        JSONRefusal("lone low surrogate", #""\ude00""#, at: 7),
        JSONRefusal("invalid literal tru", "tru", at: 0),
        JSONRefusal("invalid literal nul", "[nul]", at: 1),
        JSONRefusal("capitalised True", "True", at: 0),
        JSONRefusal("misspelt false", "fals3", at: 0),
        JSONRefusal("text after the value", "{} x", at: 3),
        JSONRefusal("two values", "1 2", at: 2),
        JSONRefusal("two strings", #""a""b""#, at: 3),
        JSONRefusal("comment", "// hi\n{}", at: 0),
        JSONRefusal("single-quoted key", "{'a':1}", at: 1),
        JSONRefusal("missing colon", #"{"a" 1}"#, at: 5),
        JSONRefusal("unclosed array", "[1,2", at: 4),
        JSONRefusal("unclosed object", #"{"a":1"#, at: 6),
        JSONRefusal("missing comma", "[1 2]", at: 3),
    ]

    @Test(arguments: refusals)
    func strictRefusalsNameTheByte(refusal: JSONRefusal) {
        let error = jsonParseError(refusal.bytes)
        #expect(error?.offset == refusal.offset, "\(error.map(String.init(describing:)) ?? "accepted")")
        #expect(error?.description.hasSuffix("at byte \(refusal.offset)") == true)
    }

    @Test func nestingUpToTheLimitIsRead() throws {
        let depth = JSON.maximumDepth
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSON.parse(arrays)
        for _ in 1..<depth { value = value.array?.first ?? .null }
        #expect(value == [])

        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(try JSON.parse(objects).text == objects)
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let depth = JSON.maximumDepth + 1
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(jsonParseError(arrays)?.offset == JSON.maximumDepth)

        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(jsonParseError(objects)?.offset == 5 * JSON.maximumDepth)

        // Far deeper input is refused, not a crash.
        let deep = String(repeating: "[", count: 100_000)
        #expect(jsonParseError(deep)?.offset == JSON.maximumDepth)
    }

    static let invalidUTF8: [JSONRefusal] = [
        JSONRefusal("truncated two-byte sequence", bytes: [0x22, 0xC3, 0x28, 0x22], at: 1),
        JSONRefusal("lone continuation byte", bytes: [0x22, 0x61, 0x80, 0x22], at: 1),
        JSONRefusal("overlong slash", bytes: [0x22, 0xC0, 0xAF, 0x22], at: 1),
        JSONRefusal("encoded surrogate", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], at: 1),
        JSONRefusal("truncated four-byte sequence", bytes: [0x22, 0xF0, 0x9F, 0x98, 0x22], at: 1),
        JSONRefusal("beyond U+10FFFF", bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], at: 1),
        JSONRefusal("0xFF byte", bytes: [0x22, 0xFF, 0x22], at: 1),
        JSONRefusal("in a key", bytes: Array(#"{""#.utf8) + [0xFE] + Array(#"":1}"#.utf8), at: 2),
        JSONRefusal("after an escape", bytes: Array(#""\n"#.utf8) + [0xC3] + Array(#"""#.utf8), at: 1),
        JSONRefusal("outside a string", bytes: [0xEF, 0xBB, 0xBF, 0x7B, 0x7D], at: 0),
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8IsRefused(refusal: JSONRefusal) {
        let error = jsonParseError(refusal.bytes)
        #expect(error?.offset == refusal.offset, "\(error.map(String.init(describing:)) ?? "accepted")")
    }

    @Test func validMultiByteUTF8IsAccepted() throws {
        let bytes: [UInt8] = [0x22, 0xC3, 0xA9, 0xE6, 0x97, 0xA5, 0xF0, 0x9F, 0x98, 0x80, 0x22]
        #expect(try JSON.parse(bytes) == "é日😀")
    }
}

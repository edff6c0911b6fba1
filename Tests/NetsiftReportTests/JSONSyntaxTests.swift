import Foundation
import NetsiftReport
import Testing

@Suite struct JSONSyntaxTests {
    /// Valid and invalid texts, judged against Foundation's JSONSerialization (an independent parser).
    @Test func agreesWithFoundationOnWhatIsValid() throws {
        let texts = [
            #"{}"#, #"[]"#, #" { "a" : [1, -2.5e+3, 0, 0.1, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"] } "#,
            "\"caf\u{e9}\"", "12", "-0", "[[[]]]", #"{"a":{"b":{}}}"#,
            #"{"a" 1}"#, #"[01]"#, #"[1.]"#, #"[.5]"#, #"[1e]"#, #"[-]"#, #"[+1]"#,
            #"{a:1}"#, #"{"a":1} x"#, #"["\x"]"#, #"["\u12"]"#, "[\"a\u{1}\"]", #"[tru]"#, #"[nul]"#, "", " ",
            #"{"a":1"#, #"["#, #"""#, #"{"a":"#,
        ]
        for text in texts {
            let valid = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil
            let error = JSONSyntax.firstError(in: Array(text.utf8))
            #expect((error == nil) == valid, "\(text): Foundation says \(valid ? "valid" : "invalid"), we say \(error.map(\.description) ?? "valid")")
        }
    }

    /// Foundation's parser lets a trailing comma pass; RFC 8259's grammar (sections 4 and 5: a
    /// member or value after every comma) does not, and neither do we.
    @Test func trailingCommasAreErrors() {
        #expect(JSONSyntax.firstError(in: Array(#"{"a":1,}"#.utf8)) == JSONSyntax.Error(problem: "expected a key in double quotes", line: 1, column: 8))
        #expect(JSONSyntax.firstError(in: Array("[1,]".utf8)) == JSONSyntax.Error(problem: "invalid value", line: 1, column: 4))
    }

    /// Positions counted by hand: lines from 1, columns in characters from 1.
    @Test func saysWhereByLineAndColumn() {
        // Line 3 is "  "é": x": the x is its 8th character (é is two bytes, one character).
        let error = JSONSyntax.firstError(in: Array("{\n  \"a\": 1,\n  \"é\": x\n}".utf8))
        #expect(error == JSONSyntax.Error(problem: "invalid value", line: 3, column: 8))
        // The file ends after line 2's "14 " and its line break: line 3, column 1.
        let end = JSONSyntax.firstError(in: Array("{\n  \"capture\": { \"packets\": 14 \n".utf8))
        #expect(end == JSONSyntax.Error(problem: "unexpected end of the file, expected ',' or '}'", line: 3, column: 1))
        #expect(JSONSyntax.firstError(in: Array("[1 2]".utf8)) == JSONSyntax.Error(problem: "expected ',' or ']'", line: 1, column: 4))
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONSyntax.firstError(in: Array(deep.utf8))?.problem == "nested too deeply")
        let fine = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(JSONSyntax.firstError(in: Array(fine.utf8)) == nil)
        // The 513th bracket is one too deep: it is at column 513.
        let over = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(JSONSyntax.firstError(in: Array(over.utf8)) == JSONSyntax.Error(problem: "nested too deeply", line: 1, column: 513))
    }

    @Test func endsInsideAStringAndAByteOrderMark() {
        // A backslash as the last byte: the string never ends (column 4, past the backslash).
        #expect(JSONSyntax.firstError(in: Array(#"["\"#.utf8)) == JSONSyntax.Error(problem: "unexpected end of the file in a string", line: 1, column: 4))
        // EF BB BF then {}: valid (RFC 8259 section 8.1); the mark elsewhere is not.
        #expect(JSONSyntax.firstError(in: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == nil)
        #expect(JSONSyntax.firstError(in: Array("{}".utf8) + [0xEF, 0xBB, 0xBF]) != nil)
    }
}

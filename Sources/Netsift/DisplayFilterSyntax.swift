// The display filter's syntax: characters to tokens to a tree, before any field is looked up
// (Wireshark's epan/dfilter does the same split: scanner, grammar, then semantic check).

/// A filter as written, parsed: tests joined by `and`, `or`, `not`. `and` and `or` chains are kept
/// flat (n-ary), so a long chain does not make the tree deep.
indirect enum FilterSyntax: Sendable, Equatable {
    case test(FieldTest)
    case not(FilterSyntax)
    case and([FilterSyntax])
    case or([FilterSyntax])
}

/// `[any|all] FIELD [relation]`: a bare field tests that it exists.
struct FieldTest: Sendable, Equatable {
    var field: String
    var column: Int
    var quantifier: Quantifier?
    var relation: Relation?
}

/// Which of a multi-valued field's values must satisfy a relation.
enum Quantifier: Sendable, Equatable { case any, all }

enum ComparisonOperator: String, Sendable, Equatable {
    case equal = "=="
    case notEqual = "!="
    case allEqual = "==="
    case anyNotEqual = "!=="
    case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    /// Wireshark 4.0's quantifier for the operator: `!=` is "all not equal", `===` "all equal",
    /// `!==` "any not equal", every other comparison "any".
    var quantifier: Quantifier {
        switch self {
        case .notEqual, .allEqual: .all
        default: .any
        }
    }
}

enum Relation: Sendable, Equatable {
    case compare(ComparisonOperator, Operand)
    case member([SetMember])
    case contains(Operand)
    case matches(Operand)
}

/// A literal as written: a word (`443`, `10.0.0.0/8`, `ff:ff:ff:ff:ff:ff`) or a quoted string
/// (escapes already decoded). Its meaning depends on the field it is compared with.
struct Operand: Sendable, Equatable {
    var text: String
    var quoted: Bool
    var column: Int
}

/// One member of an `in {…}` set: a value, or an inclusive range `low..high`.
struct SetMember: Sendable, Equatable {
    var low: Operand
    var high: Operand?
}

/// The tokens of a filter. Words are everything unquoted (field names, numbers, addresses,
/// keywords); the parser decides which is which by position.
enum FilterToken: Sendable, Equatable {
    case word(String)
    case string(String)
    case comparison(ComparisonOperator)
    case tilde, andSymbol, orSymbol, bang
    case openParen, closeParen, openBrace, closeBrace, comma, range
}

struct PositionedToken: Sendable, Equatable {
    var token: FilterToken
    /// 1-based, in Unicode scalars.
    var column: Int
}

/// Splits a filter into tokens.
struct FilterLexer {
    let scalars: [Unicode.Scalar]

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    func tokens() throws(DisplayFilterError) -> [PositionedToken] {
        var tokens: [PositionedToken] = []
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            let column = i + 1
            if c.properties.isWhitespace { i += 1; continue }
            func peek(_ offset: Int) -> Unicode.Scalar? { i + offset < scalars.count ? scalars[i + offset] : nil }
            func add(_ token: FilterToken, _ length: Int) {
                tokens.append(PositionedToken(token: token, column: column))
                i += length
            }
            switch c {
            case "(": add(.openParen, 1)
            case ")": add(.closeParen, 1)
            case "{": add(.openBrace, 1)
            case "}": add(.closeBrace, 1)
            case ",": add(.comma, 1)
            case "~": add(.tilde, 1)
            case "=":
                if peek(1) == "=" { peek(2) == "=" ? add(.comparison(.allEqual), 3) : add(.comparison(.equal), 2) }
                else { throw DisplayFilterError(column: column, "\"=\" is not an operator; compare with \"==\"") }
            case "!":
                if peek(1) == "=" { peek(2) == "=" ? add(.comparison(.anyNotEqual), 3) : add(.comparison(.notEqual), 2) }
                else { add(.bang, 1) }
            case "<": peek(1) == "=" ? add(.comparison(.lessOrEqual), 2) : add(.comparison(.less), 1)
            case ">": peek(1) == "=" ? add(.comparison(.greaterOrEqual), 2) : add(.comparison(.greater), 1)
            case "&":
                guard peek(1) == "&" else { throw Self.unsupported("&", "bitwise and", column) }
                add(.andSymbol, 2)
            case "|":
                guard peek(1) == "|" else { throw DisplayFilterError(column: column, "\"|\" is not an operator; write \"||\" or \"or\"") }
                add(.orSymbol, 2)
            case "\"":
                let (text, length) = try string(from: i, raw: false)
                add(.string(text), length)
            case "r" where peek(1) == "\"":
                let (text, length) = try string(from: i + 1, raw: true)
                add(.string(text), length + 1)
            case "." where peek(1) == ".":
                add(.range, 2)
            case "[": throw Self.unsupported("[", "slices", column)
            case "#": throw Self.unsupported("#", "layer selection", column)
            case "$": throw Self.unsupported("$", "field references", column)
            case "+", "*", "%": throw Self.unsupported(String(c), "arithmetic", column)
            default:
                guard Self.isWordScalar(c) else {
                    throw DisplayFilterError(column: column, "unexpected character \"\(c)\"")
                }
                var end = i
                // A word stops before "..", which separates the ends of a range (`1..5`).
                while end < scalars.count, Self.isWordScalar(scalars[end]),
                      !(scalars[end] == "." && end + 1 < scalars.count && scalars[end + 1] == ".") {
                    end += 1
                }
                var word = ""
                word.unicodeScalars.append(contentsOf: scalars[i..<end])
                add(.word(word), end - i)
            }
        }
        return tokens
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", ":", "/", "-": true
        default: false
        }
    }

    static func unsupported(_ symbol: String, _ feature: String, _ column: Int) -> DisplayFilterError {
        DisplayFilterError(column: column, "\"\(symbol)\" (\(feature)) is not supported by Netsift's display filters")
    }

    /// A double-quoted string starting at `start` (the quote): its decoded text and its length in
    /// scalars, quotes included. A raw string keeps its backslashes (but `\"` does not end it).
    func string(from start: Int, raw: Bool) throws(DisplayFilterError) -> (String, Int) {
        var bytes: [UInt8] = []
        var i = start + 1
        func appendScalar(_ s: Unicode.Scalar) { bytes.append(contentsOf: Array(String(s).utf8)) }
        while i < scalars.count {
            let c = scalars[i]
            if c == "\"" {
                return (String(decoding: bytes, as: UTF8.self), i + 1 - start)
            }
            guard c == "\\" else { appendScalar(c); i += 1; continue }
            guard i + 1 < scalars.count else { break }
            let next = scalars[i + 1]
            if raw {
                appendScalar(c)
                appendScalar(next)
                i += 2
                continue
            }
            i += 2
            switch next {
            case "\"", "\\", "'": appendScalar(next)
            case "a": bytes.append(0x07)
            case "b": bytes.append(0x08)
            case "f": bytes.append(0x0C)
            case "n": bytes.append(0x0A)
            case "r": bytes.append(0x0D)
            case "t": bytes.append(0x09)
            case "v": bytes.append(0x0B)
            case "x":
                let digits = hexDigits(at: i, max: 2)
                guard digits.count > 0, let value = UInt8(digits, radix: 16) else {
                    throw DisplayFilterError(column: i - 1, "\"\\x\" needs one or two hexadecimal digits")
                }
                bytes.append(value)
                i += digits.count
            case "0"..."7":
                var digits = String(next)
                while digits.count < 3, i < scalars.count, ("0"..."7").contains(scalars[i]) {
                    digits.unicodeScalars.append(scalars[i])
                    i += 1
                }
                guard let value = UInt8(digits, radix: 8) else {
                    throw DisplayFilterError(column: i - digits.count, "octal escape \"\\\(digits)\" is above \\377")
                }
                bytes.append(value)
            case "u", "U":
                let count = next == "u" ? 4 : 8
                let digits = hexDigits(at: i, max: count)
                guard digits.count == count, let value = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(value) else {
                    throw DisplayFilterError(column: i - 1, "\"\\\(next)\" needs \(count) hexadecimal digits naming a Unicode code point")
                }
                appendScalar(scalar)
                i += count
            default:
                throw DisplayFilterError(column: i - 1, "unknown escape \"\\\(next)\" in a string")
            }
        }
        throw DisplayFilterError(column: start + 1, "the string is not closed (a \" is missing)")
    }

    private func hexDigits(at start: Int, max: Int) -> String {
        var digits = ""
        var i = start
        while digits.count < max, i < scalars.count, scalars[i].properties.isASCIIHexDigit {
            digits.unicodeScalars.append(scalars[i])
            i += 1
        }
        return digits
    }
}

/// Recursive descent over the tokens: `or` binds loosest, then `and`, then `not`.
struct FilterParser {
    /// How deep parentheses and `not` may nest: a bound, so no input exhausts the stack.
    static let maximumDepth = 200

    private let tokens: [PositionedToken]
    private let endColumn: Int
    private var index = 0
    private var depth = 0

    init(_ text: String) throws(DisplayFilterError) {
        tokens = try FilterLexer(text).tokens()
        endColumn = text.unicodeScalars.count + 1
    }

    static func parse(_ text: String) throws(DisplayFilterError) -> FilterSyntax {
        var parser = try FilterParser(text)
        guard !parser.tokens.isEmpty else { throw DisplayFilterError(column: 1, "the filter is empty") }
        let tree = try parser.orExpression()
        if let extra = parser.current {
            throw DisplayFilterError(column: extra.column, "unexpected \(Self.describe(extra.token)) after a complete expression")
        }
        return tree
    }

    private var current: PositionedToken? { index < tokens.count ? tokens[index] : nil }

    private func isWord(_ word: String, at offset: Int = 0) -> Bool {
        index + offset < tokens.count && tokens[index + offset].token == .word(word)
    }

    private mutating func orExpression() throws(DisplayFilterError) -> FilterSyntax {
        var terms = [try andExpression()]
        while current?.token == .orSymbol || isWord("or") {
            index += 1
            terms.append(try andExpression())
        }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    private mutating func andExpression() throws(DisplayFilterError) -> FilterSyntax {
        var terms = [try unary()]
        while current?.token == .andSymbol || isWord("and") {
            index += 1
            terms.append(try unary())
        }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private mutating func unary() throws(DisplayFilterError) -> FilterSyntax {
        guard let token = current else { throw missing("a field name or \"(\"") }
        if token.token == .bang || isWord("not") || token.token == .openParen {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else {
                throw DisplayFilterError(column: token.column, "parentheses and \"not\" nest deeper than \(Self.maximumDepth) levels")
            }
            index += 1
            if token.token == .openParen {
                let inner = try orExpression()
                guard current?.token == .closeParen else {
                    throw current.map { DisplayFilterError(column: $0.column, "expected \")\" to close the \"(\" at column \(token.column), found \(Self.describe($0.token))") }
                        ?? DisplayFilterError(column: endColumn, "the \"(\" at column \(token.column) is not closed")
                }
                index += 1
                return inner
            }
            return .not(try unary())
        }
        var test = try fieldTest()
        // `FIELD not in {…}` is the negation of `FIELD in {…}` (a missing field passes it).
        if test.relation == nil, isWord("not"), isWord("in", at: 1) {
            index += 2
            test.relation = .member(try set())
            return .not(.test(test))
        }
        return .test(test)
    }

    private mutating func fieldTest() throws(DisplayFilterError) -> FieldTest {
        var quantifier: Quantifier?
        if isWord("any") || isWord("all"), case .word = tokens[safe: index + 1]?.token {
            quantifier = isWord("any") ? .any : .all
            index += 1
        }
        guard let token = current, case .word(let name) = token.token, !Self.keywords.contains(name),
              name.first?.isLetter == true else {
            let found = current
            throw DisplayFilterError(column: found?.column ?? endColumn,
                                     "expected a field name, found \(found.map { Self.describe($0.token) } ?? "the end of the filter")")
        }
        index += 1
        var test = FieldTest(field: name, column: token.column, quantifier: quantifier)
        guard let next = current else { return test }
        switch next.token {
        case .comparison(let op):
            index += 1
            test.relation = .compare(op, try operand(after: op.rawValue))
        case .tilde:
            index += 1
            test.relation = .matches(try operand(after: "~"))
        case .word(let word):
            switch word {
            case "eq", "any_eq": index += 1; test.relation = .compare(.equal, try operand(after: word))
            case "ne", "all_ne": index += 1; test.relation = .compare(.notEqual, try operand(after: word))
            case "all_eq": index += 1; test.relation = .compare(.allEqual, try operand(after: word))
            case "any_ne": index += 1; test.relation = .compare(.anyNotEqual, try operand(after: word))
            case "lt": index += 1; test.relation = .compare(.less, try operand(after: word))
            case "le": index += 1; test.relation = .compare(.lessOrEqual, try operand(after: word))
            case "gt": index += 1; test.relation = .compare(.greater, try operand(after: word))
            case "ge": index += 1; test.relation = .compare(.greaterOrEqual, try operand(after: word))
            case "contains": index += 1; test.relation = .contains(try operand(after: word))
            case "matches": index += 1; test.relation = .matches(try operand(after: word))
            case "in": index += 1; test.relation = .member(try set())
            default: break
            }
        default: break
        }
        return test
    }

    private mutating func operand(after op: String) throws(DisplayFilterError) -> Operand {
        guard let token = current else { throw missing("a value after \"\(op)\"") }
        switch token.token {
        case .word(let text) where !Self.keywords.contains(text):
            index += 1
            return Operand(text: text, quoted: false, column: token.column)
        case .string(let text):
            index += 1
            return Operand(text: text, quoted: true, column: token.column)
        default:
            throw DisplayFilterError(column: token.column, "expected a value after \"\(op)\", found \(Self.describe(token.token))")
        }
    }

    private mutating func set() throws(DisplayFilterError) -> [SetMember] {
        guard let open = current, open.token == .openBrace else {
            throw current.map { DisplayFilterError(column: $0.column, "expected \"{\" after \"in\", found \(Self.describe($0.token))") }
                ?? missing("\"{\" after \"in\"")
        }
        index += 1
        var members: [SetMember] = []
        while true {
            guard let token = current else {
                throw DisplayFilterError(column: endColumn, "the set opened at column \(open.column) is not closed (a \"}\" is missing)")
            }
            if token.token == .closeBrace {
                guard !members.isEmpty else { throw DisplayFilterError(column: token.column, "the set is empty") }
                index += 1
                return members
            }
            // Members are separated by commas (Wireshark 4.0) or by spaces (Wireshark 3.x).
            if token.token == .comma, !members.isEmpty {
                index += 1
                continue
            }
            let low = try operand(after: members.isEmpty ? "{" : ",")
            var member = SetMember(low: low)
            if current?.token == .range {
                index += 1
                member.high = try operand(after: "..")
            }
            members.append(member)
        }
    }

    private func missing(_ what: String) -> DisplayFilterError {
        DisplayFilterError(column: endColumn, "expected \(what), found the end of the filter")
    }

    static let keywords: Set<String> = [
        "and", "or", "not", "in", "contains", "matches", "eq", "ne", "lt", "le", "gt", "ge",
        "any_eq", "all_eq", "any_ne", "all_ne",
    ]

    static func describe(_ token: FilterToken) -> String {
        switch token {
        case .word(let word): "\"\(word)\""
        case .string(let text): "the string \"\(text)\""
        case .comparison(let op): "\"\(op.rawValue)\""
        case .tilde: "\"~\""
        case .andSymbol: "\"&&\""
        case .orSymbol: "\"||\""
        case .bang: "\"!\""
        case .openParen: "\"(\""
        case .closeParen: "\")\""
        case .openBrace: "\"{\""
        case .closeBrace: "\"}\""
        case .comma: "\",\""
        case .range: "\"..\""
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

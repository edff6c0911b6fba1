/// Where a JSON text (RFC 8259) first breaks the grammar, by line and column, so that `check` can
/// point at the mistake in an expectation file: the decoder only says the data is not valid JSON.
public enum JSONSyntax {
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public var problem: String
        /// From 1.
        public var line: Int
        /// From 1, in characters (Unicode scalars) from the start of the line.
        public var column: Int

        public init(problem: String, line: Int, column: Int) {
            self.problem = problem
            self.line = line
            self.column = column
        }

        public var description: String { "\(problem) at line \(line), column \(column)" }
    }

    /// Containers nested deeper than this are an error (as deep as the decoder goes), which also
    /// bounds the recursion.
    public static let maximumDepth = 512

    /// The first syntax error in `text`, or nil when it holds exactly one JSON value. A leading
    /// UTF-8 byte order mark is skipped, as RFC 8259 section 8.1 lets a parser do (editors write one).
    public static func firstError(in text: [UInt8]) -> Error? {
        var scanner = Scanner(text: text)
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.index = 3 }
        do throws(Error) {
            try scanner.value(depth: 0)
            scanner.skipWhitespace()
            if scanner.index < text.count { throw scanner.error("unexpected text after the JSON value") }
            return nil
        } catch {
            return error
        }
    }

    struct Scanner {
        let text: [UInt8]
        var index = 0

        init(text: [UInt8]) { self.text = text }

        var next: UInt8? { index < text.count ? text[index] : nil }

        mutating func skipWhitespace() {
            while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func value(depth: Int) throws(Error) {
            skipWhitespace()
            guard let byte = next else { throw error("unexpected end of the file, expected a value") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth + 1)
            case UInt8(ascii: "["): try array(depth: depth + 1)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            case UInt8(ascii: "t"): try word("true")
            case UInt8(ascii: "f"): try word("false")
            case UInt8(ascii: "n"): try word("null")
            default: throw error("invalid value")
            }
        }

        mutating func object(depth: Int) throws(Error) {
            guard depth <= JSONSyntax.maximumDepth else { throw error("nested too deeply") }
            index += 1   // {
            skipWhitespace()
            if next == UInt8(ascii: "}") { index += 1; return }
            while true {
                skipWhitespace()
                guard next == UInt8(ascii: "\"") else { throw error(next == nil ? "unexpected end of the file, expected a key" : "expected a key in double quotes") }
                try string()
                skipWhitespace()
                guard next == UInt8(ascii: ":") else { throw error("expected ':' after the key") }
                index += 1
                try value(depth: depth)
                skipWhitespace()
                switch next {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return
                case nil: throw error("unexpected end of the file, expected ',' or '}'")
                default: throw error("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(Error) {
            guard depth <= JSONSyntax.maximumDepth else { throw error("nested too deeply") }
            index += 1   // [
            skipWhitespace()
            if next == UInt8(ascii: "]") { index += 1; return }
            while true {
                try value(depth: depth)
                skipWhitespace()
                switch next {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return
                case nil: throw error("unexpected end of the file, expected ',' or ']'")
                default: throw error("expected ',' or ']'")
                }
            }
        }

        mutating func string() throws(Error) {
            index += 1   // "
            while let byte = next {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = next else { break }
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            index += 1
                            guard let digit = next, digit.isHexDigit else { throw error("expected four hex digits after \\u") }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                        throw error("invalid escape")
                    }
                    index += 1
                case 0..<0x20:
                    throw error("control character in a string (write it escaped)")
                default:
                    index += 1
                }
            }
            throw error("unexpected end of the file in a string")
        }

        mutating func number() throws(Error) {
            if next == UInt8(ascii: "-") { index += 1 }
            if next == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                throw error("invalid number")
            }
            if next == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("expected digits after the decimal point") }
            }
            if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
                index += 1
                if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("expected digits in the exponent") }
            }
        }

        /// Skips decimal digits; how many.
        mutating func digits() -> Int {
            let start = index
            while let byte = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index - start
        }

        mutating func word(_ word: String) throws(Error) {
            for expected in word.utf8 {
                guard next == expected else { throw error("invalid value") }
                index += 1
            }
        }

        /// An error at the current position.
        func error(_ problem: String) -> Error {
            var line = 1, column = 1
            for byte in text[..<min(index, text.count)] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {   // not a UTF-8 continuation byte: a new character
                    column += 1
                }
            }
            return Error(problem: problem, line: line, column: column)
        }
    }
}

private extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}

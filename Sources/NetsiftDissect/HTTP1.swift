/// An HTTP/1.x message head (RFC 9112 §2–5): the request line or status line and the header
/// fields, decoded from the bytes before the empty line that ends it (the caller buffers them).
/// Obsolete line folding (§5.2) is joined with one space; a line that is not `name: value` is
/// a problem, as llhttp makes it one.
public struct HTTP1Head: Decodable, Sendable, Equatable, Encodable {
    public struct Field: Decodable, Sendable, Equatable, Encodable {
        public var name: String
        public var value: String
    }

    /// A request: method and request target; a response: status code and reason phrase.
    public var method: String?
    public var target: String?
    public var status: Int?
    public var reason: String?
    /// "HTTP/1.1", "HTTP/1.0".
    public var version: String
    public var fields: [Field]

    public var isRequest: Bool { method != nil }

    /// The first field of that name (case-insensitive), as sent.
    public func field(_ name: String) -> String? {
        fields.first { $0.name.lowercased() == name }?.value
    }

    public var host: String? { field("host") }
    /// Content-Length as a number; nil when absent; `.invalid` when not one number (or several
    /// that differ), which makes the message's framing unknown (RFC 9112 §6.3).
    public var contentLength: ContentLength {
        let values = fields.filter { $0.name.lowercased() == "content-length" }
            .flatMap { $0.value.split(separator: ",").map { $0.trimmingSpaces } }
        guard let first = values.first else { return .absent }
        guard let length = Int(first), length >= 0, values.allSatisfy({ $0 == first }) else { return .invalid }
        return .length(length)
    }
    /// The Transfer-Encoding field, as sent.
    public var transferEncoding: String? { field("transfer-encoding") }
    /// Chunked is the final transfer coding (RFC 9112 §6.3: it then overrides Content-Length).
    public var isChunked: Bool {
        guard let codings = transferEncoding?.lowercased() else { return false }
        return codings.split(separator: ",").last.map { $0.trimmingSpaces == "chunked" } ?? false
    }
    /// `Connection: close`.
    public var closesConnection: Bool {
        field("connection")?.lowercased().split(separator: ",").contains { $0.trimmingSpaces == "close" } ?? false
    }

    public enum ContentLength: Decodable, Sendable, Equatable {
        case absent, invalid
        case length(Int)
    }

    /// One line for `netsift packets`: "GET /index.html HTTP/1.1 (Host example.com)",
    /// "HTTP/1.1 200 OK".
    public var summaryLine: String {
        if let method {
            return "\(method) \(target ?? "") \(version)" + (host.map { " (Host \($0))" } ?? "")
        }
        return "\(version) \(status ?? 0)" + (reason.map { $0.isEmpty ? "" : " \($0)" } ?? "")
    }

    /// Decodes a head from `bytes` (without its final empty line). Throws what is wrong.
    public static func decode(_ bytes: RawSpan) throws(HTTP1Problem) -> HTTP1Head {
        var lines: [String] = []
        var start = 0
        var index = 0
        let count = bytes.byteCount
        while index <= count {
            if index == count || bytes.u8(index) == 0x0A {
                var end = index
                if end > start && bytes.u8(end - 1) == 0x0D { end -= 1 }
                var line = [UInt8]()
                line.append(bytes, start..<end)
                let text = String(decoding: line, as: UTF8.self)
                // Obsolete line folding: a line starting with space or tab continues the field.
                if let first = line.first, first == 0x20 || first == 0x09, lines.count > 1 {
                    lines[lines.count - 1] += " " + text.trimmingSpaces
                } else {
                    lines.append(text)
                }
                start = index + 1
            }
            index += 1
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let startLine = lines.first else { throw .badStartLine("") }
        var head: HTTP1Head
        let parts = startLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        if startLine.hasPrefix("HTTP/") {
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]),
                  (100...999).contains(status) else { throw .badStartLine(String(startLine.prefix(80))) }
            head = HTTP1Head(method: nil, target: nil, status: status, reason: parts.count > 2 ? parts[2] : "",
                             version: parts[0], fields: [])
        } else {
            guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty, parts[2].hasPrefix("HTTP/1.") else {
                throw .badStartLine(String(startLine.prefix(80)))
            }
            head = HTTP1Head(method: parts[0], target: parts[1], status: nil, reason: nil, version: parts[2], fields: [])
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  isToken(String(line[..<colon])) else { throw .badHeaderLine(String(line.prefix(80))) }
            head.fields.append(Field(name: String(line[..<colon]),
                                     value: line[line.index(after: colon)...].trimmingSpaces))
        }
        return head
    }

    /// RFC 9110 §5.6.2 token characters.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// True when `bytes`, the first bytes of a TCP direction, start an HTTP/1.x request (a method
    /// Wireshark's heuristic knows, then a space) or a response ("HTTP/1.").
    public static func looksLikeHTTP1(_ bytes: RawSpan) -> Bool {
        var prefix = [UInt8]()
        prefix.append(bytes, 0..<min(bytes.byteCount, 16))
        let text = String(decoding: prefix, as: UTF8.self)
        if text.hasPrefix("HTTP/1.") { return true }
        guard let space = text.firstIndex(of: " ") else { return false }
        return knownMethods.contains(String(text[..<space]))
    }

    static let knownMethods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
    ]
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}

/// What is wrong with an HTTP/1.x stream.
public enum HTTP1Problem: Decodable, Error, Sendable, Equatable, Encodable, CustomStringConvertible {
    case badStartLine(String)
    case badHeaderLine(String)
    /// A head longer than `HTTP1Connection.headLimit`: the direction is no longer followed.
    case headTooLong(limit: Int)
    /// A Content-Length that is not a number: the message's end cannot be found.
    case badContentLength
    /// A chunk-size line that is not hexadecimal, or longer than the chunk-line limit.
    case badChunk
    /// More requests waiting for their responses than `HTTP1Connection.pendingLimit`.
    case tooManyPending(limit: Int)

    /// A limit of ours (`headTooLong`, `tooManyPending`) rather than malformed HTTP.
    public var isLimit: Bool {
        switch self {
        case .headTooLong, .tooManyPending: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .badStartLine(let line): "not an HTTP/1.x request or status line: \(line)"
        case .badHeaderLine(let line): "not a header line: \(line)"
        case .headTooLong(let limit): "a message head longer than \(limit) bytes; this direction is no longer followed"
        case .badContentLength: "Content-Length is not one number; this direction is no longer followed"
        case .badChunk: "a chunk size line that is not one; this direction is no longer followed"
        case .tooManyPending(let limit): "more than \(limit) requests waiting for a response; the oldest is dropped"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .badStartLine(let line): try tagged.encode("badStartLine", ["line": line])
        case .badHeaderLine(let line): try tagged.encode("badHeaderLine", ["line": line])
        case .headTooLong(let limit): try tagged.encode("headTooLong", ["limit": limit])
        case .badContentLength: try tagged.encode("badContentLength")
        case .badChunk: try tagged.encode("badChunk")
        case .tooManyPending(let limit): try tagged.encode("tooManyPending", ["limit": limit])
        }
    }
}

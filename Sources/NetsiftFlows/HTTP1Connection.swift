import NetsiftDissect

/// A request as its response remembers it.
public struct HTTP1RequestLine: Decodable, Sendable, Equatable, Encodable {
    public var method: String
    public var target: String
    public var host: String?
    /// The frame and time of the request's last byte (of its head while its body is still coming,
    /// as after `Expect: 100-continue`).
    public var frame: Int
    public var time: Int64
}

/// One HTTP/1.x message, or what went wrong reading one.
public enum HTTP1Message: Decodable, Sendable, Equatable, Encodable {
    /// A complete request: its head and the size of its body as sent (chunk framing included).
    case request(head: HTTP1Head, bodyBytes: Int)
    /// A complete response, with the request it answers (nil when the capture missed it).
    /// `firstByteTime` is when its head's first byte went by (time to first byte = that minus the
    /// request's time); a 1xx response is interim and the request is still waiting.
    case response(head: HTTP1Head, bodyBytes: Int, request: HTTP1RequestLine?, firstByteTime: Int64)
    /// A CONNECT succeeded (or a 101 switched protocols): from here the connection carries other
    /// bytes; `tls` says whether the client's first bytes in the tunnel are a TLS record.
    case tunnel(tls: Bool)
    case problem(HTTP1Problem)

    public var summaryLine: String {
        switch self {
        case .request(let head, let body):
            "HTTP " + head.summaryLine + (body > 0 ? ", body \(body) bytes" : "")
        case .response(let head, let body, let request, let firstByte):
            // The status line starts with the version ("HTTP/1.1 200 OK"): no protocol prefix.
            head.summaryLine + (body > 0 ? ", body \(body) bytes" : "")
                + (request.map {
                    " (answers \($0.method) \($0.target), frame \($0.frame); first byte after "
                        + "\(Double((firstByte - $0.time) / 1_000) / 1_000) ms)"
                } ?? "")
        case .tunnel(let tls): "HTTP tunnel established" + (tls ? ": TLS inside" : "")
        case .problem(let problem): "HTTP " + (problem.isLimit ? "" : "malformed: ") + problem.description
        }
    }

    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .request(let head, let body): try tagged.encode("request", merging: head, ["bodyBytes": body])
        case .response(let head, let body, let request, let first):
            try tagged.encode("response", merging: head, ["bodyBytes": body, "request": request,
                                                          "firstByteTime": first])
        case .tunnel(let tls): try tagged.encode("tunnel", ["tls": tls])
        case .problem(let problem): try tagged.encode("problem", ["problem": problem])
        }
    }
}

/// Follows one HTTP/1.x connection from its reassembled bytes (RFC 9112): heads are buffered (at
/// most `headLimit`), bodies are counted and skipped without copying — by Content-Length, chunk
/// by chunk (chunk-size lines at most `chunkLineLimit`), or to the connection's end. Requests
/// wait for their responses in order (keep-alive, pipelining; at most `pendingLimit`); a 1xx
/// response is interim, a HEAD request's response and 204/304 have no body, a CONNECT answered
/// 2xx or a 101 turns the connection into a tunnel. Heads are recognised in either direction, so
/// a capture that missed the handshake still pairs messages by content.
///
/// A response whose body runs to the connection's end is reported when its head is complete
/// (the parser is not told when the connection ends), with the body bytes not counted.
public struct HTTP1Connection: Sendable {
    public static let headLimit = 65_536
    public static let chunkLineLimit = 1_024
    public static let pendingLimit = 1_024

    struct Direction: Sendable {
        enum Phase: Sendable, Equatable {
            case head
            case body(remaining: Int)
            case chunkLine
            case chunkData(remaining: Int)
            /// The CRLF after a chunk's data.
            case chunkEnd(remaining: Int)
            case trailer
            case untilClose
            case tunnel
            /// After a gap: waiting for bytes that start an HTTP/1.x message.
            case resync
            case stopped
        }
        var phase = Phase.head
        var buffer: [UInt8] = []
        var head: HTTP1Head?
        var bodyBytes = 0
        var firstByteTime: Int64 = 0
        /// The tunnel this direction asked for (CONNECT, Upgrade) is open: its next bytes are
        /// reported once (whether they are TLS), then nothing more is parsed.
        var tunnelReported = false
    }

    var client = Direction()
    var server = Direction()
    /// Requests waiting for their final response, oldest first (`pendingStart` is the oldest).
    var pending: [HTTP1RequestLine] = []
    var pendingStart = 0
    /// The direction being fed is the client's (the other one is then `server`).
    var feedingClient = true

    public init() {}

    /// True while either side is still parsed.
    public var wantsBytes: Bool {
        !(Self.done(client.phase) && Self.done(server.phase))
    }

    static func done(_ phase: Direction.Phase) -> Bool {
        phase == .stopped || phase == .tunnel || phase == .untilClose
    }

    public mutating func consume(fromClient: Bool, _ bytes: RawSpan, frame: Int, time: Int64,
                                 emit: (HTTP1Message) -> Void) {
        var direction = fromClient ? client : server
        if fromClient { client = Direction() } else { server = Direction() }   // no copy-on-write of the buffer
        feedingClient = fromClient
        consume(&direction, bytes, frame: frame, time: time, emit: emit)
        if fromClient { client = direction } else { server = direction }
    }

    /// Bytes are missing: the message in progress is dropped; parsing resumes at the next segment
    /// that starts an HTTP/1.x message. A response lost mid-way takes its request with it.
    public mutating func gap(fromClient: Bool) {
        var direction = fromClient ? client : server
        guard direction.phase != .stopped && direction.phase != .tunnel else { return }
        if direction.head?.isRequest == false || (direction.phase == .head && !direction.buffer.isEmpty && !fromClient) {
            dropOldestPending()
        }
        direction.phase = .resync
        direction.buffer.removeAll(keepingCapacity: true)
        direction.head = nil
        if fromClient { client = direction } else { server = direction }
    }

    mutating func consume(_ d: inout Direction, _ bytes: RawSpan, frame: Int, time: Int64, emit: (HTTP1Message) -> Void) {
        if d.phase == .resync {
            guard HTTP1Head.looksLikeHTTP1(bytes) else { return }
            d.phase = .head
        }
        var offset = 0
        let count = bytes.byteCount
        while offset < count {
            switch d.phase {
            case .stopped, .untilClose, .resync:
                return
            case .tunnel:
                if !d.tunnelReported {
                    d.tunnelReported = true
                    emit(.tunnel(tls: TLSStreamParser.looksLikeTLS(bytes.extracting(offset..<count))))
                }
                return
            case .head:
                if d.buffer.isEmpty { d.firstByteTime = time }
                // Up to and including the empty line that ends the head.
                var end: Int?
                var i = offset
                while i < count {
                    let byte = bytes.u8(i)
                    d.buffer.append(byte)
                    i += 1
                    if byte == 0x0A && endsHead(d.buffer) { end = i; break }
                    // Blank lines before a message are ignored (RFC 9112 §2.2).
                    if d.buffer == [0x0D, 0x0A] || d.buffer == [0x0A] { d.buffer.removeAll(keepingCapacity: true) }
                    if d.buffer.count > Self.headLimit { break }
                }
                offset = i
                if d.buffer.count > Self.headLimit {
                    emit(.problem(.headTooLong(limit: Self.headLimit)))
                    stop(&d)
                    return
                }
                guard end != nil else { return }
                headComplete(&d, frame: frame, time: time, emit: emit)
            case .body(let remaining):
                let take = min(remaining, count - offset)
                d.bodyBytes += take
                offset += take
                if take == remaining { messageComplete(&d, frame: frame, time: time, emit: emit) } else {
                    d.phase = .body(remaining: remaining - take)
                }
            case .chunkLine, .trailer:
                let byte = bytes.u8(offset)
                offset += 1
                d.bodyBytes += 1
                d.buffer.append(byte)
                if d.buffer.count > Self.chunkLineLimit {
                    emit(.problem(.badChunk))
                    stop(&d)
                    return
                }
                guard byte == 0x0A else { continue }
                let line = d.buffer
                d.buffer.removeAll(keepingCapacity: true)
                if d.phase == .trailer {
                    if line == [0x0D, 0x0A] || line == [0x0A] { messageComplete(&d, frame: frame, time: time, emit: emit) }
                    continue
                }
                guard let size = Self.chunkSize(line) else {
                    emit(.problem(.badChunk))
                    stop(&d)
                    return
                }
                d.phase = size == 0 ? .trailer : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let take = min(remaining, count - offset)
                d.bodyBytes += take
                offset += take
                d.phase = take == remaining ? .chunkEnd(remaining: 2) : .chunkData(remaining: remaining - take)
            case .chunkEnd(let remaining):
                // CRLF (or a bare LF) after the data.
                let byte = bytes.u8(offset)
                offset += 1
                d.bodyBytes += 1
                if byte == 0x0A || remaining == 1 { d.phase = .chunkLine } else { d.phase = .chunkEnd(remaining: 1) }
            }
        }
    }

    /// The buffer ends with an empty line: CRLF CRLF, or LF LF (tolerated, as llhttp does).
    func endsHead(_ buffer: [UInt8]) -> Bool {
        let n = buffer.count
        if n >= 4 && buffer[n - 4] == 0x0D && buffer[n - 3] == 0x0A && buffer[n - 2] == 0x0D { return true }
        return n >= 2 && buffer[n - 2] == 0x0A
    }

    /// "1a;name=value\r\n" -> 26; nil when not hexadecimal.
    static func chunkSize(_ line: [UInt8]) -> Int? {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            default:
                return digits > 0 ? size : nil   // ';' (extensions), ' ', CR end the size
            }
            digits += 1
            guard digits <= 15 else { return nil }
            size = size << 4 | value
        }
        return digits > 0 ? size : nil
    }

    mutating func stop(_ d: inout Direction) {
        d.phase = .stopped
        d.buffer = []
        d.head = nil
    }

    mutating func headComplete(_ d: inout Direction, frame: Int, time: Int64, emit: (HTTP1Message) -> Void) {
        let decoded: Result<HTTP1Head, HTTP1Problem> = d.buffer.withUnsafeBytes { raw in
            do throws(HTTP1Problem) {
                return .success(try HTTP1Head.decode(raw.bytes))
            } catch {
                return .failure(error)
            }
        }
        d.buffer.removeAll(keepingCapacity: true)
        let head: HTTP1Head
        switch decoded {
        case .success(let value): head = value
        case .failure(let problem):
            emit(.problem(problem))
            stop(&d)
            return
        }
        d.head = head
        d.bodyBytes = 0
        let length = head.contentLength
        if length == .invalid && !head.isChunked {
            emit(.problem(.badContentLength))
        }
        if let method = head.method {
            if pending.count - pendingStart >= Self.pendingLimit {
                emit(.problem(.tooManyPending(limit: Self.pendingLimit)))
                dropOldestPending()
            }
            pending.append(HTTP1RequestLine(method: method, target: head.target ?? "", host: head.host, frame: frame,
                                            time: time))
            if head.isChunked { d.phase = .chunkLine }
            else if case .length(let n) = length, n > 0 { d.phase = .body(remaining: n) }
            else if length == .invalid { return stopAfter(&d, frame: frame, time: time, emit: emit) }
            else { messageComplete(&d, frame: frame, time: time, emit: emit) }
            return
        }
        let status = head.status ?? 0
        let request = pending.count > pendingStart ? pending[pendingStart] : nil
        if (100...199).contains(status) && status != 101 {
            messageComplete(&d, frame: frame, time: time, emit: emit)
            return
        }
        if status == 101 || (request?.method == "CONNECT" && (200...299).contains(status)) {
            messageComplete(&d, frame: frame, time: time, emit: emit)
            // Both directions now carry the tunnel; the requester's next bytes say what it holds.
            d.phase = .tunnel
            d.tunnelReported = true
            if feedingClient {
                if server.phase != .stopped { server.phase = .tunnel }
            } else if client.phase != .stopped {
                client.phase = .tunnel
            }
            return
        }
        if request?.method == "HEAD" || status == 204 || status == 304 {
            messageComplete(&d, frame: frame, time: time, emit: emit)
        } else if head.isChunked {
            d.phase = .chunkLine
        } else if case .length(let n) = length {
            if n > 0 { d.phase = .body(remaining: n) } else { messageComplete(&d, frame: frame, time: time, emit: emit) }
        } else if length == .invalid {
            stopAfter(&d, frame: frame, time: time, emit: emit)
        } else {
            // Delimited by the connection's end: reported now, the rest of the direction is body.
            messageComplete(&d, frame: frame, time: time, emit: emit)
            d.phase = .untilClose
        }
    }

    /// A message whose framing cannot be known: reported, then the direction is not followed.
    mutating func stopAfter(_ d: inout Direction, frame: Int, time: Int64, emit: (HTTP1Message) -> Void) {
        messageComplete(&d, frame: frame, time: time, emit: emit)
        stop(&d)
    }

    mutating func messageComplete(_ d: inout Direction, frame: Int, time: Int64, emit: (HTTP1Message) -> Void) {
        guard let head = d.head else { return }
        d.head = nil
        d.phase = .head
        if head.isRequest {
            // The request's time is that of its last byte.
            if let last = pending.indices.last, last >= pendingStart {
                pending[last].frame = frame
                pending[last].time = time
            }
            emit(.request(head: head, bodyBytes: d.bodyBytes))
            return
        }
        let status = head.status ?? 0
        let interim = (100...199).contains(status) && status != 101
        let request = pending.count > pendingStart ? pending[pendingStart] : nil
        emit(.response(head: head, bodyBytes: d.bodyBytes, request: request, firstByteTime: d.firstByteTime))
        if !interim { dropOldestPending() }
    }

    mutating func dropOldestPending() {
        guard pending.count > pendingStart else { return }
        pendingStart += 1
        // Compact now and then: the array never holds more than twice the waiting requests.
        if pendingStart >= 64 && pendingStart * 2 >= pending.count {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        } else if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
        }
    }
}

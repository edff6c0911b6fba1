import NetsiftDissect

// What an `HTTP2Connection` reports: owned values that outlive the packets, each with the line
// `netsift packets` prints.

/// One thing an HTTP/2 connection said, with where (the packet) and who (client or server).
public struct HTTP2Message: Decodable, Sendable, Equatable, Encodable {
    public var frame: Int
    public var time: Int64
    public var fromClient: Bool
    public var event: HTTP2Event

    public init(frame: Int, time: Int64, fromClient: Bool, event: HTTP2Event) {
        self.frame = frame
        self.time = time
        self.fromClient = fromClient
        self.event = event
    }

    public var summaryLine: String { event.summaryLine }
}

public enum HTTP2Event: Decodable, Sendable, Equatable, Encodable {
    /// The client connection preface (RFC 9113 §3.4).
    case preface
    /// An HTTP/1.1 request with `Upgrade: h2c` (it becomes stream 1).
    case upgradeRequest(HTTP2UpgradeRequest)
    /// The server's answer to it: 101 switches to HTTP/2, anything else declines.
    case upgradeResponse(status: Int)
    case frame(HTTP2FrameRecord)
    /// A stream ended: both sides sent END_STREAM, one reset it, or a GOAWAY left it unprocessed.
    case streamEnded(HTTP2Stream)
    case problem(HTTP2Problem)

    public var summaryLine: String {
        switch self {
        case .preface: "HTTP/2 connection preface"
        case .upgradeRequest(let request): "HTTP/1.1 \(request.method) \(request.target) Upgrade: h2c"
        case .upgradeResponse(let status):
            status == 101 ? "HTTP/1.1 101 Switching Protocols to h2c" : "HTTP/1.1 \(status): h2c upgrade declined"
        case .frame(let record): record.summaryLine
        case .streamEnded(let stream): stream.summaryLine
        case .problem(let problem): "HTTP/2 \(problem)"
        }
    }
}

/// One frame as reported: its header, its payload decoded (or why not), and the header block it
/// completed, decoded.
public struct HTTP2FrameRecord: Decodable, Sendable, Equatable, Encodable {
    public enum Payload: Decodable, Sendable, Equatable, Encodable {
        case decoded(HTTP2Payload)
        case malformed(HTTP2FrameError)
        /// Longer than `HTTP2Connection.frameBufferLimit`: skipped, not decoded.
        case notBuffered
    }

    public var info: HTTP2FrameInfo
    public var payload: Payload
    /// The header block this frame ended (a HEADERS or PUSH_PROMISE with END_HEADERS, or the last
    /// CONTINUATION), when it could be decoded.
    public var headerBlock: HTTP2HeaderBlock?

    public init(info: HTTP2FrameInfo, payload: Payload, headerBlock: HTTP2HeaderBlock? = nil) {
        self.info = info
        self.payload = payload
        self.headerBlock = headerBlock
    }

    /// `HTTP/2 HEADERS[1] GET /index.html`, `HTTP/2 RST_STREAM[3] REFUSED_STREAM`,
    /// `HTTP/2 GOAWAY last=5 ENHANCE_YOUR_CALM`.
    public var summaryLine: String {
        let name = "HTTP/2 \(info.type)[\(info.streamID)]"
        switch payload {
        case .malformed(let error): return "\(name) malformed: \(error)"
        case .notBuffered: return "\(name) \(info.length) bytes, not decoded (over the buffer limit)"
        case .decoded(let decoded):
            if let headerBlock { return "\(name) \(headerBlock.summary)" }
            switch decoded {
            case .data(let length, _): return "\(name) \(length) bytes"
            case .headers(let length, _, _), .continuation(let length):
                return "\(name) header block fragment \(length) bytes"
            case .priority(let priority):
                return "\(name) depends on \(priority.streamDependency)\(priority.exclusive ? " exclusive" : "") weight \(priority.weight)"
            case .rstStream(let code): return "\(name) \(code)"
            case .settings(let settings):
                if info.flags.contains(.ack) { return "\(name) ACK" }
                return settings.isEmpty ? name : "\(name) \(settings.map(\.description).joined(separator: " "))"
            case .pushPromise(let promised, _, _): return "\(name) promised \(promised)"
            case .ping: return info.flags.contains(.ack) ? "\(name) ACK" : name
            case .goAway(let last, let code, _, let text):
                return "HTTP/2 GOAWAY last=\(last) \(code)" + (text.isEmpty ? "" : " \"\(text)\"")
            case .windowUpdate(let increment): return "\(name) +\(increment)"
            case .unknown(let length): return "\(name) \(length) bytes"
            }
        }
    }
}

public struct HTTP2HeaderField: Decodable, Sendable, Hashable, Encodable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A decoded header block (RFC 9113 §8.3): pseudo-header fields (`:method`, `:status`, ...) and
/// the regular fields, each in wire order.
public struct HTTP2HeaderBlock: Decodable, Sendable, Equatable, Encodable {
    public var streamID: UInt32
    /// For PUSH_PROMISE: the stream whose request these fields are.
    public var promisedStreamID: UInt32?
    public var pseudoHeaders: [HTTP2HeaderField]
    public var headers: [HTTP2HeaderField]

    public init(streamID: UInt32, promisedStreamID: UInt32? = nil, pseudoHeaders: [HTTP2HeaderField],
                headers: [HTTP2HeaderField]) {
        self.streamID = streamID
        self.promisedStreamID = promisedStreamID
        self.pseudoHeaders = pseudoHeaders
        self.headers = headers
    }

    /// The first value of a field (pseudo-header names include their colon).
    public func value(_ name: String) -> String? {
        (name.hasPrefix(":") ? pseudoHeaders : headers).first { $0.name == name }?.value
    }

    /// `GET /index.html`, `200`, `200 grpc-status=0`, `trailers grpc-status=0`.
    public var summary: String {
        var text: String
        if let method = value(":method") {
            text = "\(method) \(value(":path") ?? value(":authority") ?? "")"
        } else if let status = value(":status") {
            text = status
        } else {
            text = "trailers"
        }
        if let grpcStatus = value("grpc-status") { text += " grpc-status=\(grpcStatus)" }
        if promisedStreamID == nil, pseudoHeaders.isEmpty, value("grpc-status") == nil {
            text += " (\(headers.count) fields)"
        }
        return text
    }
}

/// What one stream was and how it ended.
public struct HTTP2Stream: Decodable, Sendable, Equatable, Encodable {
    public enum Origin: String, Decodable, Sendable, Equatable, Encodable {
        /// Opened by the client's HEADERS.
        case client
        /// Promised by the server (PUSH_PROMISE).
        case push
        /// Stream 1 of an h2c upgrade: the HTTP/1.1 request that asked for it.
        case upgrade
    }

    public struct Reset: Decodable, Sendable, Equatable, Encodable {
        public var errorCode: HTTP2ErrorCode
        public var byClient: Bool
        public var frame: Int
    }

    public enum Ending: String, Decodable, Sendable, Equatable, Encodable {
        /// Both sides sent END_STREAM.
        case complete
        case reset
        /// A GOAWAY's Last-Stream-ID was below it: the peer never processed it.
        case goAway
        case open
    }

    public var streamID: UInt32
    public var origin: Origin
    public var firstFrame: Int
    public var lastFrame: Int
    public var firstTime: Int64
    public var lastTime: Int64
    public var method: String?
    public var scheme: String?
    public var authority: String?
    public var path: String?
    /// The final (non-1xx) `:status`.
    public var status: Int?
    public var requestContentType: String?
    public var responseContentType: String?
    /// From the server's trailers (or a trailers-only response).
    public var grpcStatus: String?
    public var grpcMessage: String?
    public var requestDataBytes = 0
    public var responseDataBytes = 0
    public var clientEndStream = false
    public var serverEndStream = false
    public var reset: Reset?
    /// The error code of the GOAWAY that left this stream unprocessed.
    public var goAwayErrorCode: HTTP2ErrorCode?
    /// When the request's last frame (the client's END_STREAM) came, and when the response's
    /// header block with the final status came, at which frame: time to first byte is between.
    public var requestEndTime: Int64?
    public var responseTime: Int64?
    public var responseFrame: Int?

    /// From the request's end to the response's final header block, in nanoseconds.
    public var timeToFirstByte: Int64? {
        guard let requestEndTime, let responseTime else { return nil }
        return responseTime &- requestEndTime
    }

    init(streamID: UInt32, origin: Origin, frame: Int, time: Int64) {
        self.streamID = streamID
        self.origin = origin
        firstFrame = frame
        lastFrame = frame
        firstTime = time
        lastTime = time
    }

    /// `side` (0: the client) sent END_STREAM at `time`.
    mutating func end(side: Int, at time: Int64) {
        if side == 0 {
            clientEndStream = true
            if requestEndTime == nil { requestEndTime = time }
        } else {
            serverEndStream = true
        }
    }

    public var ending: Ending {
        if reset != nil { return .reset }
        if goAwayErrorCode != nil { return .goAway }
        return clientEndStream && serverEndStream ? .complete : .open
    }

    /// `HTTP/2 stream 1 GET /index.html -> 200 complete`.
    public var summaryLine: String {
        var text = "HTTP/2 stream \(streamID)"
        if let method { text += " \(method) \(path ?? authority ?? "")" }
        if let status { text += " -> \(status)" }
        if let grpcStatus { text += " grpc-status=\(grpcStatus)" }
        switch ending {
        case .complete: text += " complete"
        case .open: text += " open"
        case .reset:
            if let reset { text += " reset by \(reset.byClient ? "client" : "server") \(reset.errorCode)" }
        case .goAway:
            if let goAwayErrorCode { text += " not processed (GOAWAY \(goAwayErrorCode))" }
        }
        return text
    }
}

/// What went wrong in the connection, beyond one malformed frame.
public enum HTTP2Problem: Decodable, Sendable, Equatable, Encodable, CustomStringConvertible {
    /// The client's first bytes were not the connection preface: parsed as frames anyway (the
    /// capture probably started in the middle of the connection).
    case missingPreface
    /// After an h2c upgrade, the client's next bytes were not the preface: parsing stopped.
    case prefaceMismatch
    /// A decode-as connection that speaks HTTP/1.x without asking for h2c: parsing stopped.
    case notHTTP2(reason: String)
    /// An h2c upgrade head longer than `HTTP2Connection.http1HeadLimit`: parsing stopped.
    case upgradeHeadTooLong(limit: Int)
    /// A frame longer than the receiver's SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2: FRAME_SIZE_ERROR).
    case frameTooLarge(type: HTTP2FrameType, streamID: UInt32, length: Int, maxFrameSize: Int)
    /// A frame longer than `HTTP2Connection.frameBufferLimit`: its payload is skipped.
    case frameNotBuffered(type: HTTP2FrameType, streamID: UInt32, length: Int, limit: Int)
    /// HPACK could not decode a header block: the dynamic table is now unknown, so this
    /// direction's header blocks are no longer decoded.
    case hpackError(streamID: UInt32, description: String)
    /// A header block over `HTTP2Connection.headerBlockLimit`, or one whose frame was malformed or
    /// skipped: same consequence as an HPACK error.
    case headerBlockLost(streamID: UInt32, reason: String)
    /// A header block was open and the next frame was not its CONTINUATION (RFC 9113 §6.10).
    case continuationExpected(streamID: UInt32, got: HTTP2FrameType, gotStreamID: UInt32)
    /// A CONTINUATION with no header block open.
    case unexpectedContinuation(streamID: UInt32)
    /// A SETTINGS value outside its allowed range (RFC 9113 §6.5.2): not applied.
    case invalidSetting(HTTP2Setting)
    /// More than `HTTP2Connection.maxOpenStreams` streams open at once: new ones are not followed.
    case tooManyStreams(limit: Int)
    /// Bytes of this direction were not captured: its parsing stopped.
    case gap

    public var description: String {
        switch self {
        case .missingPreface: "no connection preface: capture started mid-connection? parsing frames"
        case .prefaceMismatch: "no connection preface after the h2c upgrade: parsing stopped"
        case .notHTTP2(let reason): "not HTTP/2 (\(reason)): parsing stopped"
        case .upgradeHeadTooLong(let limit): "HTTP/1.1 upgrade head longer than \(limit) bytes: parsing stopped"
        case .frameTooLarge(let type, let streamID, let length, let max):
            "\(type)[\(streamID)] length \(length) exceeds SETTINGS_MAX_FRAME_SIZE \(max)"
        case .frameNotBuffered(let type, let streamID, let length, let limit):
            "\(type)[\(streamID)] length \(length) over the \(limit)-byte buffer: payload skipped"
        case .hpackError(let streamID, let description):
            "HPACK error in stream \(streamID) (\(description)): header decoding stopped for this direction"
        case .headerBlockLost(let streamID, let reason):
            "header block of stream \(streamID) lost (\(reason)): header decoding stopped for this direction"
        case .continuationExpected(let streamID, let got, let gotStreamID):
            "CONTINUATION[\(streamID)] expected, got \(got)[\(gotStreamID)]"
        case .unexpectedContinuation(let streamID): "CONTINUATION[\(streamID)] without a header block"
        case .invalidSetting(let setting): "invalid setting \(setting)"
        case .tooManyStreams(let limit): "more than \(limit) open streams: new streams not followed"
        case .gap: "bytes missing from the capture: this direction is no longer parsed"
        }
    }
}

extension HTTP2Event {
    /// `{"kind": "frame", …the record's fields}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .preface: try tagged.encode("preface")
        case .upgradeRequest(let request): try tagged.encode("upgradeRequest", merging: request)
        case .upgradeResponse(let status): try tagged.encode("upgradeResponse", ["status": status])
        case .frame(let record): try tagged.encode("frame", merging: record)
        case .streamEnded(let stream): try tagged.encode("streamEnded", merging: stream)
        case .problem(let problem): try tagged.encode("problem", ["problem": problem])
        }
    }
}

extension HTTP2FrameRecord.Payload {
    /// A decoded payload as itself (its `kind` names the frame type); else why it is not decoded.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .decoded(let payload): try payload.encode(to: encoder)
        case .malformed(let error): try TaggedCase(encoder).encode("malformed", ["error": error])
        case .notBuffered: try TaggedCase(encoder).encode("notBuffered")
        }
    }
}

extension HTTP2Problem {
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .missingPreface: try tagged.encode("missingPreface")
        case .prefaceMismatch: try tagged.encode("prefaceMismatch")
        case .notHTTP2(let reason): try tagged.encode("notHTTP2", ["reason": reason])
        case .upgradeHeadTooLong(let limit): try tagged.encode("upgradeHeadTooLong", ["limit": limit])
        case .frameTooLarge(let type, let streamID, let length, let maxFrameSize):
            try tagged.encode("frameTooLarge", ["type": type, "streamID": streamID, "length": length,
                                                "maxFrameSize": maxFrameSize])
        case .frameNotBuffered(let type, let streamID, let length, let limit):
            try tagged.encode("frameNotBuffered", ["type": type, "streamID": streamID, "length": length, "limit": limit])
        case .hpackError(let streamID, let description):
            try tagged.encode("hpackError", ["streamID": streamID, "description": description])
        case .headerBlockLost(let streamID, let reason):
            try tagged.encode("headerBlockLost", ["streamID": streamID, "reason": reason])
        case .continuationExpected(let streamID, let got, let gotStreamID):
            try tagged.encode("continuationExpected", ["streamID": streamID, "got": got, "gotStreamID": gotStreamID])
        case .unexpectedContinuation(let streamID): try tagged.encode("unexpectedContinuation", ["streamID": streamID])
        case .invalidSetting(let setting): try tagged.encode("invalidSetting", ["setting": setting])
        case .tooManyStreams(let limit): try tagged.encode("tooManyStreams", ["limit": limit])
        case .gap: try tagged.encode("gap")
        }
    }
}

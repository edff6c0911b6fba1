import NetsiftCapture

// HTTP/2 framing (RFC 9113 §4, §6, §7). The views here read one frame's bytes; the connection
// state (preface, h2c upgrade, HPACK, streams) is NetsiftFlows' `HTTP2Connection`, because HPACK
// decoding needs NIOHPACK, which only NetsiftFlows depends on.

/// HTTP/2 frame type (RFC 9113 §6 and the IANA "HTTP/2 Frame Type" registry). Unknown types are
/// kept by number: RFC 9113 §4.1 says a receiver ignores them, and so do we, after reporting them.
public struct HTTP2FrameType: Decodable, RawRepresentable, Sendable, Hashable, Encodable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let data = HTTP2FrameType(rawValue: 0x0)
    public static let headers = HTTP2FrameType(rawValue: 0x1)
    public static let priority = HTTP2FrameType(rawValue: 0x2)
    public static let rstStream = HTTP2FrameType(rawValue: 0x3)
    public static let settings = HTTP2FrameType(rawValue: 0x4)
    public static let pushPromise = HTTP2FrameType(rawValue: 0x5)
    public static let ping = HTTP2FrameType(rawValue: 0x6)
    public static let goAway = HTTP2FrameType(rawValue: 0x7)
    public static let windowUpdate = HTTP2FrameType(rawValue: 0x8)
    public static let continuation = HTTP2FrameType(rawValue: 0x9)

    /// The registry's name; extension frames we do not decode (ALTSVC, ORIGIN, PRIORITY_UPDATE)
    /// are named all the same, anything else is `UNKNOWN(0xNN)`.
    public var description: String {
        switch rawValue {
        case 0x0: "DATA"
        case 0x1: "HEADERS"
        case 0x2: "PRIORITY"
        case 0x3: "RST_STREAM"
        case 0x4: "SETTINGS"
        case 0x5: "PUSH_PROMISE"
        case 0x6: "PING"
        case 0x7: "GOAWAY"
        case 0x8: "WINDOW_UPDATE"
        case 0x9: "CONTINUATION"
        case 0xa: "ALTSVC"
        case 0xc: "ORIGIN"
        case 0x10: "PRIORITY_UPDATE"
        default: "UNKNOWN(0x\(hexDigits(UInt32(rawValue), width: 2)))"
        }
    }
}

/// Frame flags (RFC 9113 §6). One bit means different things for different types: 0x1 is
/// END_STREAM on DATA and HEADERS but ACK on SETTINGS and PING, so names depend on the type.
public struct HTTP2Flags: Decodable, OptionSet, Sendable, Hashable, Encodable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let endStream = HTTP2Flags(rawValue: 0x1)
    public static let ack = HTTP2Flags(rawValue: 0x1)
    public static let endHeaders = HTTP2Flags(rawValue: 0x4)
    public static let padded = HTTP2Flags(rawValue: 0x8)
    public static let priority = HTTP2Flags(rawValue: 0x20)

    /// The names of the flags `type` defines that are set; bits a type does not define are left out
    /// (RFC 9113 §4.1: they "MUST be ignored").
    public func names(for type: HTTP2FrameType) -> [String] {
        var names: [String] = []
        switch type {
        case .data:
            if contains(.endStream) { names.append("END_STREAM") }
            if contains(.padded) { names.append("PADDED") }
        case .headers:
            if contains(.endStream) { names.append("END_STREAM") }
            if contains(.endHeaders) { names.append("END_HEADERS") }
            if contains(.padded) { names.append("PADDED") }
            if contains(.priority) { names.append("PRIORITY") }
        case .settings, .ping:
            if contains(.ack) { names.append("ACK") }
        case .pushPromise:
            if contains(.endHeaders) { names.append("END_HEADERS") }
            if contains(.padded) { names.append("PADDED") }
        case .continuation:
            if contains(.endHeaders) { names.append("END_HEADERS") }
        default:
            break
        }
        return names
    }
}

/// Error codes carried by RST_STREAM and GOAWAY (RFC 9113 §7). Unknown codes are kept by number
/// ("MUST NOT trigger any special behavior").
public struct HTTP2ErrorCode: Decodable, RawRepresentable, Sendable, Hashable, Encodable, CustomStringConvertible {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = HTTP2ErrorCode(rawValue: 0x0)
    public static let protocolError = HTTP2ErrorCode(rawValue: 0x1)
    public static let internalError = HTTP2ErrorCode(rawValue: 0x2)
    public static let flowControlError = HTTP2ErrorCode(rawValue: 0x3)
    public static let settingsTimeout = HTTP2ErrorCode(rawValue: 0x4)
    public static let streamClosed = HTTP2ErrorCode(rawValue: 0x5)
    public static let frameSizeError = HTTP2ErrorCode(rawValue: 0x6)
    public static let refusedStream = HTTP2ErrorCode(rawValue: 0x7)
    public static let cancel = HTTP2ErrorCode(rawValue: 0x8)
    public static let compressionError = HTTP2ErrorCode(rawValue: 0x9)
    public static let connectError = HTTP2ErrorCode(rawValue: 0xa)
    public static let enhanceYourCalm = HTTP2ErrorCode(rawValue: 0xb)
    public static let inadequateSecurity = HTTP2ErrorCode(rawValue: 0xc)
    public static let http11Required = HTTP2ErrorCode(rawValue: 0xd)

    public var description: String {
        switch rawValue {
        case 0x0: "NO_ERROR"
        case 0x1: "PROTOCOL_ERROR"
        case 0x2: "INTERNAL_ERROR"
        case 0x3: "FLOW_CONTROL_ERROR"
        case 0x4: "SETTINGS_TIMEOUT"
        case 0x5: "STREAM_CLOSED"
        case 0x6: "FRAME_SIZE_ERROR"
        case 0x7: "REFUSED_STREAM"
        case 0x8: "CANCEL"
        case 0x9: "COMPRESSION_ERROR"
        case 0xa: "CONNECT_ERROR"
        case 0xb: "ENHANCE_YOUR_CALM"
        case 0xc: "INADEQUATE_SECURITY"
        case 0xd: "HTTP_1_1_REQUIRED"
        default: "0x\(hexDigits(rawValue, width: 2))"
        }
    }
}

/// SETTINGS parameter identifiers (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1).
public struct HTTP2SettingID: Decodable, RawRepresentable, Sendable, Hashable, Encodable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let headerTableSize = HTTP2SettingID(rawValue: 0x1)
    public static let enablePush = HTTP2SettingID(rawValue: 0x2)
    public static let maxConcurrentStreams = HTTP2SettingID(rawValue: 0x3)
    public static let initialWindowSize = HTTP2SettingID(rawValue: 0x4)
    public static let maxFrameSize = HTTP2SettingID(rawValue: 0x5)
    public static let maxHeaderListSize = HTTP2SettingID(rawValue: 0x6)
    public static let enableConnectProtocol = HTTP2SettingID(rawValue: 0x8)
    public static let noRFC7540Priorities = HTTP2SettingID(rawValue: 0x9)

    public var description: String {
        switch rawValue {
        case 0x1: "HEADER_TABLE_SIZE"
        case 0x2: "ENABLE_PUSH"
        case 0x3: "MAX_CONCURRENT_STREAMS"
        case 0x4: "INITIAL_WINDOW_SIZE"
        case 0x5: "MAX_FRAME_SIZE"
        case 0x6: "MAX_HEADER_LIST_SIZE"
        case 0x8: "ENABLE_CONNECT_PROTOCOL"
        case 0x9: "NO_RFC7540_PRIORITIES"
        default: "0x\(hexDigits(UInt32(rawValue), width: 4))"
        }
    }
}

public struct HTTP2Setting: Decodable, Sendable, Hashable, Encodable, CustomStringConvertible {
    public var id: HTTP2SettingID
    public var value: UInt32
    public init(id: HTTP2SettingID, value: UInt32) {
        self.id = id
        self.value = value
    }

    /// RFC 9113 §6.5.2: ENABLE_PUSH is 0 or 1, INITIAL_WINDOW_SIZE at most 2^31-1, MAX_FRAME_SIZE
    /// between 2^14 and 2^24-1 (and RFC 8441 / RFC 9218: their flags are 0 or 1). A peer that
    /// receives anything else treats it as a connection error.
    public var isValid: Bool {
        switch id {
        case .enablePush, .enableConnectProtocol, .noRFC7540Priorities: value <= 1
        case .initialWindowSize: value <= HTTP2Limits.maxWindowSize
        case .maxFrameSize: value >= HTTP2Limits.defaultMaxFrameSize && value <= HTTP2Limits.largestFrameSize
        default: true
        }
    }

    public var description: String { "\(id)=\(value)" }
}

/// The protocol's fixed numbers (RFC 9113 §4.2, §6.5.2, §6.9.1).
public enum HTTP2Limits {
    /// SETTINGS_MAX_FRAME_SIZE until the peer says otherwise, and its smallest allowed value.
    public static let defaultMaxFrameSize: UInt32 = 1 << 14
    /// The largest frame the 24-bit length can declare, and SETTINGS_MAX_FRAME_SIZE's largest value.
    public static let largestFrameSize: UInt32 = (1 << 24) - 1
    public static let maxWindowSize: UInt32 = (1 << 31) - 1
    /// SETTINGS_HEADER_TABLE_SIZE until the peer says otherwise (RFC 9113 §6.5.2).
    public static let defaultHeaderTableSize: UInt32 = 4096
}

/// A stream's priority as RFC 7540 §5.3 defined it (deprecated by RFC 9113 §5.3.2 but still on
/// the wire): carried by PRIORITY frames and by HEADERS with the PRIORITY flag.
public struct HTTP2Priority: Decodable, Sendable, Hashable, Encodable {
    public var exclusive: Bool
    public var streamDependency: UInt32
    /// The weight between 1 and 256: the wire's byte plus one.
    public var weight: Int
    public init(exclusive: Bool, streamDependency: UInt32, weight: Int) {
        self.exclusive = exclusive
        self.streamDependency = streamDependency
        self.weight = weight
    }
}

/// The frame header's fields, as an owned value that outlives the packet.
public struct HTTP2FrameInfo: Decodable, Sendable, Hashable, Encodable {
    /// The payload's length in bytes (the header's 9 bytes not included).
    public var length: Int
    public var type: HTTP2FrameType
    public var flags: HTTP2Flags
    public var streamID: UInt32
    public init(length: Int, type: HTTP2FrameType, flags: HTTP2Flags, streamID: UInt32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }
}

/// What is wrong with one frame. A frame that is malformed here is what RFC 9113 makes a
/// FRAME_SIZE_ERROR or PROTOCOL_ERROR for its length or padding.
public enum HTTP2FrameError: Decodable, Error, Sendable, Hashable, Encodable, CustomStringConvertible {
    /// Fewer bytes than the 9-byte header plus its declared length.
    case truncated(needed: Int, available: Int)
    /// The payload is shorter than the fields its type and flags need (RFC 9113 §6).
    case payloadTooShort(type: HTTP2FrameType, needed: Int, length: Int)
    /// PRIORITY (5), RST_STREAM (4), PING (8), WINDOW_UPDATE (4) have one exact length.
    case wrongPayloadLength(type: HTTP2FrameType, expected: Int, length: Int)
    /// A SETTINGS payload is a list of 6-byte parameters (§6.5).
    case settingsLengthNotMultipleOf6(length: Int)
    /// A SETTINGS frame with ACK carries no payload (§6.5).
    case settingsAckWithPayload(length: Int)
    /// The Pad Length leaves no room: more padding than the payload has left (§6.1, §6.2, §6.6).
    case paddingTooLong(type: HTTP2FrameType, padLength: Int, available: Int)

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            "HTTP/2 frame needs \(needed) bytes, \(available) present"
        case .payloadTooShort(let type, let needed, let length):
            "\(type) payload of \(length) bytes, its fields need \(needed)"
        case .wrongPayloadLength(let type, let expected, let length):
            "\(type) payload of \(length) bytes, must be \(expected)"
        case .settingsLengthNotMultipleOf6(let length):
            "SETTINGS payload of \(length) bytes is not a multiple of 6"
        case .settingsAckWithPayload(let length):
            "SETTINGS ACK with a \(length)-byte payload"
        case .paddingTooLong(let type, let padLength, let available):
            "\(type) Pad Length \(padLength) exceeds the \(available) bytes left"
        }
    }
}

/// A frame's payload decoded into owned values: what a report shows, once the packet is gone.
/// Header block fragments are counted here and decoded by the connection (they need HPACK state).
public enum HTTP2Payload: Decodable, Sendable, Hashable, Encodable {
    /// `dataLength` excludes the Pad Length byte and the padding.
    case data(dataLength: Int, padLength: Int?)
    case headers(fragmentLength: Int, padLength: Int?, priority: HTTP2Priority?)
    case priority(HTTP2Priority)
    case rstStream(errorCode: HTTP2ErrorCode)
    case settings([HTTP2Setting])
    case pushPromise(promisedStreamID: UInt32, fragmentLength: Int, padLength: Int?)
    case ping(opaqueData: UInt64)
    /// `debugText` is the start of the additional debug data (at most `HTTP2Frame.debugTextLimit`
    /// bytes, decoded as UTF-8 with replacement): it is opaque, but servers put words there.
    case goAway(lastStreamID: UInt32, errorCode: HTTP2ErrorCode, debugDataLength: Int, debugText: String)
    case windowUpdate(increment: UInt32)
    case continuation(fragmentLength: Int)
    /// A type this decoder does not know (or an extension it does not decode): kept and ignored.
    case unknown(length: Int)
}

/// HTTP/2 frame header (RFC 9113 §4.1): Length (24), Type (8), Flags (8), Reserved (1),
/// Stream Identifier (31).
public struct HTTP2FrameHeader: ~Escapable {
    public static let length = 9
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy bytes)
    public init(_ bytes: RawSpan) throws(HTTP2FrameError) {
        guard bytes.byteCount >= Self.length else {
            throw .truncated(needed: Self.length, available: bytes.byteCount)
        }
        self.bytes = bytes.extracting(first: Self.length)
    }

    /// The payload's declared length, at most 2^24-1.
    @inlinable public var length: Int { Int(bytes.be16(0)) << 8 | Int(bytes.u8(2)) }
    @inlinable public var type: HTTP2FrameType { HTTP2FrameType(rawValue: bytes.u8(3)) }
    @inlinable public var flags: HTTP2Flags { HTTP2Flags(rawValue: bytes.u8(4)) }
    /// The stream identifier, reserved bit masked off (§4.1: it "MUST be ignored when receiving").
    @inlinable public var streamID: UInt32 { bytes.be32(5) & 0x7FFF_FFFF }
    @inlinable public var reservedBit: Bool { bytes.u8(5) & 0x80 != 0 }
    @inlinable public var info: HTTP2FrameInfo {
        HTTP2FrameInfo(length: length, type: type, flags: flags, streamID: streamID)
    }
}

/// One whole frame, header and payload, validated once for its type's fixed fields, padding and
/// exact lengths (RFC 9113 §6); accessors then read fixed offsets. Flags a type does not define
/// are ignored (so PADDED on a SETTINGS frame means nothing).
public struct HTTP2Frame: ~Escapable {
    /// How much GOAWAY debug data `payload` turns into text.
    public static let debugTextLimit = 256

    /// The payload, without the 9-byte header.
    @usableFromInline let payload: RawSpan
    public let info: HTTP2FrameInfo
    /// The part of `payload` after the Pad Length and the type's fixed fields, before the padding:
    /// the data of DATA, the field block fragment of HEADERS / PUSH_PROMISE / CONTINUATION, the
    /// debug data of GOAWAY, the whole payload of the other types.
    @usableFromInline let contentRange: Range<Int>

    /// `bytes` starts at the frame header; bytes after the frame's declared end are not part of it.
    @inlinable @_lifetime(copy bytes)
    public init(_ bytes: RawSpan) throws(HTTP2FrameError) {
        let header = try HTTP2FrameHeader(bytes)
        let info = header.info
        let total = HTTP2FrameHeader.length + info.length
        guard bytes.byteCount >= total else { throw .truncated(needed: total, available: bytes.byteCount) }
        let payload = bytes.extracting(HTTP2FrameHeader.length..<total)
        self.payload = payload
        self.info = info
        contentRange = try Self.validate(payload, info)
    }

    /// Checks the payload against what `info.type` needs and returns where its content sits.
    @inlinable
    static func validate(_ payload: RawSpan, _ info: HTTP2FrameInfo) throws(HTTP2FrameError) -> Range<Int> {
        let length = payload.byteCount
        func exactly(_ expected: Int) throws(HTTP2FrameError) -> Range<Int> {
            guard length == expected else {
                throw .wrongPayloadLength(type: info.type, expected: expected, length: length)
            }
            return 0..<length
        }
        // DATA, HEADERS, PUSH_PROMISE: [Pad Length (8)], fixed fields, content, Padding.
        func padded(fixed: Int) throws(HTTP2FrameError) -> Range<Int> {
            let padded = info.flags.contains(.padded)
            let prefix = (padded ? 1 : 0) + fixed
            guard length >= prefix else { throw .payloadTooShort(type: info.type, needed: prefix, length: length) }
            let padLength = padded ? Int(payload.u8(0)) : 0
            guard padLength <= length - prefix else {
                throw .paddingTooLong(type: info.type, padLength: padLength, available: length - prefix)
            }
            return prefix..<length - padLength
        }
        switch info.type {
        case .data: return try padded(fixed: 0)
        case .headers: return try padded(fixed: info.flags.contains(.priority) ? 5 : 0)
        case .priority: return try exactly(5)
        case .rstStream: return try exactly(4)
        case .settings:
            if info.flags.contains(.ack) {
                guard length == 0 else { throw .settingsAckWithPayload(length: length) }
            } else if length % 6 != 0 {
                throw .settingsLengthNotMultipleOf6(length: length)
            }
            return 0..<length
        case .pushPromise: return try padded(fixed: 4)
        case .ping: return try exactly(8)
        case .goAway:
            guard length >= 8 else { throw .payloadTooShort(type: info.type, needed: 8, length: length) }
            return 8..<length
        case .windowUpdate: return try exactly(4)
        default: return 0..<length
        }
    }

    @inlinable public var type: HTTP2FrameType { info.type }
    @inlinable public var flags: HTTP2Flags { info.flags }
    @inlinable public var streamID: UInt32 { info.streamID }

    /// The Pad Length of a DATA, HEADERS or PUSH_PROMISE frame with PADDED set.
    @inlinable public var padLength: Int? {
        switch type {
        case .data, .headers, .pushPromise: flags.contains(.padded) ? Int(payload.u8(0)) : nil
        default: nil
        }
    }

    /// A PRIORITY frame's fields, or those of a HEADERS frame with the PRIORITY flag.
    @inlinable public var priority: HTTP2Priority? {
        let offset: Int
        switch type {
        case .priority: offset = 0
        case .headers where flags.contains(.priority): offset = flags.contains(.padded) ? 1 : 0
        default: return nil
        }
        let word = payload.be32(offset)
        return HTTP2Priority(exclusive: word & 0x8000_0000 != 0, streamDependency: word & 0x7FFF_FFFF,
                             weight: Int(payload.u8(offset + 4)) + 1)
    }

    /// The field block fragment of HEADERS, PUSH_PROMISE, CONTINUATION; the data of DATA; the
    /// debug data of GOAWAY.
    @inlinable public var content: RawSpan {
        @_lifetime(copy self) get { payload.extracting(contentRange) }
    }

    /// RST_STREAM's or GOAWAY's error code.
    @inlinable public var errorCode: HTTP2ErrorCode? {
        switch type {
        case .rstStream: HTTP2ErrorCode(rawValue: payload.be32(0))
        case .goAway: HTTP2ErrorCode(rawValue: payload.be32(4))
        default: nil
        }
    }

    /// GOAWAY's Last-Stream-ID (reserved bit masked).
    @inlinable public var lastStreamID: UInt32? { type == .goAway ? payload.be32(0) & 0x7FFF_FFFF : nil }

    /// PUSH_PROMISE's Promised Stream ID (reserved bit masked).
    @inlinable public var promisedStreamID: UInt32? {
        guard type == .pushPromise else { return nil }
        return payload.be32(flags.contains(.padded) ? 1 : 0) & 0x7FFF_FFFF
    }

    /// WINDOW_UPDATE's Window Size Increment (reserved bit masked).
    @inlinable public var windowSizeIncrement: UInt32? { type == .windowUpdate ? payload.be32(0) & 0x7FFF_FFFF : nil }

    /// PING's opaque data.
    @inlinable public var opaqueData: UInt64? { type == .ping ? payload.be64(0) : nil }

    /// SETTINGS parameters in wire order (empty for an ACK or another type).
    public var settings: [HTTP2Setting] {
        guard type == .settings else { return [] }
        return HTTP2Frame.settings(in: payload)
    }

    /// The parameters in a SETTINGS payload (also the decoded HTTP2-Settings header of an h2c
    /// upgrade, RFC 7540 §3.2.1); a trailing partial parameter is ignored.
    public static func settings(in payload: RawSpan) -> [HTTP2Setting] {
        var settings: [HTTP2Setting] = []
        settings.reserveCapacity(payload.byteCount / 6)
        var offset = 0
        while offset + 6 <= payload.byteCount {
            settings.append(HTTP2Setting(id: HTTP2SettingID(rawValue: payload.be16(offset)), value: payload.be32(offset + 2)))
            offset += 6
        }
        return settings
    }

    /// The payload as owned values.
    public var decoded: HTTP2Payload {
        switch type {
        case .data: return .data(dataLength: contentRange.count, padLength: padLength)
        case .headers: return .headers(fragmentLength: contentRange.count, padLength: padLength, priority: priority)
        case .priority: return .priority(priority!)
        case .rstStream: return .rstStream(errorCode: errorCode!)
        case .settings: return .settings(settings)
        case .pushPromise:
            return .pushPromise(promisedStreamID: promisedStreamID!, fragmentLength: contentRange.count, padLength: padLength)
        case .ping: return .ping(opaqueData: opaqueData!)
        case .goAway:
            let debug = content
            let text = debug.extracting(first: min(debug.byteCount, Self.debugTextLimit))
                .withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            return .goAway(lastStreamID: lastStreamID!, errorCode: errorCode!, debugDataLength: debug.byteCount,
                           debugText: text)
        case .windowUpdate: return .windowUpdate(increment: windowSizeIncrement!)
        case .continuation: return .continuation(fragmentLength: contentRange.count)
        default: return .unknown(length: payload.byteCount)
        }
    }
}

/// The client connection preface (RFC 9113 §3.4): these 24 bytes, then a SETTINGS frame.
public enum HTTP2Preface {
    public static let bytes: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
}

/// The HTTP/1.1 request that asks for cleartext HTTP/2 (RFC 7540 §3.2, kept by RFC 9113 §3.1 as
/// obsolete but still met): `Upgrade: h2c` and an `HTTP2-Settings` header carrying the client's
/// SETTINGS payload in base64url. After a `101 Switching Protocols` answer both sides speak HTTP/2
/// and this request becomes stream 1.
public struct HTTP2UpgradeRequest: Decodable, Sendable, Hashable, Encodable {
    public var method: String
    public var target: String
    public var host: String?
    /// Whether `Upgrade` lists `h2c`.
    public var upgradeToH2C: Bool
    /// The decoded `HTTP2-Settings` header (empty when absent or not valid base64url).
    public var settings: [HTTP2Setting]
    /// The request body's length (`Content-Length`), sent before the switch.
    public var contentLength: Int

    public init(method: String, target: String, host: String?, upgradeToH2C: Bool, settings: [HTTP2Setting],
                contentLength: Int) {
        self.method = method
        self.target = target
        self.host = host
        self.upgradeToH2C = upgradeToH2C
        self.settings = settings
        self.contentLength = contentLength
    }

    /// Parses a request head (request line and header fields, up to the empty line); nil when the
    /// request line is not `METHOD target HTTP/1.x`.
    public static func parse(head: RawSpan) -> HTTP2UpgradeRequest? {
        // A request line starts with its method (upper-case letters and "-"): a first byte that
        // cannot begin one (a TLS record, binary) is turned down before any String is made.
        var first = 0
        while first < head.byteCount && (head.u8(first) == 0x0D || head.u8(first) == 0x0A) { first += 1 }
        guard first < head.byteCount else { return nil }
        let byte = head.u8(first)
        guard (0x41...0x5A).contains(byte) || byte == 0x2D || byte >= 0x80 else { return nil }
        let lines = httpLines(head)
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), !parts[0].isEmpty,
              parts[0].allSatisfy({ $0.isLetter && $0.isUppercase || $0 == "-" }) else { return nil }
        var request = HTTP2UpgradeRequest(method: String(parts[0]), target: String(parts[1]), host: nil,
                                          upgradeToH2C: false, settings: [], contentLength: 0)
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace
            switch name {
            case "host": request.host = String(value)
            case "upgrade":
                if value.split(separator: ",").contains(where: { $0.trimmingWhitespace.lowercased() == "h2c" }) {
                    request.upgradeToH2C = true
                }
            case "http2-settings":
                if let payload = base64URLDecoded(value) {
                    request.settings = payload.withUnsafeBytes { HTTP2Frame.settings(in: $0.bytes) }
                }
            case "content-length": request.contentLength = Int(value).map { max(0, $0) } ?? 0
            default: break
            }
        }
        return request
    }

    /// The status code of a response head (`HTTP/1.x NNN reason`); nil when it is not one.
    public static func responseStatus(head: RawSpan) -> Int? {
        guard let statusLine = httpLines(head).first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
              let status = Int(parts[1]) else { return nil }
        return status
    }

    /// The head's lines (CRLF or a bare LF ends a line; a CRLF is one Character in Swift).
    static func httpLines(_ head: RawSpan) -> [Substring] {
        let text = head.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" })
    }

    /// base64url without padding (RFC 4648 §5), as HTTP2-Settings uses (standard base64's `+` and
    /// `/`, and `=` padding, are accepted too); nil on any other character.
    static func base64URLDecoded(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for scalar in text.unicodeScalars where scalar != "=" {
            let sextet: UInt32
            switch scalar {
            case "A"..."Z": sextet = scalar.value - 65
            case "a"..."z": sextet = scalar.value - 97 + 26
            case "0"..."9": sextet = scalar.value - 48 + 52
            case "-", "+": sextet = 62
            case "_", "/": sextet = 63
            default: return nil
            }
            accumulator = (accumulator << 6 | sextet) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return bytes
    }
}

extension Substring {
    var trimmingWhitespace: Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}

extension HTTP2FrameError {
    /// `{"kind": "payload_too_short", "type": …, …}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .truncated(let needed, let available): try tagged.encode("truncated", ["needed": needed, "available": available])
        case .payloadTooShort(let type, let needed, let length):
            try tagged.encode("payloadTooShort", ["type": type, "needed": needed, "length": length])
        case .wrongPayloadLength(let type, let expected, let length):
            try tagged.encode("wrongPayloadLength", ["type": type, "expected": expected, "length": length])
        case .settingsLengthNotMultipleOf6(let length): try tagged.encode("settingsLengthNotMultipleOf6", ["length": length])
        case .settingsAckWithPayload(let length): try tagged.encode("settingsAckWithPayload", ["length": length])
        case .paddingTooLong(let type, let padLength, let available):
            try tagged.encode("paddingTooLong", ["type": type, "padLength": padLength, "available": available])
        }
    }
}

extension HTTP2Payload {
    /// `{"kind": "settings", "settings": […]}`, `{"kind": "go_away", "last_stream_id": …}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .data(let dataLength, let padLength): try tagged.encode("data", ["dataLength": dataLength, "padLength": padLength])
        case .headers(let fragmentLength, let padLength, let priority):
            try tagged.encode("headers", ["fragmentLength": fragmentLength, "padLength": padLength, "priority": priority])
        case .priority(let priority): try tagged.encode("priority", ["priority": priority])
        case .rstStream(let errorCode): try tagged.encode("rstStream", ["errorCode": errorCode])
        case .settings(let settings): try tagged.encode("settings", ["settings": settings])
        case .pushPromise(let promisedStreamID, let fragmentLength, let padLength):
            try tagged.encode("pushPromise", ["promisedStreamID": promisedStreamID, "fragmentLength": fragmentLength,
                                              "padLength": padLength])
        case .ping(let opaqueData): try tagged.encode("ping", ["opaqueData": opaqueData])
        case .goAway(let lastStreamID, let errorCode, let debugDataLength, let debugText):
            try tagged.encode("goAway", ["lastStreamID": lastStreamID, "errorCode": errorCode,
                                         "debugDataLength": debugDataLength, "debugText": debugText])
        case .windowUpdate(let increment): try tagged.encode("windowUpdate", ["increment": increment])
        case .continuation(let fragmentLength): try tagged.encode("continuation", ["fragmentLength": fragmentLength])
        case .unknown(let length): try tagged.encode("unknown", ["length": length])
        }
    }
}

import NIOCore
import NIOHPACK
import NetsiftDissect

/// One HTTP/2 connection seen from the wire (RFC 9113), both directions: how it started (client
/// preface, or an h2c upgrade), every frame, each direction's header blocks decoded by NIOHPACK,
/// and what happened to each stream.
///
/// Bounds, whatever the bytes:
/// - A frame is buffered whole before it is decoded, up to `frameBufferLimit` (256 KiB) of payload.
///   The protocol allows 16 MiB - 1 (when the peer raised SETTINGS_MAX_FRAME_SIZE); a longer frame
///   is reported at its header and its payload skipped without buffering (its frame is still
///   reported, as not decoded, when its last byte arrives). Skipping a header block loses HPACK
///   state, so that direction's header decoding stops.
/// - A header block (HEADERS or PUSH_PROMISE and its CONTINUATIONs) is gathered up to
///   `headerBlockLimit` (256 KiB); its decoded header list may be at most that size too (HPACK can
///   expand a few bytes into long fields by reference).
/// - The HPACK dynamic table follows each side's SETTINGS_HEADER_TABLE_SIZE, capped at
///   `maxHeaderTableSize` (64 KiB).
/// - At most `maxOpenStreams` streams are followed at once; a stream is dropped once it ended.
///   What a stream keeps from its headers (method, path, ...) is cut at `streamFieldLimit` bytes
///   each (the header blocks themselves are reported whole).
/// - An h2c upgrade's HTTP/1.1 head may be at most `http1HeadLimit` (64 KiB).
public struct HTTP2Connection: Sendable {
    public static let frameBufferLimit = 256 * 1024
    public static let headerBlockLimit = 256 * 1024
    public static let maxHeaderTableSize = 64 * 1024
    public static let maxOpenStreams = 1024
    public static let streamFieldLimit = 1024
    public static let http1HeadLimit = 64 * 1024
    /// The reason given with `HTTP2Problem.headerBlockLost` when a block outgrows `headerBlockLimit`.
    public static let headerBlockOverLimitReason = "over \(headerBlockLimit) bytes"

    /// Index 0 is the client's direction, 1 the server's.
    var framers = [Framer(isClient: true), Framer(isClient: false)]
    var state = State()

    public init() {}

    /// Whether the first bytes either side sent start an HTTP/2 connection: the client preface (or
    /// as much of it as is there, at least 4 bytes), an HTTP/1.1 request asking to upgrade to h2c,
    /// or the server's preface, a SETTINGS frame (RFC 9113 §3.4), which a server may send before
    /// the client's preface arrives: type 4, no flags, stream 0, a length that is a multiple of 6
    /// and within the default SETTINGS_MAX_FRAME_SIZE.
    public static func detect(firstBytes bytes: RawSpan) -> Bool {
        let preface = HTTP2Preface.bytes
        let count = min(bytes.byteCount, preface.count)
        if count >= 4, (0..<count).allSatisfy({ bytes.u8($0) == preface[$0] }) { return true }
        if let info = try? HTTP2FrameHeader(bytes).info, info.type == .settings, info.flags.isEmpty,
           info.streamID == 0, bytes.u8(5) == 0, info.length % 6 == 0,
           info.length <= Int(HTTP2Limits.defaultMaxFrameSize) {
            return true
        }
        // An upgrade request names h2c: any other head (every HTTP/1.x conversation) is turned down
        // before it is parsed into strings.
        let head = bytes.extracting(first: min(bytes.byteCount, http1HeadLimit))
        return mentionsH2C(head) && HTTP2UpgradeRequest.parse(head: head)?.upgradeToH2C == true
    }

    /// Whether "h2c" appears in `bytes`, in any case.
    static func mentionsH2C(_ bytes: RawSpan) -> Bool {
        guard bytes.byteCount >= 3 else { return false }
        for i in 0..<bytes.byteCount - 2
            where bytes.u8(i) | 0x20 == UInt8(ascii: "h") && bytes.u8(i + 1) == UInt8(ascii: "2")
                && bytes.u8(i + 2) | 0x20 == UInt8(ascii: "c") { return true }
        return false
    }

    /// Feeds the next in-order bytes of one direction. `frame` is the packet that carried them:
    /// each HTTP/2 frame is reported at the packet holding its last byte, as tshark -2 does.
    public mutating func consume(fromClient: Bool, _ bytes: RawSpan, frame: Int, time: Int64,
                                 emit: (HTTP2Message) -> Void) {
        let side = fromClient ? 0 : 1
        let context = Context(fromClient: fromClient, frame: frame, time: time)
        // The framer is moved out while it runs, so that `handle` may change the rest of `self`.
        var framer = Framer(isClient: fromClient)
        swap(&framer, &framers[side])
        framer.feed(bytes) { unit, span in state.handle(unit, span, context, emit: emit) }
        swap(&framer, &framers[side])
    }

    /// Bytes of one direction were never captured (`frame` is where that became known). HTTP/2
    /// frames cannot be found again in the middle of a byte stream, and a lost header block
    /// desynchronises HPACK, so this direction stops being parsed, which is reported once.
    public mutating func gap(fromClient: Bool, frame: Int, time: Int64, emit: (HTTP2Message) -> Void) {
        let side = fromClient ? 0 : 1
        guard framers[side].mode != .stopped else { return }
        framers[side].stop()
        state.sides[side].stopHeaderDecoding()
        emit(Context(fromClient: fromClient, frame: frame, time: time).message(.problem(.gap)))
    }

    /// Streams that have not ended yet (at the end of a capture: requests never answered, or cut).
    public var openStreams: [HTTP2Stream] {
        state.streams.values.sorted { $0.streamID < $1.streamID }
    }
}

// MARK: - Framing

extension HTTP2Connection {
    /// What a framer found in one direction's bytes.
    enum Unit {
        case preface
        case missingPreface
        case prefaceMismatch
        case upgradeRequest(HTTP2UpgradeRequest)
        case upgradeResponse(status: Int)
        case notHTTP2(String)
        case headTooLong
        /// A frame header, as soon as its 9 bytes are there (before its payload).
        case frameHeader(HTTP2FrameInfo)
        /// A whole frame, header included (the span).
        case frame
        /// The end of a frame whose payload was skipped.
        case skippedFrame(HTTP2FrameInfo)
    }

    /// Cuts one direction's bytes into the preface, the h2c upgrade's HTTP/1.1 head, and frames.
    /// Whole frames are handed over straight from the input; only a frame that spans `feed` calls is
    /// copied into `buffer` (bounded by `HTTP2Connection.frameBufferLimit` plus the header).
    struct Framer: Sendable {
        enum Mode: Sendable, Equatable {
            /// Nothing seen yet: the first bytes tell preface, HTTP/1.1 head or frames.
            case start
            /// After an h2c upgrade request: the preface comes next.
            case preface
            case http1Head
            /// The body of the upgrade request, sent before the switch.
            case body(remaining: Int)
            case frames
            /// The rest of a frame too long to buffer.
            case skipping(HTTP2FrameInfo, remaining: Int)
            case stopped
        }

        let isClient: Bool
        var mode = Mode.start
        var buffer: [UInt8] = []

        init(isClient: Bool) { self.isClient = isClient }

        mutating func stop() {
            mode = .stopped
            buffer = []
        }

        mutating func feed(_ bytes: RawSpan, _ handle: (Unit, RawSpan) -> Void) {
            var input = bytes
            while !input.isEmpty {
                let used: Int
                switch mode {
                case .stopped: return
                case .start: used = start(input, handle)
                case .preface: used = preface(input, fallback: false, handle)
                case .http1Head: used = http1Head(input, handle)
                case .body(let remaining):
                    used = min(remaining, input.byteCount)
                    mode = used == remaining ? .preface : .body(remaining: remaining - used)
                case .frames: used = frames(input, handle)
                case .skipping(let info, let remaining):
                    used = min(remaining, input.byteCount)
                    if used == remaining {
                        mode = .frames
                        handle(.skippedFrame(info), input.extracting(first: 0))
                    } else {
                        mode = .skipping(info, remaining: remaining - used)
                    }
                }
                input = input.extracting(droppingFirst: used)
            }
        }

        /// The first bytes. A client sends the preface ("PRI ..."), or an HTTP/1.1 request (a method
        /// in capitals: as a frame header it would declare a length of at least 4 MiB), or, when the
        /// capture missed the start, frames. A server answers an upgrade with "HTTP/1.1 ..." or sends
        /// frames.
        mutating func start(_ input: RawSpan, _ handle: (Unit, RawSpan) -> Void) -> Int {
            let first = buffer.first ?? input.u8(0)
            if !isClient {
                mode = first == UInt8(ascii: "H") ? .http1Head : .frames
                return 0
            }
            if first == HTTP2Preface.bytes[0] { return preface(input, fallback: true, handle) }
            if first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") {
                mode = .http1Head
            } else {
                handle(.missingPreface, input.extracting(first: 0))
                mode = .frames
            }
            return 0
        }

        /// Compares the bytes with the preface as they come. On a mismatch at the start (`fallback`),
        /// the bytes gathered so far are parsed again as an HTTP/1.1 head or frames.
        mutating func preface(_ input: RawSpan, fallback: Bool, _ handle: (Unit, RawSpan) -> Void) -> Int {
            let preface = HTTP2Preface.bytes
            let used = min(preface.count - buffer.count, input.byteCount)
            append(input.extracting(first: used))
            if buffer.elementsEqual(preface.prefix(buffer.count)) {
                if buffer.count == preface.count {
                    buffer.removeAll()
                    mode = .frames
                    handle(.preface, input.extracting(first: 0))
                }
                return used
            }
            let gathered = buffer
            buffer = []
            guard fallback else {
                handle(.prefaceMismatch, input.extracting(first: 0))
                stop()
                return used
            }
            mode = gathered[0] >= UInt8(ascii: "A") && gathered[0] <= UInt8(ascii: "Z") ? .http1Head : .frames
            if mode == .frames { handle(.missingPreface, input.extracting(first: 0)) }
            feed(gathered.span.bytes, handle)
            return used
        }

        /// Gathers an HTTP/1.1 head up to its empty line, then decides what comes next.
        mutating func http1Head(_ input: RawSpan, _ handle: (Unit, RawSpan) -> Void) -> Int {
            let searchFrom = max(0, buffer.count - 3)
            let before = buffer.count
            append(input.extracting(first: min(input.byteCount, HTTP2Connection.http1HeadLimit - buffer.count)))
            guard let end = headEnd(from: searchFrom) else {
                if buffer.count >= HTTP2Connection.http1HeadLimit {
                    handle(.headTooLong, input.extracting(first: 0))
                    stop()
                }
                return buffer.count - before
            }
            let used = end - before
            let head = Array(buffer[..<end])
            buffer.removeAll()
            let empty = input.extracting(first: 0)
            if isClient {
                guard let request = HTTP2UpgradeRequest.parse(head: head.span.bytes) else {
                    handle(.notHTTP2("not an HTTP/1.1 request"), empty)
                    stop()
                    return used
                }
                guard request.upgradeToH2C else {
                    handle(.notHTTP2("HTTP/1.1 \(request.method) without Upgrade: h2c"), empty)
                    stop()
                    return used
                }
                handle(.upgradeRequest(request), empty)
                mode = request.contentLength > 0 ? .body(remaining: request.contentLength) : .preface
            } else {
                guard let status = HTTP2UpgradeRequest.responseStatus(head: head.span.bytes) else {
                    handle(.notHTTP2("not an HTTP/1.1 response"), empty)
                    stop()
                    return used
                }
                switch status {
                case 101:
                    handle(.upgradeResponse(status: status), empty)
                    mode = .frames
                case 100..<200:
                    break  // 100 Continue and other interim answers: the final one follows.
                default:
                    handle(.upgradeResponse(status: status), empty)
                    stop()
                }
            }
            return used
        }

        /// The index just past the head's empty line (CRLF CRLF, or a bare LF LF), searching from `from`.
        func headEnd(from: Int) -> Int? {
            var index = from
            while index < buffer.count {
                if buffer[index] == 0x0A {
                    if index + 1 < buffer.count, buffer[index + 1] == 0x0A { return index + 2 }
                    if index + 2 < buffer.count, buffer[index + 1] == 0x0D, buffer[index + 2] == 0x0A { return index + 3 }
                }
                index += 1
            }
            return nil
        }

        /// Frames: whole ones straight from the input, a partial one through `buffer`.
        mutating func frames(_ input: RawSpan, _ handle: (Unit, RawSpan) -> Void) -> Int {
            let headerLength = HTTP2FrameHeader.length
            if buffer.isEmpty {
                var offset = 0
                while input.byteCount - offset >= headerLength {
                    let rest = input.extracting(droppingFirst: offset)
                    guard let info = try? HTTP2FrameHeader(rest).info else { break }
                    handle(.frameHeader(info), rest.extracting(first: 0))
                    if info.length > HTTP2Connection.frameBufferLimit {
                        mode = .skipping(info, remaining: info.length)
                        return offset + headerLength
                    }
                    guard rest.byteCount >= headerLength + info.length else { break }
                    handle(.frame, rest.extracting(first: headerLength + info.length))
                    offset += headerLength + info.length
                }
                append(input.extracting(droppingFirst: offset))
                return input.byteCount
            }
            var used = 0
            if buffer.count < headerLength {
                used = min(headerLength - buffer.count, input.byteCount)
                append(input.extracting(first: used))
                guard buffer.count == headerLength else { return used }
                guard let info = try? HTTP2FrameHeader(buffer.span.bytes).info else { return used }
                handle(.frameHeader(info), input.extracting(first: 0))
                if info.length > HTTP2Connection.frameBufferLimit {
                    buffer.removeAll()
                    mode = .skipping(info, remaining: info.length)
                    return used
                }
            }
            let total = headerLength + (Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2]))
            let more = min(total - buffer.count, input.byteCount - used)
            append(input.extracting(used..<used + more))
            used += more
            if buffer.count == total {
                // Taken out of `self` so that the span handed over does not overlap later appends.
                var frame: [UInt8] = []
                swap(&frame, &buffer)
                handle(.frame, frame.span.bytes)
                // Keep a small buffer's storage for the next partial frame; give a large one back.
                frame.removeAll(keepingCapacity: frame.capacity <= 16 * 1024)
                swap(&frame, &buffer)
            }
            return used
        }

        mutating func append(_ bytes: RawSpan) {
            bytes.withUnsafeBytes { buffer.append(contentsOf: $0) }
        }
    }

    // MARK: - Connection state

    /// Where and from whom the bytes being handled came.
    struct Context {
        var fromClient: Bool
        var frame: Int
        var time: Int64
        func message(_ event: HTTP2Event) -> HTTP2Message {
            HTTP2Message(frame: frame, time: time, fromClient: fromClient, event: event)
        }
    }

    /// What one side sends: its header blocks' HPACK state, and the limits it announced for what it
    /// receives.
    struct Side: Sendable {
        /// Decodes the header blocks this side sends (its encoder's mirror).
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator(),
                                   maxDynamicTableSize: Int(HTTP2Limits.defaultHeaderTableSize),
                                   maxHeaderListSize: HTTP2Connection.headerBlockLimit)
        /// False once HPACK state is lost.
        var decoding = true
        /// The header block being gathered (HEADERS or PUSH_PROMISE without END_HEADERS so far).
        var block: PendingBlock?
        var fragments = ByteBufferAllocator().buffer(capacity: 0)
        /// The largest frame this side accepts (its SETTINGS_MAX_FRAME_SIZE).
        var maxFrameSize = Int(HTTP2Limits.defaultMaxFrameSize)

        struct PendingBlock: Sendable {
            var streamID: UInt32
            var promisedStreamID: UInt32?
            var endStream: Bool
        }

        /// HPACK state is lost. An open block is still followed (without its fragments), so that its
        /// END_STREAM counts when it ends.
        mutating func stopHeaderDecoding() {
            decoding = false
            fragments = ByteBufferAllocator().buffer(capacity: 0)
        }

        mutating func decodeFragments() throws -> HPACKHeaders {
            try decoder.decodeHeaders(from: &fragments)
        }
    }

    struct State: Sendable {
        /// Index 0 is the client, 1 the server.
        var sides = [Side(), Side()]
        var streams: [UInt32: HTTP2Stream] = [:]
        /// The highest stream each side opened: a lower unknown stream is closed, not new (§5.1.1).
        var highestStreamID: [UInt32] = [0, 0]
        var tooManyStreamsReported = false
        var upgradeDeclined = false
        /// Problems found while handling one frame, emitted before it.
        var problems: [HTTP2Problem] = []

        mutating func handle(_ unit: Unit, _ span: RawSpan, _ context: Context, emit: (HTTP2Message) -> Void) {
            let side = context.fromClient ? 0 : 1
            switch unit {
            case .preface:
                emit(context.message(.preface))
            case .missingPreface:
                emit(context.message(.problem(.missingPreface)))
            case .prefaceMismatch:
                // After a declined upgrade the client goes on in HTTP/1.1: nothing wrong with that.
                if !upgradeDeclined { emit(context.message(.problem(.prefaceMismatch))) }
            case .upgradeRequest(let request):
                emit(context.message(.upgradeRequest(request)))
                applySettings(request.settings, from: side, context, emit: emit)
                var stream = HTTP2Stream(streamID: 1, origin: .upgrade, frame: context.frame, time: context.time)
                stream.method = request.method
                stream.path = request.target
                stream.authority = request.host
                stream.scheme = "http"
                // RFC 7540 §3.2: stream 1 is half-closed from the client once the upgrade happens.
                stream.clientEndStream = true
                stream.requestEndTime = context.time
                streams[1] = stream
                highestStreamID[0] = 1
            case .upgradeResponse(let status):
                upgradeDeclined = status != 101
                emit(context.message(.upgradeResponse(status: status)))
                if upgradeDeclined { streams[1] = nil }
            case .notHTTP2(let reason):
                emit(context.message(.problem(.notHTTP2(reason: reason))))
            case .headTooLong:
                emit(context.message(.problem(.upgradeHeadTooLong(limit: HTTP2Connection.http1HeadLimit))))
            case .frameHeader(let info):
                let limit = sides[1 - side].maxFrameSize
                if info.length > limit {
                    emit(context.message(.problem(.frameTooLarge(type: info.type, streamID: info.streamID,
                                                                 length: info.length, maxFrameSize: limit))))
                }
                if info.length > HTTP2Connection.frameBufferLimit {
                    emit(context.message(.problem(.frameNotBuffered(type: info.type, streamID: info.streamID,
                                                                    length: info.length,
                                                                    limit: HTTP2Connection.frameBufferLimit))))
                }
            case .skippedFrame(let info):
                var ended: [HTTP2Stream] = []
                checkContinuation(info, side: side)
                switch info.type {
                case .data:
                    // The payload was not read: its length counts, padding included.
                    track(info.streamID, side: side, create: true, context)
                    addData(info.length, to: info.streamID, side: side, endStream: info.flags.contains(.endStream),
                            context, ended: &ended)
                case .headers, .pushPromise, .continuation:
                    loseHeaderBlock(side, streamID: info.streamID, reason: "frame not buffered")
                    if info.type == .headers {
                        track(info.streamID, side: side, create: true, context)
                        sides[side].block = Side.PendingBlock(streamID: info.streamID, promisedStreamID: nil,
                                                              endStream: info.flags.contains(.endStream))
                    } else if info.type == .pushPromise {
                        // The promised stream's number was in the skipped payload.
                        sides[side].block = Side.PendingBlock(streamID: info.streamID, promisedStreamID: nil, endStream: false)
                    }
                    _ = gather(span, side: side, end: info.flags.contains(.endHeaders), context, ended: &ended)
                default:
                    break
                }
                flushProblems(context, emit: emit)
                emit(context.message(.frame(HTTP2FrameRecord(info: info, payload: .notBuffered))))
                for stream in ended { emit(context.message(.streamEnded(stream))) }
            case .frame:
                handleFrame(span, side: side, context, emit: emit)
            }
        }

        mutating func handleFrame(_ bytes: RawSpan, side: Int, _ context: Context, emit: (HTTP2Message) -> Void) {
            guard let info = try? HTTP2FrameHeader(bytes).info else { return }
            checkContinuation(info, side: side)
            let frame: HTTP2Frame
            do {
                frame = try HTTP2Frame(bytes)
            } catch {
                if [HTTP2FrameType.headers, .pushPromise, .continuation].contains(info.type) {
                    loseHeaderBlock(side, streamID: info.streamID, reason: "malformed \(info.type)")
                }
                flushProblems(context, emit: emit)
                emit(context.message(.frame(HTTP2FrameRecord(info: info, payload: .malformed(error)))))
                return
            }
            var record = HTTP2FrameRecord(info: info, payload: .decoded(frame.decoded))
            var ended: [HTTP2Stream] = []
            let streamID = info.streamID
            switch info.type {
            case .data:
                track(streamID, side: side, create: true, context)
                addData(frame.content.byteCount, to: streamID, side: side, endStream: info.flags.contains(.endStream),
                        context, ended: &ended)
            case .headers:
                track(streamID, side: side, create: true, context)
                sides[side].block = Side.PendingBlock(streamID: streamID, promisedStreamID: nil,
                                                      endStream: info.flags.contains(.endStream))
                record.headerBlock = gather(frame.content, side: side, end: info.flags.contains(.endHeaders),
                                            context, ended: &ended)
            case .pushPromise:
                let promised = frame.promisedStreamID!
                if track(promised, side: side, create: true, context, origin: .push) {
                    // The promised request is complete as it is: the client never sends on it.
                    streams[promised]?.clientEndStream = true
                }
                sides[side].block = Side.PendingBlock(streamID: streamID, promisedStreamID: promised, endStream: false)
                record.headerBlock = gather(frame.content, side: side, end: info.flags.contains(.endHeaders),
                                            context, ended: &ended)
            case .continuation:
                if sides[side].block == nil {
                    // With decoding stopped the block was dropped on purpose: nothing more to say.
                    if sides[side].decoding { problems.append(.unexpectedContinuation(streamID: streamID)) }
                } else {
                    record.headerBlock = gather(frame.content, side: side, end: info.flags.contains(.endHeaders),
                                                context, ended: &ended)
                }
            case .rstStream:
                if track(streamID, side: side, create: false, context) {
                    streams[streamID]?.reset = HTTP2Stream.Reset(errorCode: frame.errorCode!, byClient: context.fromClient,
                                                                 frame: context.frame)
                    if let stream = finishIfEnded(streamID) { ended.append(stream) }
                }
            case .settings where !info.flags.contains(.ack):
                applySettings(frame.settings, from: side, context, emit: emit)
            case .goAway:
                // Streams the receiver opened above Last-Stream-ID were never processed (§6.8).
                let last = frame.lastStreamID!
                let receiverOpensOdd = !context.fromClient
                for id in streams.keys.sorted() where id > last && (id % 2 == 1) == receiverOpensOdd {
                    streams[id]?.goAwayErrorCode = frame.errorCode!
                    streams[id]?.lastFrame = context.frame
                    streams[id]?.lastTime = context.time
                    if let stream = finishIfEnded(id) { ended.append(stream) }
                }
            default:
                break
            }
            flushProblems(context, emit: emit)
            emit(context.message(.frame(record)))
            for stream in ended { emit(context.message(.streamEnded(stream))) }
        }

        /// A header block is open and this frame is not its CONTINUATION (RFC 9113 §6.10): the block
        /// is dropped, and HPACK state with it.
        mutating func checkContinuation(_ info: HTTP2FrameInfo, side: Int) {
            guard let block = sides[side].block, info.type != .continuation || info.streamID != block.streamID else { return }
            problems.append(.continuationExpected(streamID: block.streamID, got: info.type, gotStreamID: info.streamID))
            sides[side].block = nil
            sides[side].stopHeaderDecoding()
        }

        mutating func flushProblems(_ context: Context, emit: (HTTP2Message) -> Void) {
            for problem in problems { emit(context.message(.problem(problem))) }
            problems.removeAll()
        }

        /// Adds a fragment to the side's open header block; at END_HEADERS decodes it and applies it
        /// to its stream.
        mutating func gather(_ fragment: RawSpan, side: Int, end: Bool, _ context: Context,
                             ended: inout [HTTP2Stream]) -> HTTP2HeaderBlock? {
            guard let block = sides[side].block else { return nil }
            if sides[side].decoding {
                if sides[side].fragments.readableBytes + fragment.byteCount > HTTP2Connection.headerBlockLimit {
                    problems.append(.headerBlockLost(streamID: block.streamID,
                                                     reason: HTTP2Connection.headerBlockOverLimitReason))
                    sides[side].stopHeaderDecoding()
                } else {
                    fragment.withUnsafeBytes { _ = sides[side].fragments.writeBytes($0) }
                }
            }
            guard end else { return nil }
            sides[side].block = nil
            var decoded: HTTP2HeaderBlock?
            if sides[side].decoding {
                do {
                    let headers = try sides[side].decodeFragments()
                    var pseudo: [HTTP2HeaderField] = []
                    var regular: [HTTP2HeaderField] = []
                    for header in headers {
                        let field = HTTP2HeaderField(header.name, header.value)
                        if header.name.hasPrefix(":") { pseudo.append(field) } else { regular.append(field) }
                    }
                    decoded = HTTP2HeaderBlock(streamID: block.streamID, promisedStreamID: block.promisedStreamID,
                                               pseudoHeaders: pseudo, headers: regular)
                } catch {
                    problems.append(.hpackError(streamID: block.streamID, description: String(describing: error)))
                    sides[side].stopHeaderDecoding()
                }
                sides[side].fragments.clear()
            }
            let target = block.promisedStreamID ?? block.streamID
            change(target) { stream in
                if let decoded { Self.apply(decoded, to: &stream, fromClient: side == 0, context) }
                stream.lastFrame = context.frame
                stream.lastTime = context.time
                if block.endStream { stream.end(side: side, at: context.time) }
            }
            if block.endStream, let stream = finishIfEnded(target) { ended.append(stream) }
            return decoded
        }

        /// Changes a followed stream in place. (The dictionary's own subscript moves the stream out
        /// into an optional and back: two copies of the whole stream at every frame.)
        /// Returns whether the stream is followed.
        @discardableResult
        mutating func change(_ id: UInt32, _ body: (inout HTTP2Stream) -> Void) -> Bool {
            guard let index = streams.index(forKey: id) else { return false }
            body(&streams.values[index])
            return true
        }

        /// Records what a decoded block says about its stream.
        static func apply(_ block: HTTP2HeaderBlock, to stream: inout HTTP2Stream, fromClient: Bool, _ context: Context) {
            func field(_ name: String) -> String? {
                block.value(name).map { value in
                    value.utf8.count <= HTTP2Connection.streamFieldLimit ? value
                        : String(decoding: value.utf8.prefix(HTTP2Connection.streamFieldLimit), as: UTF8.self)
                }
            }
            if fromClient || block.promisedStreamID != nil {
                stream.method = field(":method") ?? stream.method
                stream.scheme = field(":scheme") ?? stream.scheme
                stream.authority = field(":authority") ?? stream.authority
                stream.path = field(":path") ?? stream.path
                if stream.requestContentType == nil { stream.requestContentType = field("content-type") }
            } else {
                // 1xx answers are interim (RFC 9110 §15.2); the final status is the first other one.
                if let status = block.value(":status").flatMap({ Int($0) }), !(100..<200).contains(status) {
                    if stream.status == nil {
                        stream.responseTime = context.time
                        stream.responseFrame = context.frame
                    }
                    stream.status = status
                    stream.responseContentType = field("content-type") ?? stream.responseContentType
                }
                stream.grpcStatus = field("grpc-status") ?? stream.grpcStatus
                stream.grpcMessage = field("grpc-message") ?? stream.grpcMessage
            }
        }

        /// A header block cannot be decoded (its frame was malformed or skipped): HPACK state is gone.
        mutating func loseHeaderBlock(_ side: Int, streamID: UInt32, reason: String) {
            guard sides[side].decoding else { return }
            sides[side].stopHeaderDecoding()
            problems.append(.headerBlockLost(streamID: streamID, reason: reason))
        }

        mutating func addData(_ count: Int, to id: UInt32, side: Int, endStream: Bool, _ context: Context,
                              ended: inout [HTTP2Stream]) {
            let followed = change(id) { stream in
                if side == 0 { stream.requestDataBytes += count } else { stream.responseDataBytes += count }
                if endStream { stream.end(side: side, at: context.time) }
            }
            if followed, let stream = finishIfEnded(id) { ended.append(stream) }
        }

        /// Finds the stream, opening it when `create` allows and it is new (a stream number above the
        /// highest its opener used); updates its last frame. Returns whether the stream is followed.
        @discardableResult
        mutating func track(_ id: UInt32, side: Int, create: Bool, _ context: Context,
                            origin: HTTP2Stream.Origin = .client) -> Bool {
            guard id != 0 else { return false }
            let followed = change(id) { stream in
                stream.lastFrame = context.frame
                stream.lastTime = context.time
            }
            if followed { return true }
            let opener = id % 2 == 1 ? 0 : 1
            guard create, id > highestStreamID[opener] else { return false }
            highestStreamID[opener] = id
            guard streams.count < HTTP2Connection.maxOpenStreams else {
                if !tooManyStreamsReported { problems.append(.tooManyStreams(limit: HTTP2Connection.maxOpenStreams)) }
                tooManyStreamsReported = true
                return false
            }
            streams[id] = HTTP2Stream(streamID: id, origin: opener == 0 ? .client : origin, frame: context.frame,
                                      time: context.time)
            return true
        }

        mutating func finishIfEnded(_ id: UInt32) -> HTTP2Stream? {
            guard let index = streams.index(forKey: id), streams.values[index].ending != .open else { return nil }
            return streams.remove(at: index).value
        }

        /// SETTINGS sent by `side`: its HEADER_TABLE_SIZE bounds the other side's HPACK encoder (so the
        /// decoder that mirrors it), its MAX_FRAME_SIZE the frames the other side may send it.
        mutating func applySettings(_ settings: [HTTP2Setting], from side: Int, _ context: Context,
                                    emit: (HTTP2Message) -> Void) {
            for setting in settings {
                guard setting.isValid else {
                    emit(context.message(.problem(.invalidSetting(setting))))
                    continue
                }
                switch setting.id {
                case .headerTableSize:
                    sides[1 - side].decoder.maxDynamicTableLength = min(Int(setting.value), HTTP2Connection.maxHeaderTableSize)
                case .maxFrameSize:
                    sides[side].maxFrameSize = Int(setting.value)
                default:
                    break
                }
            }
        }
    }
}

import Testing
import NetsiftTestSupport
import NetsiftDissect
@testable import NetsiftFlows

// Connections built from RFC 9113 frames. Header blocks are RFC 7541 Appendix C's examples, whose
// decoded header lists the RFC gives: C.3 / C.4 are three requests on one connection (without and
// with Huffman coding), C.5 / C.6 three responses with a 256-byte dynamic table.

private func bytes(_ text: String) -> [UInt8] {
    Build.hex(text)   // NetsiftTestSupport's, with its check for an odd digit count
}

/// A frame laid out as RFC 9113 §4.1 says: Length (24), Type (8), Flags (8), R + Stream ID (32).
private func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
    let length = payload.count
    return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
            UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
}

private let preface = bytes("505249202a20485454502f322e300d0a0d0a534d0d0a0d0a")  // RFC 9113 §3.4
private let endStream: UInt8 = 0x1, endHeaders: UInt8 = 0x4

// RFC 7541 C.3.1-C.3.3: requests, no Huffman.
private let c31 = bytes("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")
private let c32 = bytes("8286 84be 5808 6e6f 2d63 6163 6865")
private let c33 = bytes("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")
// C.4.1-C.4.3: the same requests, Huffman-coded.
private let c41 = bytes("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")
private let c42 = bytes("8286 84be 5886 a8eb 1064 9cbf")
private let c43 = bytes("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")
// C.5.1-C.5.3: responses, no Huffman, dynamic table of 256 bytes.
private let c51 = bytes("""
    4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d
    546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d
    """)
private let c52 = bytes("4803 3330 37c1 c0bf")
private let c53 = bytes("""
    88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f
    6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b
    2076 6572 7369 6f6e 3d31
    """)
// C.6.1-C.6.3: the same responses, Huffman-coded.
private let c61 = bytes("""
    4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7
    8f0b 97c8 e9ae 82ae 43d3
    """)
private let c62 = bytes("4883 640e ffc1 c0bf")
private let c63 = bytes("""
    88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335
    dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07
    """)

private func fields(_ pairs: [(String, String)]) -> [HTTP2HeaderField] { pairs.map { HTTP2HeaderField($0.0, $0.1) } }

// The header lists RFC 7541 gives for those blocks.
private let request1 = fields([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")])
private let request2Regular = fields([("cache-control", "no-cache")])
private let request3 = fields([(":method", "GET"), (":scheme", "https"), (":path", "/index.html"),
                               (":authority", "www.example.com")])
private let request3Regular = fields([("custom-key", "custom-value")])
private let response1Regular = fields([("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                                       ("location", "https://www.example.com")])
private let response3Regular = fields([
    ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"), ("location", "https://www.example.com"),
    ("content-encoding", "gzip"), ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
])

/// SETTINGS with SETTINGS_HEADER_TABLE_SIZE (0x1) = 256, the table size of C.5 / C.6.
private let settings256 = frame(0x4, 0, 0, bytes("0001 00000100"))

/// Feeds steps in order (direction, bytes, frame number) and collects what the connection says.
private func run(_ steps: [(client: Bool, bytes: [UInt8], frame: Int)],
                 connection: inout HTTP2Connection) -> [HTTP2Message] {
    var messages: [HTTP2Message] = []
    for step in steps {
        step.bytes.withUnsafeBytes { raw in
            connection.consume(fromClient: step.client, raw.bytes, frame: step.frame, time: Int64(step.frame)) {
                messages.append($0)
            }
        }
    }
    return messages
}

private func run(_ steps: [(client: Bool, bytes: [UInt8], frame: Int)]) -> [HTTP2Message] {
    var connection = HTTP2Connection()
    return run(steps, connection: &connection)
}

private extension HTTP2Message {
    var record: HTTP2FrameRecord? {
        if case .frame(let record) = event { return record }
        return nil
    }
    var stream: HTTP2Stream? {
        if case .streamEnded(let stream) = event { return stream }
        return nil
    }
    var problem: HTTP2Problem? {
        if case .problem(let problem) = event { return problem }
        return nil
    }
}

private extension [HTTP2Message] {
    var records: [HTTP2FrameRecord] { compactMap(\.record) }
    var blocks: [HTTP2HeaderBlock] { compactMap(\.record?.headerBlock) }
    var ended: [HTTP2Stream] { compactMap(\.stream) }
    var problems: [HTTP2Problem] { compactMap(\.problem) }
}

/// Three exchanges on one connection: C.3 requests on streams 1, 3, 5, C.5 responses.
private func exchanges(requests: [[UInt8]], responses: [[UInt8]]) -> [(client: Bool, bytes: [UInt8], frame: Int)] {
    [
        (true, preface + settings256 + frame(0x1, endStream | endHeaders, 1, requests[0]), 1),
        (false, frame(0x4, 0, 0) + frame(0x4, 0x1, 0) + frame(0x1, endHeaders, 1, responses[0])
            + frame(0x0, endStream, 1, Array("hi".utf8)), 2),
        (true, frame(0x1, endStream | endHeaders, 3, requests[1]), 3),
        (false, frame(0x1, endStream | endHeaders, 3, responses[1]), 4),
        (true, frame(0x1, endStream | endHeaders, 5, requests[2]), 5),
        (false, frame(0x1, endStream | endHeaders, 5, responses[2]), 6),
    ]
}

@Suite struct HTTP2ConnectionTests {
    @Test func rfc7541ExamplesWithoutHuffman() {
        let messages = run(exchanges(requests: [c31, c32, c33], responses: [c51, c52, c53]))
        #expect(messages.first?.event == .preface)
        let blocks = messages.blocks
        #expect(blocks.count == 6)
        #expect(blocks[0] == HTTP2HeaderBlock(streamID: 1, pseudoHeaders: request1, headers: []))
        #expect(blocks[1] == HTTP2HeaderBlock(streamID: 1, pseudoHeaders: fields([(":status", "302")]),
                                              headers: response1Regular))
        #expect(blocks[2] == HTTP2HeaderBlock(streamID: 3, pseudoHeaders: request1, headers: request2Regular))
        #expect(blocks[3] == HTTP2HeaderBlock(streamID: 3, pseudoHeaders: fields([(":status", "307")]),
                                              headers: response1Regular))
        #expect(blocks[4] == HTTP2HeaderBlock(streamID: 5, pseudoHeaders: request3, headers: request3Regular))
        #expect(blocks[5] == HTTP2HeaderBlock(streamID: 5, pseudoHeaders: fields([(":status", "200")]),
                                              headers: response3Regular))
        #expect(messages.problems.isEmpty)

        let ended = messages.ended
        #expect(ended.map(\.streamID) == [1, 3, 5])
        #expect(ended.allSatisfy { $0.ending == .complete })
        #expect(ended[0].method == "GET" && ended[0].scheme == "http" && ended[0].path == "/"
                && ended[0].authority == "www.example.com" && ended[0].status == 302)
        #expect(ended[0].responseDataBytes == 2 && ended[0].firstFrame == 1 && ended[0].lastFrame == 2)
        #expect(ended[2].scheme == "https" && ended[2].path == "/index.html" && ended[2].status == 200)

        let lines = messages.filter { $0.record?.info.type == .headers }.map(\.summaryLine)
        #expect(lines == ["HTTP/2 HEADERS[1] GET /", "HTTP/2 HEADERS[1] 302", "HTTP/2 HEADERS[3] GET /",
                          "HTTP/2 HEADERS[3] 307", "HTTP/2 HEADERS[5] GET /index.html", "HTTP/2 HEADERS[5] 200"])
        #expect(ended[2].summaryLine == "HTTP/2 stream 5 GET /index.html -> 200 complete")
    }

    @Test func rfc7541ExamplesWithHuffman() {
        let plain = run(exchanges(requests: [c31, c32, c33], responses: [c51, c52, c53])).blocks
        let huffman = run(exchanges(requests: [c41, c42, c43], responses: [c61, c62, c63])).blocks
        #expect(huffman.count == 6)
        #expect(huffman == plain)
    }

    /// A conversation with a frame of most types: HEADERS + CONTINUATION, padded DATA, SETTINGS,
    /// WINDOW_UPDATE, RST_STREAM (CANCEL), PING ACK, GOAWAY with debug data "bye".
    static let client = preface + settings256 + frame(0x1, 0, 1, Array(c31.prefix(7)))
        + frame(0x9, endHeaders, 1, Array(c31.dropFirst(7))) + frame(0x0, 0x9, 1, bytes("03 616263 000000"))
        + frame(0x1, endStream | endHeaders, 3, c32) + frame(0x8, 0, 0, bytes("00010000"))
    static let server = frame(0x4, 0, 0, bytes("0005 00008000")) + frame(0x1, endHeaders, 1, c51)
        + frame(0x0, endStream, 1, Array(repeating: 0x61, count: 40)) + frame(0x3, 0, 3, bytes("00000008"))
        + frame(0x6, 0x1, 0, bytes("0001020304050607")) + frame(0x7, 0, 0, bytes("00000003 00000000 6279 65"))

    /// The same bytes cut at every position, and one byte at a time, give the same events.
    @Test func splitAtEveryByte() {
        let client = Self.client, server = Self.server
        let whole = run([(true, client, 1), (false, server, 1)])
        // Client: preface, SETTINGS, HEADERS, CONTINUATION, DATA, HEADERS, WINDOW_UPDATE. Server:
        // SETTINGS, HEADERS, DATA, stream 1 ended, RST_STREAM, stream 3 ended, PING, GOAWAY.
        #expect(whole.count == 15)
        #expect(whole.problems.isEmpty)
        for (data, isClient) in [(client, true), (server, false)] {
            for cut in 1..<data.count {
                let other = isClient ? server : client
                let split = run([(isClient, Array(data[..<cut]), 1), (isClient, Array(data[cut...]), 1),
                                 (!isClient, other, 1)])
                let expected = run(isClient ? [(true, client, 1), (false, server, 1)]
                                            : [(false, server, 1), (true, client, 1)])
                #expect(split == expected, "cut at \(cut) of the \(isClient ? "client" : "server") bytes")
            }
        }
        var connection = HTTP2Connection()
        var byteByByte: [HTTP2Message] = []
        for byte in client { byteByByte += run([(true, [byte], 1)], connection: &connection) }
        for byte in server { byteByByte += run([(false, [byte], 1)], connection: &connection) }
        #expect(byteByByte == whole)
    }

    /// Every byte replaced by values that break lengths, types, flags and HPACK: whatever comes
    /// out, nothing traps or hangs, and the frame buffer stays within its bound.
    @Test func mutatedBytesNeverTrap() {
        for (data, isClient) in [(Self.client, true), (Self.server, false)] {
            for index in data.indices {
                for value: UInt8 in [0x00, 0x01, 0x04, 0x3f, 0x7f, 0x80, 0xff] where data[index] != value {
                    var mutated = data
                    mutated[index] = value
                    var connection = HTTP2Connection()
                    let other = isClient ? Self.server : Self.client
                    _ = run([(isClient, mutated, 1), (!isClient, other, 2)], connection: &connection)
                    #expect(connection.framers.allSatisfy { $0.buffer.count <= HTTP2Connection.frameBufferLimit + 9 })
                }
            }
        }
    }

    @Test func headersAndContinuation() {
        // HEADERS (END_STREAM, no END_HEADERS) with C.3.1's first 7 bytes, CONTINUATION with the rest.
        let messages = run([(true, preface + frame(0x1, endStream, 1, Array(c31.prefix(7))), 1),
                            (true, frame(0x9, endHeaders, 1, Array(c31.dropFirst(7))), 2),
                            (false, frame(0x1, endStream | endHeaders, 1, c51), 3)])
        let records = messages.records
        #expect(records.map(\.info.type) == [.headers, .continuation, .headers])
        #expect(records[0].headerBlock == nil)
        #expect(records[0].summaryLine == "HTTP/2 HEADERS[1] header block fragment 7 bytes")
        #expect(records[1].headerBlock == HTTP2HeaderBlock(streamID: 1, pseudoHeaders: request1, headers: []))
        #expect(records[1].summaryLine == "HTTP/2 CONTINUATION[1] GET /")
        // The HEADERS frame's END_STREAM took effect when its block ended.
        #expect(messages.ended.map(\.ending) == [.complete])
    }

    @Test func continuationMustFollowItsHeaders() {
        let messages = run([(true, preface + frame(0x1, 0, 1, Array(c31.prefix(7)))
                                + frame(0x0, 0, 1, Array("x".utf8)) + frame(0x9, endHeaders, 1, Array(c31.dropFirst(7))), 1)])
        #expect(messages.problems == [.continuationExpected(streamID: 1, got: .data, gotStreamID: 1)])
        // The block is gone, and HPACK state with it: the late CONTINUATION says nothing more.
        #expect(messages.blocks.isEmpty)
        #expect(messages.records.count == 3)
    }

    /// 0xbe is an indexed field at index 62, the first dynamic entry (RFC 7541 §2.3.3), and the
    /// table is empty: a decoding error. After it this direction's blocks are not decoded; the
    /// other direction's still are.
    @Test func hpackErrorStopsThatDirection() {
        let messages = run([(true, preface + frame(0x1, endStream | endHeaders, 1, [0xbe]), 1),
                            (true, frame(0x1, endStream | endHeaders, 3, c31), 2),
                            (false, frame(0x1, endStream | endHeaders, 1, c51), 3)])
        guard case .hpackError(let streamID, _) = messages.problems.first else {
            Issue.record("no HPACK error")
            return
        }
        #expect(streamID == 1)
        #expect(messages.problems.count == 1)
        #expect(messages.blocks.map(\.streamID) == [1])  // the server's C.5.1 only
        #expect(messages.records.count == 3)
        // Stream 1 still ends: END_STREAM does not need the headers decoded.
        #expect(messages.ended.map(\.streamID) == [1])
    }

    /// 0x3fe11f is a dynamic table size update (001 + 5-bit prefix) to 31 + 0x61 + 31 * 128 = 4096.
    /// After the client's SETTINGS_HEADER_TABLE_SIZE 256, the server may not go above 256.
    @Test func tableSizeFollowsThePeersSettings() {
        let block = bytes("3fe11f 88")  // size update to 4096, then :status 200 (static index 8)
        let allowed = run([(true, preface, 1), (false, frame(0x1, endHeaders, 1, block), 2)])
        #expect(allowed.blocks.first?.pseudoHeaders == fields([(":status", "200")]))
        let refused = run([(true, preface + settings256, 1), (false, frame(0x1, endHeaders, 1, block), 2)])
        #expect(refused.blocks.isEmpty)
        guard case .hpackError = refused.problems.first else {
            Issue.record("size update over the limit accepted")
            return
        }
    }

    @Test func frameOverTheBufferLimit() {
        // DATA on stream 1, END_STREAM, length 300000 (0x0493e0) > 256 KiB, fed in 1000-byte pieces.
        var connection = HTTP2Connection()
        var messages = run([(true, preface + frame(0x1, endStream | endHeaders, 1, c31), 1)], connection: &connection)
        let length = 300_000
        let data = bytes("0493e0 00 01 00000001") + Array(repeating: 0x7a, count: length)
        var frameNumber = 2
        for start in stride(from: 0, to: data.count, by: 1000) {
            messages += run([(false, Array(data[start..<min(start + 1000, data.count)]), frameNumber)],
                            connection: &connection)
            #expect(connection.framers[1].buffer.count <= 1000)
            frameNumber += 1
        }
        #expect(messages.problems == [
            .frameTooLarge(type: .data, streamID: 1, length: length, maxFrameSize: 16384),
            .frameNotBuffered(type: .data, streamID: 1, length: length, limit: HTTP2Connection.frameBufferLimit),
        ])
        // Both problems at the header's packet; the frame at its last byte's.
        #expect(messages.filter { $0.problem != nil }.map(\.frame) == [2, 2])
        let record = messages.last { $0.record != nil }
        #expect(record?.frame == frameNumber - 1)
        #expect(record?.record == HTTP2FrameRecord(
            info: HTTP2FrameInfo(length: length, type: .data, flags: [.endStream], streamID: 1), payload: .notBuffered))
        #expect(messages.ended.first?.responseDataBytes == length)
        // A frame after it is read normally.
        let after = run([(false, frame(0x6, 0, 0, bytes("0000000000000001")), 999)], connection: &connection)
        #expect(after.records.map(\.info.type) == [.ping])
    }

    @Test func headerBlockOverTheBufferLimitStopsDecoding() {
        var connection = HTTP2Connection()
        let length = HTTP2Connection.frameBufferLimit + 1
        var messages = run([(true, preface + bytes("040001 01 05 00000001") + Array(repeating: 0x82, count: length), 1)],
                           connection: &connection)
        messages += run([(true, frame(0x1, endStream | endHeaders, 3, c31), 2)], connection: &connection)
        #expect(messages.problems.count == 3)
        #expect(messages.problems.last == .headerBlockLost(streamID: 1, reason: "frame not buffered"))
        #expect(messages.blocks.isEmpty)
    }

    @Test func maxFrameSizeFollowsSettings() {
        let big = frame(0x0, 0, 1, Array(repeating: 0, count: 20000))
        let defaults = run([(true, preface + frame(0x1, endHeaders, 1, c31), 1), (false, big, 2)])
        #expect(defaults.problems == [.frameTooLarge(type: .data, streamID: 1, length: 20000, maxFrameSize: 16384)])
        #expect(defaults.records.last?.payload == .decoded(.data(dataLength: 20000, padLength: nil)))
        // The client says it accepts frames of up to 32768 bytes (MAX_FRAME_SIZE, 0x5).
        let raised = run([(true, preface + frame(0x4, 0, 0, bytes("0005 00008000")) + frame(0x1, endHeaders, 1, c31), 1),
                          (false, big, 2)])
        #expect(raised.problems.isEmpty)
        // Out of range values are reported and not applied.
        let invalid = run([(true, preface + frame(0x4, 0, 0, bytes("0005 00000064")), 1)])
        #expect(invalid.problems == [.invalidSetting(HTTP2Setting(id: .maxFrameSize, value: 100))])
    }

    @Test func rstStreamEndsTheStream() {
        let messages = run([(true, preface + frame(0x1, endStream | endHeaders, 3, c31), 1),
                            (false, frame(0x3, 0, 3, bytes("00000007")), 2)])
        let rst = messages.first { $0.record?.info.type == .rstStream }
        #expect(rst?.summaryLine == "HTTP/2 RST_STREAM[3] REFUSED_STREAM")
        let ended = messages.ended
        #expect(ended.count == 1)
        #expect(ended.first?.reset == HTTP2Stream.Reset(errorCode: .refusedStream, byClient: false, frame: 2))
        #expect(ended.first?.summaryLine == "HTTP/2 stream 3 GET / reset by server REFUSED_STREAM")
    }

    @Test func goAwayLeavesHigherStreamsUnprocessed() {
        var connection = HTTP2Connection()
        let requests = preface + frame(0x1, endStream | endHeaders, 1, c31) + frame(0x1, endStream | endHeaders, 3, c32)
            + frame(0x1, endStream | endHeaders, 5, c33) + frame(0x1, endStream | endHeaders, 7, [0x82, 0x86, 0x84, 0xbe])
        // GOAWAY: Last-Stream-ID 5, ENHANCE_YOUR_CALM (0xb), no debug data
        let messages = run([(true, requests, 1), (false, frame(0x7, 0, 0, bytes("00000005 0000000b")), 2)],
                           connection: &connection)
        #expect(messages.last { $0.record != nil }?.summaryLine == "HTTP/2 GOAWAY last=5 ENHANCE_YOUR_CALM")
        #expect(messages.ended.map(\.streamID) == [7])
        #expect(messages.ended.first?.goAwayErrorCode == .enhanceYourCalm)
        #expect(messages.ended.first?.ending == .goAway)
        #expect(connection.openStreams.map(\.streamID) == [1, 3, 5])
    }

    @Test func pushPromise() {
        // The server promises stream 2 (request C.3.1) on stream 1, then answers it (C.5.1) and ends it.
        let messages = run([
            (true, preface + frame(0x1, endStream | endHeaders, 1, c31), 1),
            (false, frame(0x5, endHeaders, 1, bytes("00000002") + c31) + frame(0x1, endHeaders, 2, c51)
                + frame(0x0, endStream, 2, Array("pushed".utf8)), 2),
        ])
        #expect(messages.blocks.first { $0.promisedStreamID == 2 }?.pseudoHeaders == request1)
        let pushed = messages.ended.first
        #expect(pushed?.streamID == 2 && pushed?.origin == .push && pushed?.method == "GET" && pushed?.status == 302)
        #expect(pushed?.ending == .complete && pushed?.responseDataBytes == 6)
        #expect(messages.records.first?.info.type == .headers)
    }

    /// RFC 7540 §3.2's example: an HTTP/1.1 request with Upgrade: h2c and HTTP2-Settings, a 101
    /// answer, then HTTP/2 in both directions; the request is stream 1.
    @Test func h2cUpgrade() {
        let request = Array(("GET / HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").utf8)
        let answer = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + frame(0x4, 0, 0) + frame(0x1, endStream | endHeaders, 1, c51)
        let messages = run([(true, request, 1), (false, answer, 2), (true, preface + frame(0x4, 0, 0), 3)])
        #expect(messages.map(\.summaryLine) == [
            "HTTP/1.1 GET / Upgrade: h2c",
            "HTTP/1.1 101 Switching Protocols to h2c",
            "HTTP/2 SETTINGS[0]",
            "HTTP/2 HEADERS[1] 302",
            "HTTP/2 stream 1 GET / -> 302 complete",
            "HTTP/2 connection preface",
            "HTTP/2 SETTINGS[0]",
        ])
        guard case .upgradeRequest(let upgrade) = messages[0].event else {
            Issue.record("no upgrade request")
            return
        }
        #expect(upgrade.settings == [HTTP2Setting(id: .maxConcurrentStreams, value: 100),
                                     HTTP2Setting(id: .initialWindowSize, value: 65535)])
        let stream = messages.ended.first
        #expect(stream?.origin == .upgrade && stream?.authority == "server.example.com" && stream?.scheme == "http")
    }

    /// A request with a body (sent before the switch), an interim 100 answer before the 101; every
    /// part cut at every byte.
    @Test func h2cUpgradeSplitAtEveryByte() {
        let request = Array("POST /up HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello".utf8)
        let answer = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n".utf8)
            + frame(0x1, endStream | endHeaders, 1, c51)
        let then = preface + frame(0x4, 0, 0)
        let parts: [(client: Bool, bytes: [UInt8])] = [(true, request), (false, answer), (true, then)]
        let whole = run(parts.map { ($0.client, $0.bytes, 1) })
        #expect(whole.map(\.summaryLine) == ["HTTP/1.1 POST /up Upgrade: h2c", "HTTP/1.1 101 Switching Protocols to h2c",
                                             "HTTP/2 HEADERS[1] 302", "HTTP/2 stream 1 POST /up -> 302 complete",
                                             "HTTP/2 connection preface", "HTTP/2 SETTINGS[0]"])
        for (index, part) in parts.enumerated() {
            for cut in 1..<part.bytes.count {
                var steps = parts.map { ($0.client, $0.bytes, 1) }
                steps[index] = (part.client, Array(part.bytes[..<cut]), 1)
                steps.insert((part.client, Array(part.bytes[cut...]), 1), at: index + 1)
                #expect(run(steps) == whole, "part \(index) cut at \(cut)")
            }
        }
    }

    @Test func declinedUpgradeAndPlainHTTP1() {
        let declined = run([(true, Array("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n".utf8), 1),
                            (false, Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8), 2),
                            (true, Array("GET /next HTTP/1.1\r\nHost: h\r\n\r\n".utf8), 3)])
        #expect(declined.map(\.summaryLine) == ["HTTP/1.1 GET / Upgrade: h2c", "HTTP/1.1 200: h2c upgrade declined"])
        let plain = run([(true, Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8), 1)])
        #expect(plain.problems == [.notHTTP2(reason: "HTTP/1.1 GET without Upgrade: h2c")])
    }

    @Test func missingPreface() {
        // The capture starts mid-connection: the client's first bytes are a PING.
        let messages = run([(true, frame(0x6, 0, 0, bytes("0000000000000000")), 1)])
        #expect(messages.problems == [.missingPreface])
        #expect(messages.records.map(\.info.type) == [.ping])
    }

    @Test func gapStopsThatDirection() {
        var connection = HTTP2Connection()
        var messages = run([(true, preface + frame(0x1, 0, 1, Array(c31.prefix(4))), 1)], connection: &connection)
        connection.gap(fromClient: true, frame: 2, time: 2) { messages.append($0) }
        messages += run([(true, frame(0x6, 0, 0, bytes("0000000000000000")), 2),
                         (false, frame(0x6, 0x1, 0, bytes("0000000000000000")), 3)], connection: &connection)
        #expect(messages.problems == [.gap])
        #expect(messages.first { $0.problem == .gap }?.frame == 2)
        // Said once.
        connection.gap(fromClient: true, frame: 4, time: 4) { messages.append($0) }
        #expect(messages.problems == [.gap])
        #expect(messages.records.map(\.summaryLine) == ["HTTP/2 HEADERS[1] header block fragment 4 bytes",
                                                         "HTTP/2 PING[0] ACK"])
    }

    @Test func malformedFrameIsReported() {
        // RST_STREAM with a 3-byte payload (it must be 4).
        let messages = run([(true, preface + frame(0x3, 0, 1, bytes("000001")) + frame(0x6, 0, 0, bytes("0000000000000000")), 1)])
        #expect(messages.records.first?.payload == .malformed(.wrongPayloadLength(type: .rstStream, expected: 4, length: 3)))
        #expect(messages.records.first?.summaryLine == "HTTP/2 RST_STREAM[1] malformed: RST_STREAM payload of 3 bytes, must be 4")
        #expect(messages.records.count == 2)
    }

    @Test func detection() {
        func detect(_ data: [UInt8]) -> Bool { data.withUnsafeBytes { HTTP2Connection.detect(firstBytes: $0.bytes) } }
        #expect(detect(preface))
        #expect(detect(Array(preface.prefix(4))))
        #expect(!detect(Array(preface.prefix(3))))
        #expect(detect(Array("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n".utf8)))
        #expect(!detect(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)))
        #expect(!detect(bytes("16030100")))
        // A server's SETTINGS first: length 6 (one parameter), type 4, flags 0, stream 0.
        #expect(detect(bytes("000006 04 00 00000000  0003 00000064")))
        #expect(detect(bytes("000000 04 00 00000000")))
        #expect(!detect(bytes("000000 04 01 00000000")))  // an ACK is not a first frame
        #expect(!detect(bytes("000005 04 00 00000000  0003000000")))  // not a multiple of 6
        #expect(!detect(bytes("000006 04 00 00000001  0003 00000064")))  // not stream 0
        #expect(!detect(bytes("000006 04 00 80000000  0003 00000064")))  // reserved bit set
        #expect(!detect(bytes("004002 04 00 00000000")))  // 16386 > 16384
    }
}

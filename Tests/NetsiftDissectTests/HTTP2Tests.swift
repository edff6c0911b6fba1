import Testing
import NetsiftCapture
@testable import NetsiftDissect

// Every frame below is written by hand from RFC 9113 §4.1 (header: Length 24 bits, Type, Flags,
// R + Stream Identifier 31 bits) and §6 (each type's payload).

/// Decodes a frame given as hex, or the error it throws.
private func frame(_ text: String) -> Result<(HTTP2FrameInfo, HTTP2Payload), HTTP2FrameError> {
    let bytes = hex(text)
    return bytes.withUnsafeBytes { raw -> Result<(HTTP2FrameInfo, HTTP2Payload), HTTP2FrameError> in
        do throws(HTTP2FrameError) {
            let frame = try HTTP2Frame(raw.bytes)
            return .success((frame.info, frame.decoded))
        } catch {
            return .failure(error)
        }
    }
}

private func decoded(_ text: String) -> HTTP2Payload? {
    guard case .success(let result) = frame(text) else { return nil }
    return result.1
}

private func error(_ text: String) -> HTTP2FrameError? {
    guard case .failure(let error) = frame(text) else { return nil }
    return error
}

/// The content (data, field block fragment, debug data) of a valid frame.
private func content(_ text: String) -> [UInt8] {
    hex(text).withUnsafeBytes { raw in
        do {
            let span = try HTTP2Frame(raw.bytes).content
            return (0..<span.byteCount).map { span.u8($0) }
        } catch {
            return []
        }
    }
}

/// One valid frame of each type, with what it must decode to.
let validFrames: [(name: String, hex: String, info: HTTP2FrameInfo, payload: HTTP2Payload)] = [
    ("DATA padded",
     // length 10, type 0 DATA, flags 0x09 END_STREAM|PADDED, stream 1;
     // Pad Length 4, "hello", 4 bytes of padding
     "00000a 00 09 00000001  04 68656c6c6f 00000000",
     HTTP2FrameInfo(length: 10, type: .data, flags: [.endStream, .padded], streamID: 1),
     .data(dataLength: 5, padLength: 4)),
    ("DATA",
     // length 3, DATA, no flags, stream 1: "abc"
     "000003 00 00 00000001  616263",
     HTTP2FrameInfo(length: 3, type: .data, flags: [], streamID: 1),
     .data(dataLength: 3, padLength: nil)),
    ("HEADERS padded with priority",
     // length 9, type 1 HEADERS, flags 0x2c PRIORITY|PADDED|END_HEADERS, stream 3;
     // Pad Length 2, E=1 + Stream Dependency 1, Weight 0x0f (16), fragment 0x82, 2 bytes padding
     "000009 01 2c 00000003  02 80000001 0f 82 0000",
     HTTP2FrameInfo(length: 9, type: .headers, flags: [.priority, .padded, .endHeaders], streamID: 3),
     .headers(fragmentLength: 1, padLength: 2,
              priority: HTTP2Priority(exclusive: true, streamDependency: 1, weight: 16))),
    ("HEADERS",
     // length 1, HEADERS, flags 0x05 END_STREAM|END_HEADERS, stream 1: fragment 0x82
     "000001 01 05 00000001  82",
     HTTP2FrameInfo(length: 1, type: .headers, flags: [.endStream, .endHeaders], streamID: 1),
     .headers(fragmentLength: 1, padLength: nil, priority: nil)),
    ("PRIORITY",
     // length 5, type 2, stream 5: E=0, dependency 3, weight 0xff (256)
     "000005 02 00 00000005  00000003 ff",
     HTTP2FrameInfo(length: 5, type: .priority, flags: [], streamID: 5),
     .priority(HTTP2Priority(exclusive: false, streamDependency: 3, weight: 256))),
    ("RST_STREAM",
     // length 4, type 3, stream 3: error code 7 REFUSED_STREAM
     "000004 03 00 00000003  00000007",
     HTTP2FrameInfo(length: 4, type: .rstStream, flags: [], streamID: 3),
     .rstStream(errorCode: .refusedStream)),
    ("SETTINGS",
     // length 12, type 4, stream 0: HEADER_TABLE_SIZE (1) = 4096, MAX_FRAME_SIZE (5) = 16384
     "00000c 04 00 00000000  0001 00001000  0005 00004000",
     HTTP2FrameInfo(length: 12, type: .settings, flags: [], streamID: 0),
     .settings([HTTP2Setting(id: .headerTableSize, value: 4096), HTTP2Setting(id: .maxFrameSize, value: 16384)])),
    ("SETTINGS ACK",
     // length 0, type 4, flags 0x01 ACK, stream 0
     "000000 04 01 00000000",
     HTTP2FrameInfo(length: 0, type: .settings, flags: [.ack], streamID: 0),
     .settings([])),
    ("PUSH_PROMISE padded",
     // length 9, type 5, flags 0x0c END_HEADERS|PADDED, stream 1;
     // Pad Length 3, R=0 + Promised Stream ID 2, fragment 0x82, 3 bytes padding
     "000009 05 0c 00000001  03 00000002 82 000000",
     HTTP2FrameInfo(length: 9, type: .pushPromise, flags: [.endHeaders, .padded], streamID: 1),
     .pushPromise(promisedStreamID: 2, fragmentLength: 1, padLength: 3)),
    ("PING ACK",
     // length 8, type 6, flags 0x01 ACK, stream 0: opaque data 01..08
     "000008 06 01 00000000  0102030405060708",
     HTTP2FrameInfo(length: 8, type: .ping, flags: [.ack], streamID: 0),
     .ping(opaqueData: 0x0102_0304_0506_0708)),
    ("GOAWAY",
     // length 12, type 7, stream 0: R=1 (ignored) + Last-Stream-ID 5, error 0x0b ENHANCE_YOUR_CALM,
     // debug data "slow"
     "00000c 07 00 00000000  80000005 0000000b 736c6f77",
     HTTP2FrameInfo(length: 12, type: .goAway, flags: [], streamID: 0),
     .goAway(lastStreamID: 5, errorCode: .enhanceYourCalm, debugDataLength: 4, debugText: "slow")),
    ("WINDOW_UPDATE",
     // length 4, type 8, stream 0: R=1 (ignored) + increment 65535
     "000004 08 00 00000000  8000ffff",
     HTTP2FrameInfo(length: 4, type: .windowUpdate, flags: [], streamID: 0),
     .windowUpdate(increment: 65535)),
    ("CONTINUATION",
     // length 2, type 9, flags 0x04 END_HEADERS, stream 1: fragment 84 86
     "000002 09 04 00000001  8486",
     HTTP2FrameInfo(length: 2, type: .continuation, flags: [.endHeaders], streamID: 1),
     .continuation(fragmentLength: 2)),
    ("unknown type",
     // length 3, type 0xfa (unassigned), flags 0xff, stream 7: kept, ignored
     "000003 fa ff 00000007  aabbcc",
     HTTP2FrameInfo(length: 3, type: HTTP2FrameType(rawValue: 0xfa), flags: HTTP2Flags(rawValue: 0xff), streamID: 7),
     .unknown(length: 3)),
]

@Suite struct HTTP2FrameTests {
    @Test func frameHeaderFields() throws {
        // length 0x000105 = 261, type 1, flags 0x25, R=1 and stream 3 (0x80000003)
        let bytes = hex("000105 01 25 80000003")
        let (info, reservedBit) = try bytes.withUnsafeBytes { raw in
            let header = try HTTP2FrameHeader(raw.bytes)
            return (header.info, header.reservedBit)
        }
        #expect(info == HTTP2FrameInfo(length: 261, type: .headers, flags: [.endStream, .endHeaders, .priority], streamID: 3))
        #expect(reservedBit)
    }

    @Test func largestDeclaredLength() throws {
        // length 0xffffff, the 24-bit maximum (2^24-1)
        let bytes = hex("ffffff 00 00 00000001")
        let length = try bytes.withUnsafeBytes { raw in try HTTP2FrameHeader(raw.bytes).length }
        #expect(length == 16_777_215)
    }

    @Test(arguments: 0..<9) func truncatedHeader(_ count: Int) {
        let bytes = Array(hex("000000 04 00 00000000").prefix(count))
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: HTTP2FrameError.truncated(needed: 9, available: count)) { _ = try HTTP2FrameHeader(raw.bytes).length }
        }
    }

    @Test(arguments: validFrames.indices) func validFrame(_ index: Int) {
        let expected = validFrames[index]
        guard case .success(let (info, payload)) = frame(expected.hex) else {
            Issue.record("\(expected.name) did not decode")
            return
        }
        #expect(info == expected.info, "\(expected.name)")
        #expect(payload == expected.payload, "\(expected.name)")
    }

    /// Every prefix of every valid frame is short of its declared length.
    @Test(arguments: validFrames.indices) func truncatedFrame(_ index: Int) {
        let bytes = hex(validFrames[index].hex)
        for count in 0..<bytes.count {
            let needed = count < 9 ? 9 : bytes.count
            _ = Array(bytes.prefix(count)).withUnsafeBytes { raw in
                #expect(throws: HTTP2FrameError.truncated(needed: needed, available: count)) { _ = try HTTP2Frame(raw.bytes).info }
            }
        }
    }

    @Test func bytesPastTheFrameAreNotPartOfIt() {
        // RST_STREAM (length 4) followed by two bytes of the next frame
        #expect(decoded("000004 03 00 00000001  00000008 0000") == .rstStream(errorCode: .cancel))
    }

    @Test func contentExcludesPaddingAndFixedFields() {
        #expect(content(validFrames[0].hex) == Array("hello".utf8))
        #expect(content(validFrames[2].hex) == [0x82])
        #expect(content(validFrames[8].hex) == [0x82])
        #expect(content(validFrames[10].hex) == Array("slow".utf8))
        #expect(content(validFrames[12].hex) == [0x84, 0x86])
    }

    @Test func payloadsShorterThanTheirTypeNeeds() {
        // DATA, PADDED, length 0: no room for the Pad Length
        #expect(error("000000 00 08 00000001") == .payloadTooShort(type: .data, needed: 1, length: 0))
        // DATA, PADDED, length 3, Pad Length 3: only 2 bytes left after the Pad Length
        #expect(error("000003 00 08 00000001  03 0000") == .paddingTooLong(type: .data, padLength: 3, available: 2))
        // DATA, PADDED, length 3, Pad Length 2: no data, all padding (allowed)
        #expect(decoded("000003 00 08 00000001  02 0000") == .data(dataLength: 0, padLength: 2))
        // HEADERS, PRIORITY, length 4: the priority fields need 5
        #expect(error("000004 01 24 00000001  00000000") == .payloadTooShort(type: .headers, needed: 5, length: 4))
        // HEADERS, PADDED|PRIORITY, length 5: Pad Length + priority need 6
        #expect(error("000005 01 2c 00000001  00 00000000") == .payloadTooShort(type: .headers, needed: 6, length: 5))
        // HEADERS, PADDED, length 2, Pad Length 2: one byte left, not two
        #expect(error("000002 01 0c 00000001  02 00") == .paddingTooLong(type: .headers, padLength: 2, available: 1))
        // PRIORITY of 4 bytes
        #expect(error("000004 02 00 00000001  00000000") == .wrongPayloadLength(type: .priority, expected: 5, length: 4))
        // RST_STREAM of 3 and 5 bytes
        #expect(error("000003 03 00 00000001  000000") == .wrongPayloadLength(type: .rstStream, expected: 4, length: 3))
        #expect(error("000005 03 00 00000001  0000000000") == .wrongPayloadLength(type: .rstStream, expected: 4, length: 5))
        // SETTINGS of 5 bytes; SETTINGS ACK with 6
        #expect(error("000005 04 00 00000000  0001000010") == .settingsLengthNotMultipleOf6(length: 5))
        #expect(error("000006 04 01 00000000  000100001000") == .settingsAckWithPayload(length: 6))
        // PUSH_PROMISE of 3 bytes: the Promised Stream ID needs 4; PADDED needs 5
        #expect(error("000003 05 04 00000001  000000") == .payloadTooShort(type: .pushPromise, needed: 4, length: 3))
        #expect(error("000004 05 0c 00000001  00000000") == .payloadTooShort(type: .pushPromise, needed: 5, length: 4))
        // PING of 7 bytes
        #expect(error("000007 06 00 00000000  01020304050607") == .wrongPayloadLength(type: .ping, expected: 8, length: 7))
        // GOAWAY of 7 bytes: Last-Stream-ID and Error Code need 8
        #expect(error("000007 07 00 00000000  00000000 000000") == .payloadTooShort(type: .goAway, needed: 8, length: 7))
        // WINDOW_UPDATE of 3 bytes
        #expect(error("000003 08 00 00000000  000001") == .wrongPayloadLength(type: .windowUpdate, expected: 4, length: 3))
        // CONTINUATION and unknown types have no minimum
        #expect(decoded("000000 09 04 00000001") == .continuation(fragmentLength: 0))
        #expect(decoded("000000 ee 00 00000000") == .unknown(length: 0))
    }

    @Test func paddedFlagOnlyCountsWhereDefined() {
        // SETTINGS with 0x08 set: PADDED is not a SETTINGS flag, so the first byte is not a Pad Length
        #expect(decoded("000006 04 08 00000000  000200000000") == .settings([HTTP2Setting(id: .enablePush, value: 0)]))
    }

    @Test func typeNames() {
        let names = (0...9).map { HTTP2FrameType(rawValue: UInt8($0)).description }
        #expect(names == ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
                          "WINDOW_UPDATE", "CONTINUATION"])
        #expect(HTTP2FrameType(rawValue: 0xfa).description == "UNKNOWN(0xfa)")
    }

    /// RFC 9113 §7.
    @Test func errorCodeNames() {
        let names = (0...13).map { HTTP2ErrorCode(rawValue: UInt32($0)).description }
        #expect(names == ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
                          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
                          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"])
        #expect(HTTP2ErrorCode(rawValue: 0x1f).description == "0x1f")
    }

    /// RFC 9113 §6.5.2.
    @Test func settingNamesAndRanges() {
        let names = (1...6).map { HTTP2SettingID(rawValue: UInt16($0)).description }
        #expect(names == ["HEADER_TABLE_SIZE", "ENABLE_PUSH", "MAX_CONCURRENT_STREAMS", "INITIAL_WINDOW_SIZE",
                          "MAX_FRAME_SIZE", "MAX_HEADER_LIST_SIZE"])
        #expect(HTTP2SettingID(rawValue: 0x1234).description == "0x1234")
        #expect(HTTP2Setting(id: .enablePush, value: 1).isValid)
        #expect(!HTTP2Setting(id: .enablePush, value: 2).isValid)
        #expect(HTTP2Setting(id: .initialWindowSize, value: 0x7fff_ffff).isValid)
        #expect(!HTTP2Setting(id: .initialWindowSize, value: 0x8000_0000).isValid)
        #expect(!HTTP2Setting(id: .maxFrameSize, value: 16383).isValid)
        #expect(HTTP2Setting(id: .maxFrameSize, value: 16384).isValid)
        #expect(HTTP2Setting(id: .maxFrameSize, value: 16_777_215).isValid)
        #expect(!HTTP2Setting(id: .maxFrameSize, value: 16_777_216).isValid)
        #expect(HTTP2Setting(id: .headerTableSize, value: 0xffff_ffff).isValid)
    }

    @Test func flagNamesDependOnType() {
        let flags = HTTP2Flags(rawValue: 0x2d)  // 0x01 | 0x04 | 0x08 | 0x20
        #expect(flags.names(for: .headers) == ["END_STREAM", "END_HEADERS", "PADDED", "PRIORITY"])
        #expect(flags.names(for: .data) == ["END_STREAM", "PADDED"])
        #expect(flags.names(for: .settings) == ["ACK"])
        #expect(flags.names(for: .ping) == ["ACK"])
        #expect(flags.names(for: .pushPromise) == ["END_HEADERS", "PADDED"])
        #expect(flags.names(for: .continuation) == ["END_HEADERS"])
        #expect(flags.names(for: .goAway) == [])
    }

    @Test func preface() {
        // RFC 9113 §3.4: 0x505249202a20485454502f322e300d0a0d0a534d0d0a0d0a
        #expect(HTTP2Preface.bytes == hex("505249202a20485454502f322e300d0a0d0a534d0d0a0d0a"))
    }

    /// RFC 7540 §3.2's example request. The HTTP2-Settings value decodes by hand (base64url, 6 bits
    /// a character) to 00 03 00000064 00 04 0000ffff: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65535.
    @Test func h2cUpgradeRequest() {
        let head = Array(("GET /a?b=c HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").utf8)
        let request = head.withUnsafeBytes { HTTP2UpgradeRequest.parse(head: $0.bytes) }
        #expect(request == HTTP2UpgradeRequest(
            method: "GET", target: "/a?b=c", host: "server.example.com", upgradeToH2C: true,
            settings: [HTTP2Setting(id: .maxConcurrentStreams, value: 100), HTTP2Setting(id: .initialWindowSize, value: 65535)],
            contentLength: 0))
    }

    @Test func upgradeListsAndNonRequests() {
        func parse(_ text: String) -> HTTP2UpgradeRequest? {
            Array(text.utf8).withUnsafeBytes { HTTP2UpgradeRequest.parse(head: $0.bytes) }
        }
        #expect(parse("POST /x HTTP/1.1\r\nUPGRADE: websocket, H2C\r\nContent-Length: 12\r\n\r\n")?.upgradeToH2C == true)
        #expect(parse("POST /x HTTP/1.1\r\nContent-Length: 12\r\n\r\n")?.contentLength == 12)
        #expect(parse("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")?.upgradeToH2C == false)
        #expect(parse("GET / HTTP/2.0\r\n\r\n") == nil)
        #expect(parse("get / HTTP/1.1\r\n\r\n") == nil)
        #expect(parse("") == nil)
    }

    @Test func responseStatus() {
        func status(_ text: String) -> Int? {
            Array(text.utf8).withUnsafeBytes { HTTP2UpgradeRequest.responseStatus(head: $0.bytes) }
        }
        #expect(status("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n") == 101)
        #expect(status("HTTP/1.1 200 OK\r\n\r\n") == 200)
        #expect(status("HTTP/1.0 404\r\n\r\n") == 404)
        #expect(status("SSH-2.0-OpenSSH\r\n\r\n") == nil)
        #expect(status("HTTP/1.1 20 OK\r\n\r\n") == nil)
    }
}

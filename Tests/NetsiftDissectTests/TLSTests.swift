import Testing
import NetsiftCapture
@testable import NetsiftDissect

/// Feeds `bytes` to a parser in chunks of `chunk` bytes (all at once when nil) and collects what
/// it emits.
func tlsMessages(_ bytes: [UInt8], chunk: Int? = nil, parser: inout TLSStreamParser) -> [TLSMessage] {
    var messages: [TLSMessage] = []
    let size = chunk ?? max(bytes.count, 1)
    var start = 0
    while start < bytes.count {
        let piece = Array(bytes[start..<min(start + size, bytes.count)])
        piece.withUnsafeBytes { raw in
            parser.consume(raw.bytes, frame: 1, time: 0) { messages.append($0) }
        }
        start += size
    }
    return messages
}

func tlsMessages(_ hexText: String, chunk: Int? = nil) -> [TLSMessage] {
    var parser = TLSStreamParser()
    return tlsMessages(hex(hexText), chunk: chunk, parser: &parser)
}

func clientHellos(_ messages: [TLSMessage]) -> [TLSClientHello] {
    messages.compactMap { if case .clientHello(let hello) = $0 { hello } else { nil } }
}

func serverHellos(_ messages: [TLSMessage]) -> [TLSServerHello] {
    messages.compactMap { if case .serverHello(let hello) = $0 { hello } else { nil } }
}

func problems(_ messages: [TLSMessage]) -> [TLSProblem] {
    messages.compactMap { if case .problem(let problem) = $0 { problem } else { nil } }
}

// A Chrome-like ClientHello (RFC 8446 §4.1.2) built on the worked example of FoxIO's JA4
// specification (technical_details/JA4.md): its 15 cipher suites, its 16 extensions in its order,
// its 8 signature algorithms, plus GREASE (RFC 8701) in the ciphers, extensions, key shares,
// versions and groups. tshark 4.0 reads these bytes without a complaint and gives the JA3 below.
let chromeLikeHandshake =
    "01 000116"                       // handshake: ClientHello, length 278
    + "0303"                          // legacy_version TLS 1.2
    + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"   // random
    + "04 deadbeef"                   // legacy_session_id, 4 bytes
    + "0020 5a5a 1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014 009c 009d 002f 0035" // 16 suites, GREASE first
    + "01 00"                         // compression methods: null
    + "00c9"                          // extensions, 201 bytes:
    + "0a0a 0000"                     //   GREASE, empty
    + "001b 0003 02 0002"             //   compress_certificate: brotli
    + "0000 0010 000e 00 000b 6578616d706c652e636f6d"   // server_name: host_name "example.com"
    + "0033 002b 0029 1a1a 0001 00 001d 0020 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                      //   key_share: GREASE (1 byte), x25519 (32 bytes)
    + "0010 000e 000c 02 6832 08 687474702f312e31"       // ALPN: "h2", "http/1.1"
    + "4469 0005 0003 02 6832"        //   application_settings: "h2"
    + "0017 0000"                     //   extended_master_secret
    + "002d 0002 01 01"               //   psk_key_exchange_modes: psk_dhe_ke
    + "000d 0012 0010 0403 0804 0401 0503 0805 0501 0806 0601"   // signature_algorithms
    + "0005 0005 01 0000 0000"        //   status_request: OCSP
    + "0023 0000"                     //   session_ticket
    + "0012 0000"                     //   signed_certificate_timestamp
    + "002b 0007 06 2a2a 0304 0303"   //   supported_versions: GREASE, TLS 1.3, TLS 1.2
    + "ff01 0001 00"                  //   renegotiation_info
    + "000b 0002 01 00"               //   ec_point_formats: uncompressed
    + "000a 0008 0006 3a3a 001d 0017" //   supported_groups: GREASE, x25519, secp256r1
    + "fafa 0001 00"                  //   GREASE, 1 byte
    + "0015 0004 00000000"            //   padding

@Suite struct TLSClientHelloTests {
    // Record: handshake (22), version TLS 1.0, length 282 = the message above.
    let record = "16 0301 011a" + chromeLikeHandshake

    @Test func decodesEveryField() throws {
        let messages = tlsMessages(record)
        #expect(messages.count == 1)
        let hello = try #require(clientHellos(messages).first)
        #expect(hello.recordVersion == 0x0301)
        #expect(hello.legacyVersion == 0x0303)
        #expect(!hello.isSSLv2)
        #expect(hello.random == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        #expect(hello.sessionID == "deadbeef")
        #expect(hello.cipherSuites == [0x5A5A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9,
                                       0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035])
        #expect(hello.compressionMethods == [0])
        #expect(hello.extensions.map(\.type) == [0x0A0A, 0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D,
                                                 0x000D, 0x0005, 0x0023, 0x0012, 0x002B, 0xFF01, 0x000B, 0x000A,
                                                 0xFAFA, 0x0015])
        #expect(hello.extensions[3] == TLSExtension(type: 0x0033, length: 43))
        #expect(hello.serverName == "example.com")
        #expect(hello.alpn == ["h2", "http/1.1"])
        #expect(hello.supportedVersions == [0x2A2A, 0x0304, 0x0303])
        #expect(hello.highestVersion == 0x0304)
        #expect(hello.supportedGroups == [0x3A3A, 0x001D, 0x0017])
        #expect(hello.ecPointFormats == [0])
        #expect(hello.signatureAlgorithms == [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])
        #expect(hello.keyShareGroups == [0x1A1A, 0x001D])
        #expect(hello.pskKeyExchangeModes == [1])
        #expect(!hello.hasEncryptedClientHello)
        #expect(hello.hasGREASE)
    }

    @Test func ja3MatchesTshark() throws {
        let hello = try #require(clientHellos(tlsMessages(record)).first)
        // tshark 4.0 tls.handshake.ja3_full / ja3 for these bytes (GREASE left out).
        #expect(hello.ja3 == "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
            + "27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23,0")
        #expect(hello.ja3Hash == "c7240d90981bb4a546a859dd3bd5457c")
    }

    @Test func ja4MatchesTheSpecificationsExample() throws {
        let hello = try #require(clientHellos(tlsMessages(record)).first)
        // JA4.md "Example": GREASE ignored, so 15 ciphers and 16 extensions as in the specification.
        #expect(hello.ja4 == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        #expect(hello.ja4Raw == "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
            + "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
            + "0403,0804,0401,0503,0805,0501,0806,0601")
        #expect(hello.summaryLine == "TLS ClientHello SNI example.com ALPN h2,http/1.1 versions TLS1.3,TLS1.2 "
            + "16 ciphers JA3 c7240d90981bb4a546a859dd3bd5457c JA4 t13d1516h2_8daaf6152771_e5627efa2ab1")
    }

    @Test func ja4Details() {
        // JA4.md "ALPN Extension Value": non-alphanumeric ends use the hex form's first and last digit.
        #expect(JA4.alpnCharacters([0xAB]) == "ab")
        #expect(JA4.alpnCharacters([0xAB, 0xCD]) == "ad")
        #expect(JA4.alpnCharacters([0x30, 0xAB]) == "3b")
        #expect(JA4.alpnCharacters([0x30, 0x31, 0xAB, 0xCD]) == "3d")
        #expect(JA4.alpnCharacters([0x30, 0xAB, 0xCD, 0x31]) == "01")
        #expect(JA4.alpnCharacters(Array("http/1.1".utf8)) == "h1")
        #expect(JA4.alpnCharacters(nil) == "00")
        #expect(JA4.alpnCharacters([]) == "00")
        // JA4.md "Extension hash": without signature algorithms the list is hashed alone.
        #expect(JA4.hash12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01", empty: false)
            == "6d807ffa2a79")
        #expect(JA4.hash12("", empty: true) == "000000000000")
        #expect(JA4.versionCode(0x0300) == "s3")
        #expect(JA4.versionCode(0x7F17) == "00")
    }

    @Test func greaseValuesAreRecognised() {
        // RFC 8701 §2: 0x0A0A, 0x1A1A, … 0xFAFA and nothing else.
        let grease: [UInt16] = [0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A,
                                0x8A8A, 0x9A9A, 0xAAAA, 0xBABA, 0xCACA, 0xDADA, 0xEAEA, 0xFAFA]
        #expect((0...UInt16.max).filter(TLSGREASE.contains) == grease)
    }

    // The same message split across two records (RFC 8446 §5.1: handshake messages may be
    // fragmented): 100 bytes in a TLS 1.0 record, the other 182 in a TLS 1.2 one.
    var splitRecords: [UInt8] {
        let message = hex(chromeLikeHandshake)
        return hex("16 0301 0064") + message[0..<100] + hex("16 0303 00b6") + message[100...]
    }

    @Test func splitAcrossRecordsAndFedByteByByte() throws {
        var parser = TLSStreamParser()
        let whole = tlsMessages(splitRecords, parser: &parser)
        let hello = try #require(clientHellos(whole).first)
        #expect(whole.count == 1)
        #expect(hello.recordVersion == 0x0301)   // the record carrying the message's first byte
        #expect(hello.ja4 == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        for chunk in [1, 2, 3, 5, 7, 99, 101] {
            var bytewise = TLSStreamParser()
            #expect(tlsMessages(splitRecords, chunk: chunk, parser: &bytewise) == whole)
        }
        // Unsplit, fed byte by byte: the same hello, but from a single TLS 1.0 record.
        #expect(tlsMessages(record, chunk: 1) == tlsMessages(record))
    }

    @Test func vectorPastItsExtensionIsMalformedButTheHelloIsKept() throws {
        // As tcp-syn-refused-rst-ack.pcap frame 9: a cookie extension (44) 9 bytes long whose
        // cookie<1..2^16-1> claims 2051 bytes. tshark: "Vector length 2051 is too large,
        // truncating it to 7", Malformed; it goes on with the next extension.
        let messages = tlsMessages(
            "16 0301 004e"                  // handshake record, 78 bytes
            + "01 00004a 0303"              // ClientHello, 74 bytes, TLS 1.2
            + String(repeating: "00", count: 32)   // random
            + "00 0002 1301 01 00"          // no session id, one suite, null compression
            + "001f"                        // extensions, 31 bytes:
            + "002c 0009 0803 00112233445566"   // cookie: length 2051, 7 bytes there
            + "0000 000e 000c 00 0009 6c6f63616c686f7374")   // server_name "localhost"
        let hello = try #require(clientHellos(messages).first)
        #expect(hello.extensions.map(\.type) == [44, 0])
        #expect(hello.serverName == "localhost")
        #expect(hello.ja3 == "771,4865,44-0,,")   // tshark's ja3_full for these bytes
        #expect(problems(messages) == [.vectorPastEnd(message: 1, field: .cookie, length: 2051, available: 7)])
        #expect(problems(messages).first?.isMalformed == true)
        #expect(problems(messages).first?.description
            == "ClientHello: cookie vector length 2051 runs past the 7 bytes left")
    }

    @Test func extensionsBlockPastTheMessage() throws {
        // extensions claims 28 bytes, 18 are there. tshark: "Vector length 28 is too large,
        // truncating it to 18", Malformed, and no extension shown.
        let messages = tlsMessages("16 0301 0041 01 00003d 0303" + String(repeating: "00", count: 32)
            + "00 0002 1301 01 00" + "001c 0000 000e 000c 00 0009 6c6f63616c686f7374")
        let hello = try #require(clientHellos(messages).first)
        #expect(hello.extensions.isEmpty && hello.serverName == nil)
        #expect(problems(messages) == [.vectorPastEnd(message: 1, field: .extensions, length: 28, available: 18)])
    }

    @Test func cipherSuitesPastTheMessageDropTheHello() {
        // cipher_suites claims 0x0100 bytes in a 39-byte message with 2 bytes left for it.
        let messages = tlsMessages("16 0303 002b 01 000027 0303" + String(repeating: "00", count: 32) + "00 0100 1301")
        #expect(clientHellos(messages).isEmpty)
        #expect(problems(messages) == [.vectorPastEnd(message: 1, field: .cipherSuites, length: 256, available: 2)])
    }

    @Test func helloWithoutExtensions() throws {
        // TLS 1.0 hello ending after its compression methods (extensions are optional before 1.3).
        let hello = try #require(clientHellos(tlsMessages(
            "16 0301 002d 01 000029 0301" + String(repeating: "00", count: 32) + "00 0002 0039 01 00")).first)
        #expect(hello.extensions.isEmpty)
        #expect(hello.ja3 == "769,57,,,")
        // No supported_versions: the hello's version; no SNI: "i"; no ALPN: "00"; no extensions.
        #expect(hello.ja4?.hasPrefix("t10i010000_") == true)
        #expect(hello.ja4?.hasSuffix("_000000000000") == true)
    }

    @Test func sslv2CompatibleClientHello() throws {
        // RFC 5246 Appendix E.2 / draft-hickman-netscape-ssl-00: 2-byte header 0x802e (length 46),
        // msg_type 1, version 0x0002, cipher_spec_length 21, session_id_length 0,
        // challenge_length 16, 7 cipher specs, 16-byte challenge. tshark: SSLv2 Client Hello,
        // record version 0x0002, version 0x0002, no ja3.
        let messages = tlsMessages("80 2e 01 0002 0015 0000 0010"
            + "010080 030080 0700c0 060040 020080 040080 000039"
            + "000102030405060708090a0b0c0d0e0f")
        let hello = try #require(clientHellos(messages).first)
        #expect(messages.count == 1)
        #expect(hello.isSSLv2)
        #expect(hello.recordVersion == 0x0002)
        #expect(hello.legacyVersion == 0x0002)
        #expect(hello.sslv2CipherSpecs == [0x010080, 0x030080, 0x0700C0, 0x060040, 0x020080, 0x040080, 0x000039])
        #expect(hello.cipherSuites.isEmpty)
        #expect(hello.random == "000102030405060708090a0b0c0d0e0f")
        #expect(hello.ja3 == nil && hello.ja4 == nil)
    }

    @Test func sslv2HelloThenTLSRecords() {
        // A client opening with an SSLv2-format hello (version TLS 1.0) goes on in TLS records once
        // the server answers in TLS: its ChangeCipherSpec is a TLS record.
        let messages = tlsMessages("80 0f 01 0301 0003 0000 0003 000039 000102"
            + "14 0301 0001 01")
        #expect(clientHellos(messages).first?.legacyVersion == 0x0301)
        #expect(messages.last == .changeCipherSpec)
    }
}

@Suite struct TLSServerHelloTests {
    @Test func tls13ServerHello() throws {
        let messages = tlsMessages(
            "16 0303 005e 02 00005a 0303"   // ServerHello, 90 bytes, legacy_version TLS 1.2
            + "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"   // random
            + "04 deadbeef"                 // legacy_session_id_echo
            + "1301 00"                     // TLS_AES_128_GCM_SHA256, null compression
            + "002e"                        // extensions, 46 bytes:
            + "002b 0002 0304"              //   supported_versions: TLS 1.3
            + "0033 0024 001d 0020 606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f") // key_share x25519
        let hello = try #require(serverHellos(messages).first)
        #expect(hello.legacyVersion == 0x0303)
        #expect(hello.cipherSuite == 0x1301)
        #expect(hello.compressionMethod == 0)
        #expect(hello.sessionID == "deadbeef")
        #expect(hello.extensions == [TLSExtension(type: 43, length: 2), TLSExtension(type: 51, length: 36)])
        #expect(hello.selectedVersion == 0x0304)
        #expect(hello.negotiatedVersion == 0x0304)
        #expect(!hello.isHelloRetryRequest)
        #expect(hello.keyShareGroup == 0x001D)
        // tshark 4.0: tls.handshake.ja3s_full / ja3s.
        #expect(hello.ja3s == "771,4865,43-51")
        #expect(hello.ja3sHash == "f4febc55ea12b31ae17cfb7e614afda8")
        #expect(hello.summaryLine == "TLS ServerHello TLS1.3 cipher 0x1301 JA3S f4febc55ea12b31ae17cfb7e614afda8")
    }

    @Test func helloRetryRequest() throws {
        let messages = tlsMessages(
            "16 0303 003c 02 000038 0303"
            // RFC 8446 §4.1.3: SHA-256("HelloRetryRequest") as the random.
            + "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
            + "04 deadbeef 1302 00"
            + "000c 002b 0002 0304"         // supported_versions: TLS 1.3
            + "0033 0002 0017")             // key_share: selected_group secp256r1
        let hello = try #require(serverHellos(messages).first)
        #expect(hello.isHelloRetryRequest)
        #expect(hello.keyShareGroup == 0x0017)
        #expect(hello.selectedVersion == 0x0304)
        #expect(hello.ja3s == "771,4866,43-51")
        #expect(hello.ja3sHash == "15af977ce25de452b96affa2addb1036")
        #expect(hello.summaryLine.hasPrefix("TLS HelloRetryRequest TLS1.3 cipher 0x1302 group 0x0017"))
    }

    @Test func tls13EncryptsEverythingAfterTheServerHello() {
        // ServerHello: no session id, TLS_AES_128_GCM_SHA256, supported_versions TLS 1.3,
        // key_share x25519 with a 2-byte key_exchange.
        let serverHello = "16 0303 003c 02 000038 0303" + String(repeating: "11", count: 32)
            + "00 1301 00 0010 002b 0002 0304 0033 0006 001d 0002 aabb"
        let messages = tlsMessages(serverHello
            + "14 0303 0001 01"             // middlebox-compatibility ChangeCipherSpec
            + "17 0303 0005 0102030405"     // EncryptedExtensions etc. as application_data
            + "15 0303 0002 0102")          // an alert record now: encrypted
        #expect(messages.count == 4)
        #expect(messages[1] == .changeCipherSpec)
        #expect(messages[2] == .record(TLSRecord(contentType: 23, length: 5)))
        #expect(messages[3] == .alert(TLSAlert(level: nil, description: nil, encrypted: true)))
    }
}

@Suite struct TLSRecordLayerTests {
    @Test func cleartextAlert() {
        // Alert record: fatal (2), handshake_failure (40).
        let messages = tlsMessages("15 0303 0002 02 28")
        #expect(messages == [.alert(TLSAlert(level: 2, description: 40, encrypted: false))])
        #expect(messages[0].summaryLine == "TLS alert fatal handshake_failure (40)")
        // Split between segments.
        #expect(tlsMessages("15 0303 0002 02 28", chunk: 1) == messages)
    }

    @Test func alertAfterChangeCipherSpecIsEncrypted() {
        // TLS 1.2: ChangeCipherSpec, then an encrypted Finished (handshake) and a 26-byte alert.
        let messages = tlsMessages("14 0303 0001 01"
            + "16 0303 0010 " + String(repeating: "ab", count: 16)
            + "15 0303 001a " + String(repeating: "cd", count: 26))
        #expect(messages == [.changeCipherSpec, .record(TLSRecord(contentType: 22, length: 16)),
                             .alert(TLSAlert(level: nil, description: nil, encrypted: true))])
        #expect(messages[2].summaryLine == "TLS encrypted alert")
    }

    @Test func peerChoosingTLS13MakesChangeCipherSpecTheDummy() throws {
        // RFC 8446 Appendix D.4: after a HelloRetryRequest the client may send the dummy
        // ChangeCipherSpec and then its second ClientHello, in cleartext.
        let hrr = try #require(serverHellos(tlsMessages("16 0303 003c 02 000038 0303"
            + "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
            + "04 deadbeef 1302 00 000c 002b 0002 0304 0033 0002 0017")).first)
        var client = TLSStreamParser()
        client.peerSent(hrr)
        let messages = tlsMessages(hex("14 0303 0001 01 16 0301 011a" + chromeLikeHandshake), parser: &client)
        #expect(messages.first == .changeCipherSpec)
        #expect(clientHellos(messages).count == 1)
    }

    @Test func otherHandshakeMessagesByTypeAndLength() {
        // Two messages in one record: ServerHelloDone (14, empty) and a 3-byte NewSessionTicket-typed one.
        let messages = tlsMessages("16 0303 000b 0e 000000 04 000003 aabbcc")
        #expect(messages == [.handshake(TLSHandshake(type: 14, length: 0)),
                             .handshake(TLSHandshake(type: 4, length: 3))])
    }

    @Test func certificateWithBrokenDERIsMalformed() {
        // As malformed-pcap-bad-record-len-tls.pcap frame 6: certificate_list of 12 bytes, one
        // 9-byte certificate 30 05 30 84 ff ff ff fa 04: a SEQUENCE of 5 bytes holding a SEQUENCE
        // whose 4-byte length needs 4 bytes and has 3.
        let messages = tlsMessages("16 0303 0013 0b 00000f 00000c 000009 3005 3084ffffff fa04")
        #expect(messages == [.handshake(TLSHandshake(type: 11, length: 15, certificateCount: 1, certificates: [])),
                             .problem(.certificateEncoding(index: 1))])
        // Well-formed DER that is no certificate: SEQUENCE { SEQUENCE { NULL }, INTEGER 5 } is
        // reported as unreadable, which is not malformed TLS.
        let good = tlsMessages("16 0303 0013 0b 00000f 00000c 000009 3007 3002 0500 020105")
        #expect(good.first == .handshake(TLSHandshake(type: 11, length: 15, certificateCount: 1, certificates: [])))
        guard good.count == 2, case .problem(let problem) = good[1], case .certificateUnreadable(index: 1, _) = problem else {
            Issue.record("expected an unreadable certificate: \(good)")
            return
        }
        #expect(!problem.isMalformed)
    }

    @Test func certificateStatusCarriesTheOCSPResponse() {
        // CertificateStatus (22): status_type 1 (ocsp), a 5-byte OCSPResponse: SEQUENCE {
        // ENUMERATED 3 } = responseStatus tryLater with no responseBytes (RFC 6960 §4.2.1).
        let messages = tlsMessages("16 0303 000d 16 000009 01 000005 3003 0a01 03")
        #expect(messages == [.handshake(TLSHandshake(type: 22, length: 9,
                                                     ocspResponse: TLSOCSPResponse(responseStatusCode: 3)))])
        #expect(TLSOCSPResponse(responseStatusCode: 3).responseStatus == "tryLater")
        // An INTEGER where the ENUMERATED belongs: DER, but no OCSP response (not malformed TLS).
        let unreadable = tlsMessages("16 0303 000d 16 000009 01 000005 3003 0201 03")
        #expect(unreadable.first == .handshake(TLSHandshake(type: 22, length: 9)))
        guard unreadable.count == 2, case .problem(let problem) = unreadable[1], case .ocspResponseUnreadable = problem else {
            Issue.record("expected an unreadable OCSP response: \(unreadable)")
            return
        }
        #expect(!problem.isMalformed)
        // A response vector longer than the message: malformed.
        let cut = tlsMessages("16 0303 000d 16 000009 01 000009 3003 0a01 03")
        #expect(cut.count == 2 && problems(cut).first?.isMalformed == true)
    }

    @Test func recordLongerThanTLSAllowsStopsTheDirection() {
        // 0x4801 = 18433 > 2^14 + 2048.
        let messages = tlsMessages("17 0303 4801 00000000" + "15 0303 0002 0228")
        #expect(messages == [.problem(.recordTooLong(length: 18433))])
        #expect(problems(messages).first?.stopsDirection == true)
        #expect(problems(messages).first?.isMalformed == true)
    }

    @Test func unknownContentTypeAndNonTLSStreams() {
        #expect(tlsMessages("16 0303 0004 0e000000" + "63 0303 0000")
            == [.handshake(TLSHandshake(type: 14, length: 0)), .problem(.unknownContentType(0x63))])
        // "GET / HTTP/1.1\r\n": not TLS at all, which is not malformed TLS.
        #expect(tlsMessages("474554202f20485454502f312e310d0a") == [.problem(.notTLS(firstByte: 0x47))])
        #expect(TLSProblem.notTLS(firstByte: 0x47).isMalformed == false)
        #expect(tlsMessages("16 0203 0000") == [.problem(.unknownRecordVersion(0x0203))])
    }

    @Test func oversizedHandshakeMessageIsSkipped() {
        // A Certificate of 65,537 bytes (one over the limit) in 5 records, then ServerHelloDone.
        var stream = hex("16 0303 4000 0b 010001") + [UInt8](repeating: 0, count: 0x4000 - 4)
        var left = 0x10001 - (0x4000 - 4)
        while left > 0 {
            let n = min(left, 0x4000)
            stream += hex("16 0303") + [UInt8(n >> 8), UInt8(n & 0xFF)] + [UInt8](repeating: 0, count: n)
            left -= n
        }
        stream += hex("16 0303 0004 0e 000000")
        var parser = TLSStreamParser()
        let messages = tlsMessages(stream, chunk: 1460, parser: &parser)
        #expect(messages == [.problem(.handshakeTooLong(type: 11, length: 65537)),
                             .handshake(TLSHandshake(type: 14, length: 0))])
        #expect(problems(messages).first?.isMalformed == false)
        #expect(parser.buffer.capacity < 1024)
    }

    @Test func gapDropsThePartialRecordAndResyncsOnARecordHeader() {
        var parser = TLSStreamParser()
        var messages = tlsMessages(hex("16 0303 0040 01 00003c 0303"), parser: &parser)
        parser.gap()
        // A segment starting mid-record is dropped; one starting with a record header resumes.
        messages += tlsMessages(hex("aabbccddeeff"), parser: &parser)
        messages += tlsMessages(hex("15 0303 0002 0100"), parser: &parser)
        #expect(messages == [.alert(TLSAlert(level: 1, description: 0, encrypted: false))])
    }

    @Test func messagesWaitForTheEndOfTheirRecord() {
        // One 11-byte record holding ServerHelloDone and a 3-byte message, in two segments: as
        // Wireshark dissects whole records, both are reported with the record's last byte.
        var parser = TLSStreamParser()
        #expect(tlsMessages(hex("16 0303 000b 0e 000000 04 0000"), parser: &parser).isEmpty)
        #expect(tlsMessages(hex("03 aabbcc"), parser: &parser)
            == [.handshake(TLSHandshake(type: 14, length: 0)), .handshake(TLSHandshake(type: 4, length: 3))])
    }

    @Test func messagesOfARecordCutByAGapComeWithTheNextBytes() {
        var parser = TLSStreamParser()
        #expect(tlsMessages(hex("16 0303 000b 0e 000000 04 0000"), parser: &parser).isEmpty)
        parser.gap()
        #expect(tlsMessages(hex("aabb"), parser: &parser) == [.handshake(TLSHandshake(type: 14, length: 0))])
    }

    @Test func startTLSSkipsThePlainTextBeforeTheFirstRecord() {
        // RFC 2595 §4: "STLS\r\n", then the ClientHello in the next segment.
        var parser = TLSStreamParser()
        parser.awaitSTARTTLS()
        var messages = tlsMessages(hex("53544c530d0a"), parser: &parser)
        messages += tlsMessages(hex("16 0301 011a") + hex(chromeLikeHandshake), parser: &parser)
        #expect(messages.count == 1)
        #expect(clientHellos(messages).first?.serverName == "example.com")
    }

    @Test func looksLikeTLS() {
        func check(_ text: String) -> Bool {
            hex(text).withUnsafeBytes { TLSStreamParser.looksLikeTLS($0.bytes) }
        }
        #expect(check("16 0301 011a 01"))
        #expect(check("17 0303 0020"))
        #expect(check("80 2e 01 0002"  + "00"))   // SSLv2 CLIENT-HELLO, version 2.0
        #expect(check("80 2e 01 0301"))           // SSLv2 format, version TLS 1.0
        #expect(!check("16 0301"))                // too short to tell
        #expect(!check("474554202f"))             // "GET /"
        #expect(!check("18 0303 0010"))           // heartbeat does not open a connection
        #expect(!check("16 0303 4801"))           // longer than any record
        #expect(!check("80 2e 04 0002 00"))       // SSLv2 SERVER-HELLO is not a client's first message
    }
}

@Suite struct TLSRobustnessTests {
    @Test func everyTruncatedClientHelloIsReportedNotTrapped() {
        // The message's body cut at every length, with its handshake and record lengths made to
        // agree: each cut yields a hello (with a problem once inside the extensions) or a problem.
        // Cut at 75 bytes (2 + 32 + 5 + 34 + 2), right after the compression methods, it is a
        // valid hello without extensions.
        let message = hex(chromeLikeHandshake)
        for length in 0..<message.count - 4 where length != 75 {
            let handshake = [1, 0, UInt8(length >> 8), UInt8(length & 0xFF)] + message[4..<4 + length]
            let stream = [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
            var parser = TLSStreamParser()
            let messages = tlsMessages(stream, parser: &parser)
            let found = problems(messages)
            let allMalformed = found.allSatisfy { $0.isMalformed }
            #expect(!found.isEmpty && allMalformed, "body cut at \(length)")
        }
        var parser = TLSStreamParser()
        let valid = hex("16 0301 004f 01 00004b") + message[4..<79]
        #expect(clientHellos(tlsMessages(valid, parser: &parser)).first?.extensions == [])
    }

    @Test func randomBytesAfterAValidHeaderNeverTrap() {
        // xorshift64*, seeded: the same streams every run.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        for _ in 0..<500 {
            let count = Int(next() % 400)
            // Mostly handshake records with random contents, so the message parsers see garbage.
            var stream = hex("16 0303") + [UInt8(count >> 8), UInt8(count & 0xFF), 1]
            stream += (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
            var parser = TLSStreamParser()
            _ = tlsMessages(stream, chunk: Int(next() % 50) + 1, parser: &parser)
        }
    }
}

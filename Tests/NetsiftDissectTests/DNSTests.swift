import Foundation
import Testing
import NetsiftCapture
import NetsiftTestSupport
@testable import NetsiftDissect

/// A response to "example.com <type> IN" holding one answer, owned by example.com, of `type`,
/// class IN, TTL 3600, with RDLENGTH `length` and data `rdata` (all hex).
///   1a2b                    ID
///   8180                    QR=1 opcode 0, RD=1 RA=1, RCODE 0
///   0001 0001 0000 0000     QD 1, AN 1, NS 0, AR 0
///   07 example 03 com 00    the question's name at offset 12 (13 bytes)
///   <type> 0001             QTYPE, QCLASS IN
///   c00c                    the answer's owner: pointer to offset 12
///   <type> 0001 00000e10    TYPE, CLASS IN, TTL 3600
func answer(type: String, length: String, rdata: String) -> DNSMessage {
    dnsMessage("1a2b 8180 0001 0001 0000 0000" + "07 6578616d706c65 03 636f6d 00 \(type) 0001"
               + "c00c \(type) 0001 00000e10 \(length) \(rdata)")
}

@Suite struct DNSHeaderAndNameTests {
    @Test func query() {
        // RFC 1035 §4.1: ID 0x1a2b, flags 0x0100 (RD), one question:
        // 03 www 07 example 03 com 00, QTYPE A (1), QCLASS IN (1).
        let m = dnsMessage("1a2b 0100 0001 0000 0000 0000"
                           + "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001")
        #expect(m.problem == nil)
        #expect(m.header.id == 0x1A2B && !m.header.isResponse && m.header.recursionDesired && m.header.opcode == 0)
        #expect(m.questions == [DNSQuestion(name: DNSName(text: "www.example.com"), type: DNSType.a, qclass: 1)])
        #expect(m.summaryLine == "DNS 0x1a2b+ A? www.example.com")
    }

    @Test func everyFlagBit() {
        // Flags 0x87b5 = 1000 0111 1011 0101: QR, opcode 0, AA, TC, RD, RA, Z=0, AD, CD=1, RCODE 5.
        let m = dnsMessage("0001 87b5 0000 0000 0000 0000")
        let h = m.header
        #expect(h.isResponse && h.authoritative && h.truncated && h.recursionDesired && h.recursionAvailable)
        #expect(!h.z && h.authenticData && h.checkingDisabled && h.rcode == 5 && m.responseCode == 5)
        // Flags 0x2800: opcode 5 (UPDATE, RFC 2136).
        #expect(dnsMessage("0001 2800 0000 0000 0000 0000").header.opcodeName == "Update")
        #expect(m.summaryLine == "DNS 0x0001 Refused 0/0/0 [truncated]")
    }

    @Test func compressionAcrossRecords() {
        // RFC 1035 §4.1.4. Question www.example.com A at offset 12 (17 bytes of name: 12..28,
        // "example" at 16), answers at 33:
        //   c00c 0005 0001 00000e10 0006  CNAME, TTL 3600, RDLENGTH 6 (data at 45)
        //     03 web c010                 web + pointer to "example.com" at 16
        //   c02d 0001 0001 0000012c 0004  owner: pointer to 45 (web -> pointer -> example.com), A, TTL 300
        //     c0000201                    192.0.2.1
        let m = dnsMessage("1a2b 8180 0001 0002 0000 0000"
                           + "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
                           + "c00c 0005 0001 00000e10 0006 03 776562 c010"
                           + "c02d 0001 0001 0000012c 0004 c0000201")
        #expect(m.problem == nil)
        #expect(m.answers.count == 2)
        #expect(m.answers[0].name.text == "www.example.com" && m.answers[0].ttl == 3600)
        #expect(m.answers[0].data == .cname(name: DNSName(text: "web.example.com")))
        #expect(m.answers[1].name.text == "web.example.com" && m.answers[1].ttl == 300)
        #expect(m.answers[1].data == .a(address: IPAddress(ipv4: 0xC000_0201)))
        #expect(m.summaryLine == "DNS 0x1a2b NoError 2/0/0 A? www.example.com: CNAME web.example.com, A 192.0.2.1")
    }

    @Test func encodesAsJSON() throws {
        // The response of `compressionAcrossRecords` with a plain JSONEncoder: record data as one object
        // whose "kind" names the type (the CLI's encoder also writes the keys in snake_case).
        let m = dnsMessage("1a2b 8180 0001 0002 0000 0000" + "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
                           + "c00c 0005 0001 00000e10 0006 03 776562 c010" + "c02d 0001 0001 0000012c 0004 c0000201")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(m), as: UTF8.self)
        #expect(json.contains(#""data":{"kind":"cname","name":"web.example.com"}"#))
        #expect(json.contains(#""data":{"address":"192.0.2.1","kind":"a"}"#))
        #expect(json.contains(#""name":"www.example.com""#) && json.contains(#""isResponse":true"#))
    }

    @Test func rootAndEscapedLabels() {
        // A question for the root (a lone 00), NS; then one for a label holding a dot, a backslash,
        // a space and byte 0x07: 06 'a' '.' '\' ' ' 07 'b' 00 -> a\.\\ \007b.
        let m = dnsMessage("0002 0000 0002 0000 0000 0000" + "00 0002 0001" + "06 612e5c2007 62 00 0001 0001")
        #expect(m.questions[0].name == DNSName.root)
        #expect(m.questions[0].name.description == ".")
        #expect(m.questions[1].name.text == #"a\.\\ \007b"#)
    }

    @Test func utf8LabelsAreKept() {
        // mDNS names are UTF-8 (RFC 6762 §16): 05 'caf' c3 a9 ('é') 05 'local' 00.
        let m = dnsMessage("0000 0000 0001 0000 0000 0000" + "05 636166c3a9 05 6c6f63616c 00 000c 0001", flavor: .mdns)
        #expect(m.questions[0].name.text == "café.local")
    }

    @Test func compressionLoopToItself() {
        // The question's name is a pointer to itself (offset 12): c00c. Its extent is known (it ends
        // after the pointer), so the type and class after it are read and the message goes on.
        let m = dnsMessage("dead 0000 0001 0000 0000 0000" + "c00c 0001 0001")
        #expect(m.problem == nil)
        #expect(m.questions.count == 1)
        #expect(m.questions[0].name.fault == .compressionLoop)
        #expect(m.questions[0].name.description == "<compression loop>")
        #expect(m.questions[0].type == DNSType.a && m.questions[0].qclass == 1)
    }

    @Test func compressionLoopThroughLabels() {
        // 01 'a' c00c: label "a", then a pointer back to the name's start: a.a.a... forever.
        // And two pointers pointing at each other: c012 at 12 -> c00c at 18 -> back to 12.
        let labels = dnsMessage("dead 0000 0001 0000 0000 0000" + "01 61 c00c 0001 0001")
        #expect(labels.questions[0].name.fault == .compressionLoop)
        #expect(labels.questions[0].type == 1 && labels.problem == nil)
        let pair = dnsMessage("dead 0000 0001 0000 0000 0000" + "c012 0001 0001 c00c")
        #expect(pair.questions[0].name.fault == .compressionLoop)
        #expect(pair.problem == nil)
    }

    @Test func forwardPointerIsFollowed() {
        // Question at 12: 01 'a' c014 (pointer forward to 20), type A, class IN; at 20, after the
        // question, 01 'b' 00. RFC 1035 says pointers point to a prior occurrence, but resolvers'
        // dn_expand and Wireshark follow any pointer inside the message; so do we.
        let m = dnsMessage("0003 0000 0001 0000 0000 0000" + "01 61 c014 0001 0001" + "01 62 00")
        #expect(m.problem == nil)
        #expect(m.questions[0].name.text == "a.b")
    }

    @Test func nameOver255Bytes() {
        // Five labels of 63 'a' (5 x 64 + 1 = 321 bytes > 255): the name is too long, but its end is
        // in place, so the type (MX) and class after it are read.
        let label = "3f" + String(repeating: "61", count: 63)
        let m = dnsMessage("0004 0000 0001 0000 0000 0000" + String(repeating: label, count: 5) + "00 000f 0001")
        #expect(m.problem == nil)
        #expect(m.questions[0].name.fault == .tooLong)
        #expect(m.questions[0].name.description == "<name too long>")
        #expect(m.questions[0].type == DNSType.mx)
        // Four labels of 63 (4 x 64 + 1 = 257) are too long too; three and one of 61 (3 x 64 + 62 + 1
        // = 255) are just right.
        let four = dnsMessage("0004 0000 0001 0000 0000 0000" + String(repeating: label, count: 4) + "00 000f 0001")
        #expect(four.questions[0].name.fault == .tooLong)
        let fits = dnsMessage("0004 0000 0001 0000 0000 0000" + String(repeating: label, count: 3)
                              + "3d" + String(repeating: "62", count: 61) + "00 000f 0001")
        #expect(fits.questions[0].name.fault == nil)
        #expect(fits.questions[0].name.text.count == 253)
    }

    @Test func tooLongThroughPointers() {
        // A record whose owner is 63 'a' + pointer to a name of three labels of 63 at offset 12:
        // 64 + 3 x 64 + 1 = 257 bytes once expanded.
        let label = "3f" + String(repeating: "61", count: 63)
        let m = dnsMessage("0005 8000 0001 0001 0000 0000" + String(repeating: label, count: 3) + "00 0001 0001"
                           + label + "c00c 0001 0001 00000000 0004 7f000001")
        #expect(m.problem == nil)
        #expect(m.answers[0].name.fault == .tooLong)
        #expect(m.answers[0].data == .a(address: IPAddress(ipv4: 0x7F00_0001)))
    }

    @Test func labelPastTheEnd() {
        // 05 'abc': a label of 5 with 3 bytes left.
        let m = dnsMessage("0006 0000 0001 0000 0000 0000" + "05 616263")
        #expect(m.problem == DNSProblem(.questions, 0, .nameRunsPastEnd))
        #expect(m.isMalformed)
        #expect(m.questions.isEmpty && m.header.questionCount == 1)
        #expect(m.summaryLine == "DNS 0x0006 [malformed: questions[0]: a name runs past the end of its data]")
    }

    @Test func pointerPastTheEnd() {
        // c0ff: a pointer to offset 255 of an 18-byte message.
        let m = dnsMessage("0007 0000 0001 0000 0000 0000" + "c0ff 0001 0001")
        #expect(m.problem == DNSProblem(.questions, 0, .pointerPastEnd(target: 255)))
        // A pointer cut after its first byte.
        let cut = dnsMessage("0007 0000 0001 0000 0000 0000" + "c0")
        #expect(cut.problem == DNSProblem(.questions, 0, .nameRunsPastEnd))
    }

    @Test func reservedLabelTypes() {
        // 0x41 (01 000001: the retired binary label of RFC 2673) and 0x80 (10 000000).
        #expect(dnsMessage("0008 0000 0001 0000 0000 0000 41 01 00").problem
                == DNSProblem(.questions, 0, .reservedLabelType(0x41)))
        #expect(dnsMessage("0008 0000 0001 0000 0000 0000 80 00").problem
                == DNSProblem(.questions, 0, .reservedLabelType(0x80)))
    }

    @Test func headerTooShortOrCut() {
        // Three bytes ('XXX'): no header.
        let m = dnsMessage("585858")
        #expect(m.problem == DNSProblem(.header, 0, .headerTooShort(length: 3)))
        #expect(m.isMalformed)
        // The same three bytes captured of a 40-byte message: the snaplen cut it, nothing is wrong.
        let cut = dnsMessage("585858", wire: 40)
        #expect(cut.problem == DNSProblem(.header, 0, .cut(captured: 3, length: 40)))
        #expect(!cut.isMalformed)
    }

    @Test func truncatedSections() {
        // The header announces QD 1, AN 2, NS 1, AR 0; one answer is there.
        //   00 0001 0001                 question: root, A, IN
        //   00 0001 0001 00000000 0004 0a000001   answer: root A 10.0.0.1
        let base = "0009 8000 0001 0002 0001 0000" + "00 0001 0001" + "00 0001 0001 00000000 0004 0a000001"
        let missing = dnsMessage(base)
        #expect(missing.problem == DNSProblem(.answers, 1, .nameRunsPastEnd))
        #expect(missing.answers.count == 1 && missing.header.answerCount == 2 && missing.header.authorityCount == 1)
        // The second answer's fixed fields stop after 6 of their 10 bytes.
        let fields = dnsMessage(base + "00 0001 0001 0000")
        #expect(fields.problem == DNSProblem(.answers, 1, .fieldsRunPastEnd(needed: 10, available: 6)))
        // The second answer's RDLENGTH says 8, 4 bytes follow.
        let data = dnsMessage(base + "00 0001 0001 00000000 0008 0a000002")
        #expect(data.problem == DNSProblem(.answers, 1, .recordDataRunsPastEnd(length: 8, available: 4)))
        // The question's type and class are cut after 2 bytes.
        let question = dnsMessage("0009 0000 0001 0000 0000 0000 00 0001")
        #expect(question.problem == DNSProblem(.questions, 0, .fieldsRunPastEnd(needed: 4, available: 2)))
        // The same cut message, when the wire had 60 bytes, is a cut.
        #expect(dnsMessage(base, wire: 60).problem == DNSProblem(.answers, 1, .cut(captured: 32, length: 60)))
    }
}

@Suite struct DNSRecordTests {
    @Test func addresses() {
        // A: 4 bytes, 192.0.2.1 (RFC 1035 §3.4.1). AAAA: 16 bytes, 2001:db8::1 (RFC 3596 §2.2).
        #expect(answer(type: "0001", length: "0004", rdata: "c0000201").answers[0].data
                == .a(address: IPAddress(ipv4: 0xC000_0201)))
        let aaaa = answer(type: "001c", length: "0010", rdata: "20010db8 00000000 00000000 00000001")
        #expect(aaaa.answers[0].data == .aaaa(address: IPAddress(high: 0x2001_0DB8_0000_0000, low: 1)))
        #expect(aaaa.answers[0].summary == "AAAA 2001:db8::1")
        // An A record of 3 bytes ends before its address: malformed, the parse stops there.
        let short = answer(type: "0001", length: "0003", rdata: "c00002")
        #expect(short.problem == DNSProblem(.answers, 0, .truncatedRecordData(type: 1, reason: "needs 4 more bytes, 3 left")))
        #expect(short.isMalformed && short.answers.isEmpty)
        // One of 5 bytes holds an address and a byte too many: invalid, kept as unknown data, and
        // the records after it are read (here an AAAA of 16 bytes: ::1).
        let long = dnsMessage("1a2b 8180 0001 0002 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001"
                              + "c00c 0001 0001 00000e10 0005 c000020100"
                              + "c00c 001c 0001 00000e10 0010 00000000000000000000000000000001")
        #expect(long.problem == DNSProblem(.answers, 0, .invalidRecordData(type: 1, reason: "must be 4 bytes, has 5")))
        #expect(!long.isMalformed && long.answers.count == 2 && long.answers[0].data == .unknown)
        #expect(long.answers[1].data == .aaaa(address: IPAddress(high: 0, low: 1)))
        #expect(long.summaryLine.hasSuffix(" [invalid: answers[0]: A data must be 4 bytes, has 5]"))
    }

    @Test func nameRecords() {
        // NS ns1.example.com (03 ns1 c00c), PTR and CNAME likewise; MX 10 mail.example.com (000a 04 mail c00c).
        #expect(answer(type: "0002", length: "0006", rdata: "03 6e7331 c00c").answers[0].data
                == .ns(name: DNSName(text: "ns1.example.com")))
        #expect(answer(type: "000c", length: "0006", rdata: "03 6e7331 c00c").answers[0].data
                == .ptr(name: DNSName(text: "ns1.example.com")))
        let mx = answer(type: "000f", length: "0009", rdata: "000a 04 6d61696c c00c")
        #expect(mx.answers[0].data == .mx(preference: 10, exchange: DNSName(text: "mail.example.com")))
        #expect(mx.answers[0].summary == "MX 10 mail.example.com")
        // A name in record data running past RDLENGTH (03 ns1 c0 with RDLENGTH 5).
        let cut = answer(type: "0002", length: "0005", rdata: "03 6e7331 c0")
        #expect(cut.problem == DNSProblem(.answers, 0, .nameRunsPastEnd))
    }

    @Test func txt() {
        // Two character-strings (RFC 1035 §3.3.14): 0b "v=spf1 -all", 05 "hello".
        let m = answer(type: "0010", length: "0012", rdata: "0b 763d73706631202d616c6c 05 68656c6c6f")
        #expect(m.answers[0].data == .txt(strings: ["v=spf1 -all", "hello"]))
        #expect(m.answers[0].summary == #"TXT "v=spf1 -all" "hello""#)
        // A string of 9 bytes in 6 bytes of data.
        let bad = answer(type: "0010", length: "0006", rdata: "09 6162636465")
        #expect(bad.isMalformed)
    }

    @Test func soaInAnNXDomainResponse() {
        // RFC 2308 §2.1: NXDOMAIN (flags 0x8183), the zone's SOA in the authority section.
        //   question: 03 dne 07 example 03 com 00, A, IN   (name at 12; "example.com" at 16)
        //   authority: c010 0006 0001 00000e10 0027        owner example.com, SOA, TTL 3600, RDLENGTH 39
        //     03 ns1 c010                                  MNAME ns1.example.com
        //     0a hostmaster c010                           RNAME hostmaster.example.com
        //     78a3f175 00001c20 00000e10 00093a80 0000012c serial 2024010101, refresh 7200, retry 3600,
        //                                                  expire 604800, minimum 300
        let m = dnsMessage("1a2b 8183 0001 0000 0001 0000" + "03 646e65 07 6578616d706c65 03 636f6d 00 0001 0001"
                           + "c010 0006 0001 00000e10 0027" + "03 6e7331 c010" + "0a 686f73746d6173746572 c010"
                           + "78a3f175 00001c20 00000e10 00093a80 0000012c")
        #expect(m.problem == nil)
        #expect(m.responseCode == DNSResponseCode.nameError)
        #expect(m.authorities[0].data == .soa(DNSStartOfAuthority(
            primary: DNSName(text: "ns1.example.com"), mailbox: DNSName(text: "hostmaster.example.com"),
            serial: 2_024_010_101, refresh: 7200, retry: 3600, expire: 604_800, minimum: 300)))
        #expect(m.summaryLine == "DNS 0x1a2b NXDomain 0/1/0 A? dne.example.com")
    }

    @Test func srv() {
        // RFC 2782: priority 10, weight 60, port 5060, target sip.example.com (03 sip c00c).
        let m = answer(type: "0021", length: "000c", rdata: "000a 003c 13c4 03 736970 c00c")
        #expect(m.answers[0].data == .srv(priority: 10, weight: 60, port: 5060, target: DNSName(text: "sip.example.com")))
    }

    @Test func caa() {
        // RFC 8659 §4.1: flags 0, tag length 5, "issue", value "ca.example.net".
        let m = answer(type: "0101", length: "0015", rdata: "00 05 6973737565 63612e6578616d706c652e6e6574")
        #expect(m.answers[0].data == .caa(flags: 0, tag: "issue", value: "ca.example.net"))
        #expect(m.answers[0].summary == #"CAA 0 issue "ca.example.net""#)
    }

    @Test func svcbAliasAndServiceModes() {
        // RFC 9460 Appendix D.1: "example.com. HTTPS 0 foo.example.com." (AliasMode).
        let alias = answer(type: "0041", length: "0013", rdata: "0000 03 666f6f 07 6578616d706c65 03 636f6d 00")
        #expect(alias.answers[0].data == .svcb(DNSServiceBinding(priority: 0, target: DNSName(text: "foo.example.com"),
                                                                  parameters: [])))
        // RFC 9460 Appendix D.2: "example.com. SVCB 16 foo.example.org. (alpn=h2,h3-19
        // mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)":
        //   0010                               priority 16
        //   03 foo 07 example 03 org 00        target
        //   0000 0004 0001 0004                mandatory: alpn, ipv4hint
        //   0001 0009 02 h2 05 h3-19           alpn
        //   0004 0004 c0000201                 ipv4hint 192.0.2.1
        let service = answer(type: "0040", length: "0030",
                             rdata: "0010 03 666f6f 07 6578616d706c65 03 6f7267 00" + "0000 0004 0001 0004"
                                 + "0001 0009 02 6832 05 68332d3139" + "0004 0004 c0000201")
        #expect(service.problem == nil)
        #expect(service.answers[0].data == .svcb(DNSServiceBinding(
            priority: 16, target: DNSName(text: "foo.example.org"),
            parameters: [.mandatory(keys: [1, 4]), .alpn(protocols: ["h2", "h3-19"]),
                         .ipv4Hint(addresses: [IPAddress(ipv4: 0xC000_0201)])])))
        // HTTPS 1 . with port 8443 (20fb), ech of 3 bytes, ipv6hint 2001:db8::1, no-default-alpn.
        let https = answer(type: "0041", length: "0028",
                           rdata: "0001 00" + "0002 0000" + "0003 0002 20fb" + "0005 0003 010203"
                               + "0006 0010 20010db8000000000000000000000001")
        #expect(https.answers[0].data == .svcb(DNSServiceBinding(
            priority: 1, target: .root,
            parameters: [.noDefaultALPN, .port(8443), .ech(length: 3),
                         .ipv6Hint(addresses: [IPAddress(high: 0x2001_0DB8_0000_0000, low: 1)])])))
        #expect(https.answers[0].summary == "HTTPS 1 . no-default-alpn port=8443 ech=(3 bytes) ipv6hint=2001:db8::1")
        // A port parameter of 3 bytes: invalid (it fits in the data).
        let bad = answer(type: "0041", length: "000a", rdata: "0001 00 0003 0003 20fb00")
        #expect(bad.problem == DNSProblem(.answers, 0, .invalidRecordData(type: 65, reason: "has port of impossible length 3")))
        #expect(!bad.isMalformed && bad.answers[0].data == .unknown)
        // A parameter whose length runs past the data: malformed.
        let past = answer(type: "0041", length: "0009", rdata: "0001 00 0003 0004 20fb")
        #expect(past.problem == DNSProblem(.answers, 0, .truncatedRecordData(type: 65, reason: "has parameter 3 of 4 bytes with 2 left")))
    }

    @Test func dnssecKeyAndDelegation() throws {
        // RFC 4034 §5.4: "dskey.example.com. DNSKEY 256 3 5 (AQOeiiR0...) ; key id = 60485" and
        // "dskey.example.com. DS 60485 5 1 (2BB183AF5F22588179A53B0A98631FAD1A292118)".
        let key = try #require(Data(base64Encoded: "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw=="))
        let keyHex = key.map { String(format: "%02x", $0) }.joined()
        // flags 0100 (256, zone key), protocol 03, algorithm 05, then the key's 130 bytes: 134 = 0x86.
        let dnskey = answer(type: "0030", length: "0086", rdata: "0100 03 05" + keyHex)
        #expect(dnskey.answers[0].data == .dnskey(DNSKey(flags: 256, protocolNumber: 3, algorithm: 5, keyTag: 60485,
                                                          publicKeyLength: 130)))
        let ds = answer(type: "002b", length: "0018", rdata: "ec45 05 01 2bb183af5f22588179a53b0a98631fad1a292118")
        #expect(ds.answers[0].data == .ds(keyTag: 60485, algorithm: 5, digestType: 1,
                                          digest: "2bb183af5f22588179a53b0a98631fad1a292118"))
    }

    @Test func rrsig() throws {
        // RFC 4034 §3.3: "host.example.com. RRSIG A 5 3 86400 20030322173103 (20030220173103 2642
        // example.com. oJB1W6WN...)":
        //   0001 05 03 00015180        type covered A, algorithm 5, labels 3, original TTL 86400
        //   3e7c9dd7 3e5510d7          expiration 2003-03-22 17:31:03, inception 2003-02-20 17:31:03 UTC
        //   0a52                       key tag 2642
        //   07 example 03 com 00       signer (13 bytes), then the 128-byte signature: 18 + 13 + 128 = 159
        let signature = try #require(Data(base64Encoded: "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o="))
        let m = answer(type: "002e", length: "009f", rdata: "0001 05 03 00015180 3e7c9dd7 3e5510d7 0a52"
                       + "07 6578616d706c65 03 636f6d 00" + signature.map { String(format: "%02x", $0) }.joined())
        #expect(m.answers[0].data == .rrsig(DNSSignature(
            typeCovered: 1, algorithm: 5, labels: 3, originalTTL: 86400, expiration: 1_048_354_263,
            inception: 1_045_762_263, keyTag: 2642, signer: DNSName(text: "example.com"), signatureLength: 128)))
    }

    @Test func nsec() {
        // RFC 4034 §4.3: "alfa.example.com. NSEC host.example.com. (A MX RRSIG NSEC TYPE1234)":
        //   04 host 07 example 03 com 00
        //   00 06 40 01 00 00 00 03          window 0, 6 bytes: A (1), MX (15), RRSIG (46), NSEC (47)
        //   04 1b 00...00 20                 window 4, 27 bytes: type 4 x 256 + 210 = 1234
        let m = answer(type: "002f", length: "0037",
                       rdata: "04 686f7374 07 6578616d706c65 03 636f6d 00" + "0006 400100000003"
                           + "041b" + String(repeating: "00", count: 26) + "20")
        #expect(m.answers[0].data == .nsec(next: DNSName(text: "host.example.com"), types: [1, 15, 46, 47, 1234]))
        #expect(m.answers[0].summary == "NSEC host.example.com (A MX RRSIG NSEC TYPE1234)")
        // A bitmap length of 33 (more than 32) with 1 byte left: malformed; with its 33 bytes: invalid.
        let short = answer(type: "002f", length: "0004", rdata: "00 00 21 00")
        #expect(short.problem == DNSProblem(.answers, 0, .truncatedRecordData(type: 47, reason: "has a type bitmap of 33 bytes with 1 left")))
        let long = answer(type: "002f", length: "0024", rdata: "00 00 21" + String(repeating: "00", count: 33))
        #expect(long.problem == DNSProblem(.answers, 0, .invalidRecordData(type: 47, reason: "has a type bitmap of length 33, not 1 to 32")))
        #expect(!long.isMalformed)
    }

    @Test func nsec3() {
        // RFC 5155 Appendix A: "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd
        // (2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG)":
        //   01 01 000c                       hash SHA-1, flags opt-out, 12 iterations
        //   04 aabbccdd                      salt
        //   14 174eb2409fe28bcb4887a1836f957f0a8425e27b   20-byte hash (base32hex 2t7b4g4v...)
        //   00 07 22 01 00 00 00 02 90       window 0: NS 2, SOA 6, MX 15, RRSIG 46, DNSKEY 48, NSEC3PARAM 51
        let m = answer(type: "0032", length: "0027",
                       rdata: "01 01 000c 04 aabbccdd 14 174eb2409fe28bcb4887a1836f957f0a8425e27b 0007 22010000000290")
        #expect(m.answers[0].data == .nsec3(DNSNextSecure3(
            hashAlgorithm: 1, flags: 1, iterations: 12, salt: "aabbccdd",
            nextHashedOwner: "2t7b4g4vsa5smi47k61mv5bv1a22bojr", types: [2, 6, 15, 46, 48, 51])))
    }

    @Test func optWithClientSubnetAndCookie() {
        // A response with RCODE 0 in the header and an OPT record (RFC 6891 §6.1.2):
        //   00 0029 1000                     root, OPT, UDP payload size 4096
        //   01 00 8000                       extended RCODE 1, version 0, DO set
        //   0027                             RDLENGTH 39
        //   0008 0007 0001 18 00 c00002      client subnet (RFC 7871): IPv4, source /24, scope /0, 192.0.2
        //   000a 0018 0102030405060708 1112131415161718191a1b1c1d1e1f20
        //                                    cookie (RFC 7873): client 8 bytes, server 16
        let m = dnsMessage("0010 8000 0000 0000 0000 0001" + "00 0029 1000 01008000 0027"
                           + "0008 0007 0001 18 00 c00002"
                           + "000a 0018 0102030405060708 1112131415161718191a1b1c1d1e1f20")
        #expect(m.problem == nil)
        let edns = m.edns
        #expect(edns?.udpPayloadSize == 4096 && edns?.extendedRcode == 1 && edns?.version == 0)
        #expect(edns?.dnssecOK == true && edns?.z == 0)
        #expect(edns?.options == [
            .clientSubnet(family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: IPAddress(ipv4: 0xC000_0200)),
            .cookie(client: "0102030405060708", server: "1112131415161718191a1b1c1d1e1f20"),
        ])
        // 1 << 4 | 0 = 16: BADVERS (RFC 6891 §9).
        #expect(m.responseCode == 16 && m.responseCodeName == "BADVERS")
        #expect(m.summaryLine == "DNS 0x0010 BADVERS 0/0/1")
    }

    @Test func ednsOptionsIPv6SubnetErrorAndMalformed() {
        // OPT, payload 1232 (04d0), TTL 0, RDLENGTH 23:
        //   0008 000b 0002 38 00 20010db8000000   client subnet IPv6 /56: 7 address bytes
        //   000f 0004 0012 6869                   Extended DNS Error (RFC 8914) 18 "Prohibited", text "hi"
        let m = dnsMessage("0011 8000 0000 0000 0000 0001" + "00 0029 04d0 00000000 0017"
                           + "0008 000b 0002 38 00 20010db8000000" + "000f 0004 0012 6869")
        #expect(m.edns?.options == [
            .clientSubnet(family: 2, sourcePrefixLength: 56, scopePrefixLength: 0,
                          address: IPAddress(high: 0x2001_0DB8_0000_0000, low: 0)),
            .extendedError(infoCode: 18, extraText: "hi"),
        ])
        // A /24 subnet whose address has 4 bytes, a cookie of 9 bytes: invalid (RFC 7871 §6, RFC 7873
        // §4), not malformed. An option running past the data: malformed.
        let subnet = dnsMessage("0012 8000 0000 0000 0000 0001 00 0029 04d0 00000000 000c 0008 0008 0001 18 00 c0000200")
        #expect(subnet.problem == DNSProblem(.additionals, 0, .invalidRecordData(
            type: 41, reason: "has a client subnet address of 4 bytes for a /24 prefix")))
        #expect(!subnet.isMalformed && subnet.edns?.udpPayloadSize == 1232)
        #expect(subnet.edns?.options == [.other(code: 8, length: 8)])
        let cookie = dnsMessage("0012 8000 0000 0000 0000 0001 00 0029 04d0 00000000 000d 000a 0009 010203040506070809")
        #expect(cookie.problem?.kind == .invalidRecordData(type: 41, reason: "has a cookie of 9 bytes, not 8 or 16 to 40"))
        let past = dnsMessage("0012 8000 0000 0000 0000 0001 00 0029 04d0 00000000 0006 000a 0010 0102")
        #expect(past.problem == DNSProblem(.additionals, 0,
                                           .truncatedRecordData(type: 41, reason: "has option 10 of 16 bytes with 2 left")))
        #expect(past.isMalformed)
    }

    @Test func unknownTypeKeepsItsLength() {
        // TYPE65534 (a private-use type) with 5 bytes of data.
        let m = answer(type: "fffe", length: "0005", rdata: "0102030405")
        #expect(m.answers[0].type == 65534 && m.answers[0].dataLength == 5 && m.answers[0].data == .unknown)
        #expect(m.answers[0].summary == "TYPE65534 (5 bytes)")
    }

    @Test func mdnsClassBits() {
        // mDNS (RFC 6762): the question's class 8001 is IN with the QU bit (§5.4); the answer's class
        // 8001 is IN with cache-flush (§10.2). Read as unicast DNS, the same bits are part of the class.
        //   0000 8400 0001 0001 0000 0000    ID 0, response, AA
        //   04 host 05 local 00 0001 8001    question host.local A, QU
        //   c00c 0001 8001 00000078 0004 c0a80005    answer A 192.168.0.5, cache-flush, TTL 120
        let text = "0000 8400 0001 0001 0000 0000" + "04 686f7374 05 6c6f63616c 00 0001 8001"
            + "c00c 0001 8001 00000078 0004 c0a80005"
        let mdns = dnsMessage(text, flavor: .mdns)
        #expect(mdns.questions[0].unicastResponse && mdns.questions[0].qclass == 1)
        #expect(mdns.answers[0].cacheFlush && mdns.answers[0].rclass == 1)
        let dns = dnsMessage(text)
        #expect(!dns.questions[0].unicastResponse && dns.questions[0].qclass == 0x8001)
        #expect(!dns.answers[0].cacheFlush && dns.answers[0].rclass == 0x8001)
        #expect(mdns.summaryLine == "mDNS 0x0000 NoError 1/0/0 A (QU)? host.local: A 192.168.0.5")
    }

    @Test func flavorsByPort() {
        #expect(DNSFlavor(sourcePort: 53, destinationPort: 40000) == .dns)
        #expect(DNSFlavor(sourcePort: 5353, destinationPort: 5353) == .mdns)
        #expect(DNSFlavor(sourcePort: 50000, destinationPort: 5355) == .llmnr)
        #expect(DNSFlavor(sourcePort: 53, destinationPort: 5353) == .dns)
        #expect(DNSFlavor(sourcePort: 80, destinationPort: 443) == nil)
    }
}

@Suite struct DNSStreamTests {
    // Two messages behind their RFC 1035 §4.2.2 length prefixes:
    //   0021 (33) + the query for www.example.com A
    //   0031 (49) + a response to it with one answer: c00c 0001 0001 0000012c 0004 c0000201
    static let query = "1a2b 0100 0001 0000 0000 0000 03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
    static let response = "1a2b 8180 0001 0001 0000 0000 03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
        + "c00c 0001 0001 0000012c 0004 c0000201"
    static let stream = hex("0021" + query + "0031" + response)
    static let expected = [dnsMessage(query), dnsMessage(response)]

    /// Feeds `bytes` cut at `cuts` (sorted offsets) and collects the messages.
    func feed(_ bytes: [UInt8], cuts: [Int], into parser: inout DNSStreamParser) -> [DNSMessage] {
        var out: [DNSMessage] = []
        var start = 0
        for (index, end) in (cuts + [bytes.count]).enumerated() {
            bytes[start..<end].withUnsafeBytes { raw in
                parser.consume(raw.bytes, frame: index + 1, time: 0) { out.append($0) }
            }
            start = end
        }
        return out
    }

    func feed(_ bytes: [UInt8], cuts: [Int]) -> [DNSMessage] {
        var parser = DNSStreamParser()
        return feed(bytes, cuts: cuts, into: &parser)
    }

    @Test func allAtOnceAndByteByByte() {
        #expect(Self.expected.allSatisfy { $0.problem == nil })
        #expect(feed(Self.stream, cuts: []) == Self.expected)
        #expect(feed(Self.stream, cuts: Array(1..<Self.stream.count)) == Self.expected)
    }

    @Test func everySplitInTwoAndThree() {
        let n = Self.stream.count
        for a in 0...n {
            #expect(feed(Self.stream, cuts: [a]) == Self.expected, "cut at \(a)")
            for b in a...n where feed(Self.stream, cuts: [a, b]) != Self.expected {
                Issue.record("cuts at \(a) and \(b)")
            }
        }
    }

    @Test func messagesAreEmittedWhenTheirLastByteArrives() {
        // Everything but the last byte of the first message: nothing yet; the last byte emits it.
        var parser = DNSStreamParser()
        #expect(feed(Array(Self.stream[0..<34]), cuts: [], into: &parser).isEmpty)
        #expect(parser.bufferedByteCount == 34)
        #expect(feed(Array(Self.stream[34..<36]), cuts: [], into: &parser) == [Self.expected[0]])
        #expect(parser.bufferedByteCount == 1 && parser.messageCount == 1)
    }

    @Test func lengthLargerThanWhatFollows() {
        // A prefix of 0x0100 (256) followed by the 33-byte query: the message is never complete.
        var parser = DNSStreamParser()
        let bytes = hex("0100" + Self.query)
        #expect(feed(bytes, cuts: [10], into: &parser).isEmpty)
        #expect(parser.bufferedByteCount == 35 && parser.messageCount == 0)
    }

    @Test func zeroLengthMessageIsMalformed() {
        // A prefix of 0: an empty message, which has no header.
        let messages = feed(hex("0000" + "0021" + Self.query), cuts: [])
        #expect(messages.count == 2)
        #expect(messages[0].problem == DNSProblem(.header, 0, .headerTooShort(length: 0)))
        #expect(messages[1] == Self.expected[0])
    }

    @Test func gapStopsTheDirection() {
        var parser = DNSStreamParser()
        #expect(feed(Array(Self.stream[0..<20]), cuts: [], into: &parser).isEmpty)
        parser.gap()
        #expect(parser.lostSync && parser.bufferedByteCount == 0)
        #expect(feed(Array(Self.stream[35...]), cuts: [], into: &parser).isEmpty)
    }
}

@Suite struct DNSRobustnessTests {
    // A response with compression, EDNS with options, DNSSEC and SVCB data: most of the decoder.
    //   question www.example.com A; answers: CNAME web + ptr, A; authority: NSEC3 (as above);
    //   additional: HTTPS 1 . alpn=h2 port=443, OPT with a client subnet and a cookie.
    static let rich = hex("1a2b 8180 0001 0002 0001 0002" + "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
        + "c00c 0005 0001 00000e10 0006 03 776562 c010" + "c02d 0001 0001 0000012c 0004 c0000201"
        + "c010 0032 0001 00000e10 0027 01 01 000c 04 aabbccdd 14 174eb2409fe28bcb4887a1836f957f0a8425e27b 0007 22010000000290"
        + "c010 0041 0001 00000e10 0010 0001 00 0001 0003 02 6832 0003 0002 01bb"
        + "00 0029 1000 00008000 0017 0008 0007 0001 18 00 c00002 000a 0008 0102030405060708")

    @Test func wholeMessageParses() {
        let m = Self.rich.withUnsafeBytes { DNSMessage($0.bytes) }
        #expect(m.problem == nil)
        #expect(m.records.count == 5 && m.edns?.options.count == 2)
    }

    @Test func everyTruncationIsReported() {
        for length in 0..<Self.rich.count {
            let m = Self.rich[..<length].withUnsafeBytes { DNSMessage($0.bytes) }
            #expect(m.isMalformed, "cut at \(length): \(m.summaryLine)")
            let cut = Self.rich[..<length].withUnsafeBytes { DNSMessage($0.bytes, wireLength: Self.rich.count) }
            #expect(cut.problem?.label == "cut", "cut at \(length)")
        }
    }

    @Test func randomMutationsNeverTrapOrHang() {
        // A fixed-seed generator (xorshift64): the same mutations on every run.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = Self.rich
            for _ in 0..<1 + Int(next() % 4) {
                bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
            }
            let m = bytes.withUnsafeBytes { DNSMessage($0.bytes) }
            _ = m.summaryLine
            parsed += 1
        }
        #expect(parsed == 20_000)
    }

    @Test func streamOfRandomBytesStaysBounded() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var parser = DNSStreamParser()
        var messages = 0
        for _ in 0..<2_000 {
            var chunk: [UInt8] = []
            for _ in 0..<97 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                chunk.append(UInt8(truncatingIfNeeded: state))
            }
            chunk.withUnsafeBytes { parser.consume($0.bytes, frame: 1, time: 0) { _ in messages += 1 } }
            #expect(parser.bufferedByteCount <= 2 + 65_535)
        }
        #expect(messages == parser.messageCount)
    }
}

import Testing
import NetsiftTestSupport
import NetsiftCapture
@testable import NetsiftDissect

func hex(_ text: String) -> [UInt8] {
    Build.hex(text)   // NetsiftTestSupport's, with its check for an odd digit count
}

/// Dissects one frame given as hex; `wire` defaults to the frame's length (nothing cut).
func dissect(_ frame: String, _ linkType: LinkType = .ethernet, wire: Int? = nil,
             with dissector: inout Dissector, time: Int64 = 0) -> (PacketSummary, [UInt8]) {
    let bytes = hex(frame)
    var result: (PacketSummary, [UInt8])?
    bytes.withUnsafeBytes { raw in
        let packet = CapturedPacket(bytes: raw.bytes, originalLength: wire ?? bytes.count, timestamp: time,
                                    interface: 0, linkType: linkType)
        dissector.dissect(packet) { summary, view in
            var copied: [UInt8] = []
            for i in 0..<view.byteCount { copied.append(view.u8(i)) }
            result = (summary, copied)
        }
    }
    return result!
}

func dissect(_ frame: String, _ linkType: LinkType = .ethernet, wire: Int? = nil) -> PacketSummary {
    var dissector = Dissector()
    return dissect(frame, linkType, wire: wire, with: &dissector).0
}

// Ethernet II: dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, type 0x0800.
let ethernetIPv4 = "001122334455 66778899aabb 0800"
// IPv4: version 4, IHL 5, DSCP 46 / ECN 1 (0xb9), total length 40, id 0x1234, DF, TTL 64, proto 6,
// checksum 0, 192.168.1.1 -> 10.0.0.2.
let ipv4TCPHeader = "45b9 0028 1234 4000 40 06 0000 c0a80101 0a000002"
// TCP: 443 -> 50000, seq 1, ack 2, data offset 5, flags SYN+ACK (0x12), window 65535, checksum, urgent 0.
let tcpSynAck = "01bb c350 00000001 00000002 5012 ffff 0000 0000"

@Suite struct LinkLayerTests {
    @Test func ethernetIPv4TCP() {
        let s = dissect(ethernetIPv4 + ipv4TCPHeader + tcpSynAck)
        #expect(s.problem == nil)
        #expect(s.layers.isSuperset(of: [.ethernet, .ipv4, .tcp]))
        #expect(s.destinationMAC == 0x0011_2233_4455)
        #expect(s.sourceMAC == 0x6677_8899_AABB)
        #expect(s.source.description == "192.168.1.1")
        #expect(s.destination.description == "10.0.0.2")
        #expect(s.dscp == 46 && s.ecn == 1 && s.ttl == 64 && s.dontFragment && s.ipIdentification == 0x1234)
        #expect(s.sourcePort == 443 && s.destinationPort == 50000)
        #expect(s.sequenceNumber == 1 && s.acknowledgmentNumber == 2)
        #expect(s.tcpFlags == [.syn, .ack])
        #expect(s.windowSize == 65535)
        #expect(s.transportHeader == 34..<54)
        #expect(s.payload == 54..<54)
    }

    @Test func stackedVLANTags() {
        // 802.1ad S-tag (TPID 88a8) PCP 3 DEI 1 VID 100 (0x7064), then 802.1Q C-tag VID 200 (0x00c8).
        let s = dissect("001122334455 66778899aabb 88a8 7064 8100 00c8 0800" + ipv4TCPHeader + tcpSynAck)
        #expect(s.problem == nil)
        #expect(s.vlanCount == 2)
        #expect(s.outerVLAN == VLANTag(tpid: 0x88A8, priority: 3, dropEligible: true, id: 100))
        #expect(s.innerVLAN == VLANTag(tpid: 0x8100, priority: 0, dropEligible: false, id: 200))
        #expect(s.layers.contains(.tcp))
    }

    @Test func endlessVLANStackStops() {
        let tags = String(repeating: "8100 0001 ", count: 9)
        let s = dissect("001122334455 66778899aabb " + tags + "0800")
        #expect(s.problem == DissectError(.vlan, .chainTooLong(limit: 8)))
    }

    @Test func llcSNAPCarriesAnEtherType() {
        // 802.3 length 0x0030, LLC AA AA 03, SNAP OUI 000000, type 0800.
        let s = dissect("001122334455 66778899aabb 0030 aaaa03 000000 0800" + ipv4TCPHeader + tcpSynAck)
        #expect(s.layers.isSuperset(of: [.llc, .ipv4, .tcp]))
    }

    @Test func linuxCookedV1AndV2() {
        // SLL: packet type 0 (to us), ARPHRD 1, address length 6, address + 2 pad, protocol 0800.
        let sll = dissect("0000 0001 0006 66778899aabb 0000 0800" + ipv4TCPHeader + tcpSynAck, .linuxSLL)
        #expect(sll.layers.isSuperset(of: [.linuxSLL, .ipv4, .tcp]))
        // SLL2: protocol 0800, reserved, ifindex 2, ARPHRD 1, packet type 4, address length 6, address.
        let sll2 = dissect("0800 0000 00000002 0001 04 06 66778899aabb0000" + ipv4TCPHeader + tcpSynAck, .linuxSLL2)
        #expect(sll2.layers.isSuperset(of: [.linuxSLL2, .ipv4, .tcp]))
    }

    @Test func loopbackFamilyInEitherByteOrder() {
        // AF_INET (2) little-endian, then AF_INET6 as the BSDs write it (30) big-endian.
        #expect(dissect("02000000" + ipv4TCPHeader + tcpSynAck, .null).layers.contains(.tcp))
        let ipv6 = "60000000 0014 06 40" + "20010db8000000000000000000000001" + "20010db8000000000000000000000002"
        let s = dissect("0000001e" + ipv6 + tcpSynAck, .null)
        #expect(s.layers.isSuperset(of: [.loopback, .ipv6, .tcp]))
        #expect(s.source.description == "2001:db8::1")
    }

    @Test func rawIPByVersionNibble() {
        #expect(dissect(ipv4TCPHeader + tcpSynAck, .raw).layers.isSuperset(of: [.rawIP, .ipv4, .tcp]))
        #expect(dissect(ipv4TCPHeader + tcpSynAck, .ipv6).problem == DissectError(.ipv6, .wrongVersion(4)))
    }

    @Test func unsupportedLinkTypeIsNamed() {
        let s = dissect("00", LinkType(rawValue: 182))
        #expect(s.problem == DissectError(.link, .unsupportedLinkType(182)))
        #expect(s.problem?.description == "unsupported link type 182")
        #expect(s.problem?.isMalformed == false)
    }
}

@Suite struct NetworkLayerTests {
    @Test func ipv4HeaderLengthBelowTwentyIsReported() {
        // IHL 1 (4 bytes).
        let s = dissect(ethernetIPv4 + "41000028 12344000 40060000 c0a80101 0a000002")
        #expect(s.problem == DissectError(.ipv4, .lengthBelowMinimum(field: .headerLength, value: 4, minimum: 20)))
        #expect(s.problem?.description == "IPv4 header length 4 < 20")
        #expect(!s.layers.contains(.tcp))
    }

    @Test func ipv4CutBySnaplenIsNotMalformed() {
        // Only 10 of the 20 header bytes captured; the packet had 60 on the wire.
        let s = dissect(ethernetIPv4 + "45000028 12344000 4006", wire: 60)
        #expect(s.problem == DissectError(.ipv4, .cut(needed: 20, captured: 10)))
        #expect(s.problem?.isMalformed == false)
        #expect(s.layers.contains(.ipv4))
    }

    @Test func ipv4PacketShorterThanItsHeaderIsMalformed() {
        let s = dissect(ethernetIPv4 + "45000028 12344000 4006")
        #expect(s.problem == DissectError(.ipv4, .tooShort(needed: 20, available: 10)))
        #expect(s.problem?.isMalformed == true)
    }

    @Test func ipv4OptionsAreWalked() {
        // IHL 7: Record Route (7) length 7 pointer 4 + one empty slot, then EOL. Total 48.
        let header = "47000030 12340000 40060000 c0a80101 0a000002" + "07 07 04 00000000 00"
        let s = dissect(ethernetIPv4 + header + tcpSynAck)
        #expect(s.problem == nil)
        #expect(s.layers.contains(.ipOptions))
        #expect(s.layers.contains(.tcp))
        // An option claiming 40 bytes in an 8-byte options area.
        let bad = "47000030 12340000 40060000 c0a80101 0a000002" + "07 28 04 00000000 00"
        #expect(dissect(ethernetIPv4 + bad + tcpSynAck).problem == DissectError(.ipv4Options, .badOption(kind: 7, length: 40)))
    }

    @Test func tcpOptionsCutBySnaplenKeepTheFixedHeader() {
        // IPv4 total length 44: a 24-byte TCP header (data offset 6) whose MSS option (02 04 05b4)
        // the snaplen cut after its first two bytes: 22 of 24 bytes captured, 58 on the wire.
        let ip = "4500002c 12340000 40060000 c0a80101 0a000002"
        let tcp = "0050 d431 00000001 00000000 6002 ffff 0000 0000" + "0204"
        let s = dissect(ethernetIPv4 + ip + tcp, wire: 58)
        #expect(s.layers.contains(.tcp))
        #expect(s.sourcePort == 80 && s.destinationPort == 54321)
        #expect(s.tcpFlags == .syn)
        #expect(s.problem == DissectError(.tcp, .cut(needed: 24, captured: 22)))
        #expect(s.payloadWireLength == 0)
    }

    @Test func sourceRouteNamesTheFinalDestination() {
        // IHL 8: Loose Source Route (131) length 11 pointer 4: next hop 1.2.3.4, final 5.6.7.8,
        // then EOL. The header's destination 10.0.0.2 is only the current hop (RFC 791 §3.1).
        let route = "48000034 12340000 40060000 c0a80101 0a000002" + "83 0b 04 01020304 05060708 00"
        #expect(dissect(ethernetIPv4 + route + tcpSynAck).destination == IPAddress(ipv4: 0x0506_0708))
        // Pointer 12 > length 11: the route is complete, the header's destination is final.
        let done = "48000034 12340000 40060000 c0a80101 0a000002" + "83 0b 0c 01020304 05060708 00"
        #expect(dissect(ethernetIPv4 + done + tcpSynAck).destination == IPAddress(ipv4: 0x0a00_0002))
    }

    @Test func ipv4TotalLengthZeroMeansTheFrameGivesIt() {
        // Segmentation offload leaves 0 in outgoing packets as captured; the TCP layer still follows.
        let s = dissect(ethernetIPv4 + "45000000 12344000 40060000 c0a80101 0a000002" + tcpSynAck)
        #expect(s.problem == nil)
        #expect(s.layers.contains(.tcp))
    }

    static let ipv6Addresses = "20010db8000000000000000000000001" + "20010db8000000000000000000000002"

    @Test func ipv6ExtensionChainToUDP() {
        // Hop-by-hop (next 60, len 0: PadN 4), destination options (next 17, len 0: PadN 4), UDP 8 bytes.
        let frame = "001122334455 66778899aabb 86dd" + "60000000 0018 00 40" + Self.ipv6Addresses
            + "3c00 0104 00000000" + "1100 0104 00000000" + "0035 d431 0008 0000"
        let s = dissect(frame)
        #expect(s.problem == nil)
        #expect(s.ipProtocol == 17)
        #expect(s.layers.isSuperset(of: [.ipv6, .ipOptions, .udp]))
        #expect(s.sourcePort == 53 && s.destinationPort == 54321)
        #expect(s.ipHeader == 14..<70)
    }

    @Test func ipv6ExtensionChainThatNeverEnds() {
        // 17 destination-options headers, each pointing at another.
        let chain = String(repeating: "3c00 0104 00000000 ", count: 17)
        let frame = "001122334455 66778899aabb 86dd" + "60000000 0088 3c 40" + Self.ipv6Addresses + chain
        #expect(dissect(frame).problem == DissectError(.ipv6Extension, .chainTooLong(limit: 16)))
    }

    @Test func ipv6OptionRunningPastItsHeaderIsMalformed() {
        // Destination options, 8 bytes, holding an option of type 0xca claiming 0x90 bytes.
        let frame = "001122334455 66778899aabb 86dd" + "60000000 0010 3c 40" + Self.ipv6Addresses
            + "1100 ca90 00000000" + "0035 d431 0008 0000"
        let s = dissect(frame)
        #expect(s.problem == DissectError(.ipv6Extension, .badOption(kind: 0xCA, length: 0x90)))
        #expect(s.problem?.isMalformed == true)
        #expect(!s.layers.contains(.udp))
    }

    @Test func ipInIPDescribesTheInnerPacket() {
        // Outer IPv4 10.0.0.1 -> 10.0.0.2 protocol 4 (IPv4), total 60; inner as ipv4TCPHeader.
        let outer = "4500003c 00010000 40040000 0a000001 0a000002"
        let s = dissect(ethernetIPv4 + outer + ipv4TCPHeader + tcpSynAck)
        #expect(s.problem == nil)
        #expect(s.source.description == "192.168.1.1")
        #expect(s.layers.contains(.tcp))
    }
}

@Suite struct TransportLayerTests {
    @Test func everyTCPOption() {
        // Data offset 15: 40 option bytes, exactly filled: MSS 1460 (4), NOP (1), wscale 7 (3),
        // sackOK (2), TS 100/200 (10), SACK two blocks 0x10-0x20 and 0x30-0x40 (18), kind 99 (2).
        let options = "020405b4" + "01" + "030307" + "0402" + "080a 00000064 000000c8"
            + "0512 00000010 00000020 00000030 00000040" + "6302"
        let tcp = "01bb c350 00000001 00000002 f010 ffff 0000 0000" + options
        // Total length 20 + 60 = 80.
        let ip = "45000050 12344000 40060000 c0a80101 0a000002"
        let s = dissect(ethernetIPv4 + ip + tcp)
        #expect(s.problem == nil)
        let o = s.tcpOptions
        #expect(o.mss == 1460)
        #expect(o.windowScale == 7)
        #expect(o.sackPermitted)
        #expect(o.timestampValue == 100 && o.timestampEcho == 200)
        #expect(o.sack.map(\.left) == [0x10, 0x30] && o.sack.map(\.right) == [0x20, 0x40])
        #expect(o.unknownCount == 1)
        #expect(o.optionCount == 7)
    }

    @Test func linuxTimestampOptions() {
        // Data offset 8: 12 option bytes as Linux sends them (RFC 7323 Appendix A): NOP, NOP,
        // TS value 0x01020304, echo reply 0x0a0b0c0d. Three options, no MSS or SACK.
        let tcp = "01bb c350 00000001 00000002 8010 ffff 0000 0000" + "01 01 080a 01020304 0a0b0c0d"
        // Total length 20 + 32 = 52.
        let ip = "45000034 12344000 40060000 c0a80101 0a000002"
        let s = dissect(ethernetIPv4 + ip + tcp)
        #expect(s.problem == nil)
        let o = s.tcpOptions
        #expect(o.timestampValue == 0x0102_0304 && o.timestampEcho == 0x0A0B_0C0D)
        #expect(o.optionCount == 3)
        #expect(o.mss == nil && o.windowScale == nil && !o.sackPermitted && o.sackBlockCount == 0 && o.unknownCount == 0)
        // The same bytes with the timestamps first (TS, NOP, NOP) take the general walk: same answer.
        let reordered = dissect(ethernetIPv4 + ip + "01bb c350 00000001 00000002 8010 ffff 0000 0000"
                                + "080a 01020304 0a0b0c0d 01 01")
        #expect(reordered.tcpOptions.timestampValue == 0x0102_0304 && reordered.tcpOptions.timestampEcho == 0x0A0B_0C0D)
        #expect(reordered.tcpOptions.optionCount == 3)
    }

    @Test func tcpOptionPastHeaderKeepsWhatCameBefore() {
        // Data offset 6: MSS 1460 then... MSS option claiming length 8 in the 4 bytes left? Use
        // data offset 6 (4 option bytes): "02 08 05b4" claims 8 bytes.
        let tcp = "01bb c350 00000001 00000002 6002 ffff 0000 0000" + "020805b4"
        let ip = "4500002c 12344000 40060000 c0a80101 0a000002"
        let s = dissect(ethernetIPv4 + ip + tcp)
        #expect(s.problem == DissectError(.tcpOptions, .badOption(kind: 2, length: 8)))
        #expect(s.layers.contains(.tcp))
    }

    @Test func emptySACKIsMalformed() {
        let tcp = "01bb c350 00000001 00000002 6010 ffff 0000 0000" + "0502 0101"
        let ip = "4500002c 12344000 40060000 c0a80101 0a000002"
        #expect(dissect(ethernetIPv4 + ip + tcp).problem == DissectError(.tcpOptions, .badOption(kind: 5, length: 2)))
    }

    @Test func tcpDataOffsetBelowFive() {
        let tcp = "01bb c350 00000001 00000002 4012 ffff 0000 0000"
        let s = dissect(ethernetIPv4 + ipv4TCPHeader + tcp)
        #expect(s.problem?.description == "TCP data offset 16 < 20")
    }

    @Test func udpLengthPastTheDatagram() {
        // UDP claims 100 bytes in a 28-byte IPv4 datagram.
        let ip = "4500001c 12340000 40110000 c0a80101 0a000002"
        let s = dissect(ethernetIPv4 + ip + "0035 d431 0064 0000")
        #expect(s.problem == DissectError(.udp, .lengthPastEnd(field: .udpLength, value: 100, available: 8)))
    }

    @Test func icmpFragmentationNeededNamesTheFlowAndMTU() {
        // ICMP type 3 code 4, next-hop MTU 1400 (0x0578), quoting IPv4 10.0.0.2 -> 192.168.1.1 TCP
        // 50000 -> 443 (first 8 bytes of TCP).
        let quoted = "45000578 00004000 40060000 0a000002 c0a80101" + "c350 01bb 00000001"
        let ip = "45000038 00000000 40010000 c0a80101 0a000002"
        let s = dissect(ethernetIPv4 + ip + "0304 0000 0000 0578" + quoted)
        #expect(s.problem == nil)
        #expect(s.layers.isSuperset(of: [.icmp, .embeddedIPv4, .embeddedTCP]))
        #expect(s.icmpMTU == 1400)
        #expect(s.embedded?.source.description == "10.0.0.2")
        #expect(s.embedded?.destinationPort == 443)
    }

    @Test func icmpv6PacketTooBig() {
        // Type 2, MTU 1280 (0x500), quoting an IPv6 header of a UDP datagram 53 -> 54321.
        let quoted = "60000000 0008 11 40" + NetworkLayerTests.ipv6Addresses + "0035 d431 0008 0000"
        let payload = "02 00 0000 00000500" + quoted
        let frame = "001122334455 66778899aabb 86dd" + "60000000 0038 3a 40" + NetworkLayerTests.ipv6Addresses + payload
        let s = dissect(frame)
        #expect(s.problem == nil)
        #expect(s.layers.isSuperset(of: [.icmpv6, .embeddedIPv6, .embeddedUDP]))
        #expect(s.icmpMTU == 1280)
        #expect(s.embedded?.sourcePort == 53)
    }
}

@Suite struct FragmentTests {
    // A UDP datagram of 8 + 16 bytes split in two: offset 0 (MF) with 16 bytes, offset 16 with 8.
    static let first = ethernetIPv4 + "45000024 abcd2000 40110000 c0a80101 0a000002"
        + "0035 d431 0018 0000 0102030405060708"
    static let second = ethernetIPv4 + "4500001c abcd0002 40110000 c0a80101 0a000002" + "090a0b0c0d0e0f10"

    @Test func twoFragmentsMakeOneUDPDatagram() {
        var dissector = Dissector()
        let (a, _) = dissect(Self.first, with: &dissector)
        #expect(a.layers.contains(.fragment))
        #expect(!a.layers.contains(.udp))
        let (b, bytes) = dissect(Self.second, with: &dissector)
        #expect(b.layers.isSuperset(of: [.fragment, .reassembled, .udp]))
        #expect(b.sourcePort == 53 && b.udpLength == 24)
        #expect(Array(bytes[b.payload]) == Array(1...16))
        #expect(dissector.fragments.statistics.datagramsReassembled == 1)
    }

    @Test func fragmentsInReverseOrder() {
        var dissector = Dissector()
        _ = dissect(Self.second, with: &dissector)
        let (b, _) = dissect(Self.first, with: &dissector)
        #expect(b.layers.contains(.udp))
    }

    @Test func incompleteDatagramsExpireAndAreCounted() {
        var limits = FragmentLimits()
        limits.timeout = 1_000
        var dissector = Dissector(fragmentLimits: limits)
        _ = dissect(Self.first, with: &dissector, time: 0)
        let (b, _) = dissect(Self.second, with: &dissector, time: 5_000)
        #expect(!b.layers.contains(.udp))
        #expect(dissector.fragments.statistics.datagramsExpired == 1)
    }

    @Test func tooManyDatagramsEvictTheOldest() {
        var limits = FragmentLimits()
        limits.maximumDatagrams = 2
        var dissector = Dissector(fragmentLimits: limits)
        for id in ["0001", "0002", "0003"] {
            _ = dissect(Self.first.replacingOccurrences(of: "abcd", with: id), with: &dissector)
        }
        #expect(dissector.fragments.statistics.datagramsEvicted == 1)
        // Datagram 1 was evicted; its second fragment no longer completes anything.
        let (b, _) = dissect(Self.second.replacingOccurrences(of: "abcd", with: "0001"), with: &dissector)
        #expect(!b.layers.contains(.udp))
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        components(separatedBy: target).joined(separator: replacement)
    }
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.range(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}

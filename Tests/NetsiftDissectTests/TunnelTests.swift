import Testing
import NetsiftTestSupport
import NetsiftCapture
@testable import NetsiftDissect

/// Tunnels built byte by byte from their RFCs: each is opened, the summary describes the packet
/// inside, and the tunnel's identity is kept.
@Suite struct TunnelTests {
    /// Dissects `frame` (Ethernet) with the given tunnel ports.
    static func dissect(_ frame: [UInt8], ports: TunnelPorts = TunnelPorts()) -> PacketSummary {
        var dissector = Dissector(tunnelPorts: ports)
        var result: PacketSummary?
        frame.withUnsafeBytes { raw in
            let packet = CapturedPacket(bytes: raw.bytes, originalLength: frame.count, timestamp: 0, interface: 0,
                                        linkType: .ethernet)
            dissector.dissect(packet) { summary, _ in result = summary }
        }
        return result!
    }

    // The pods' packet: 10.244.1.5:43210 -> 10.244.2.7:80, a SYN.
    static let pod1: UInt32 = 0x0AF4_0105, pod2: UInt32 = 0x0AF4_0207
    static let podSYN = Build.ipv4(pod1, pod2, protocol: 6, Build.tcp(43210, 80, seq: 1000, flags: Build.syn))
    // The nodes: 192.168.0.1 -> 192.168.0.2.
    static let node1: UInt32 = 0xC0A8_0001, node2: UInt32 = 0xC0A8_0002

    static func expectPodSYN(_ s: PacketSummary) {
        #expect(s.problem == nil)
        #expect(s.isTCP && !s.isUDP)
        #expect(s.source.description == "10.244.1.5" && s.destination.description == "10.244.2.7")
        #expect(s.sourcePort == 43210 && s.destinationPort == 80 && s.sequenceNumber == 1000 && s.tcpFlags == [.syn])
    }

    /// RFC 7348 §5: flags 0x08 (VNI valid), reserved, VNI 42, reserved; then the inner Ethernet frame.
    static func vxlan(vni: UInt32, _ inner: [UInt8]) -> [UInt8] {
        [0x08, 0, 0, 0] + Build.be32(vni << 8) + inner
    }

    @Test func vxlanOnIANAPortCarriesTheInnerTCPSegment() {
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(51000, 4789, Self.vxlan(vni: 42, Build.ethernet(0x0800, Self.podSYN)))))
        let s = Self.dissect(frame)
        Self.expectPodSYN(s)
        let e = try! #require(s.encapsulation)
        #expect(e.kind == .vxlan && e.vxlanVNI == 42 && e.identifier == 42 && e.depth == 1)
        #expect(e.outerSource.description == "192.168.0.1" && e.outerDestination.description == "192.168.0.2")
        #expect(e.outerSourcePort == 51000 && e.outerDestinationPort == 4789)
        #expect(e.outerLayers.isSuperset(of: [.ethernet, .ipv4, .udp]))
        #expect(e.outerIPLength == 20 + 8 + 8 + 14 + 40 && e.underlayIPLength == e.outerIPLength)
        #expect(s.layers.isSuperset(of: [.ethernet, .ipv4, .tcp]) && !s.layers.contains(.udp))
    }

    @Test func linuxVXLANPortAndDecodeAsPorts() {
        let on8472 = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(40000, 8472, Self.vxlan(vni: 1, Build.ethernet(0x0800, Self.podSYN)))))
        #expect(Self.dissect(on8472).encapsulation?.kind == .vxlan)
        let on9999 = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(40000, 9999, Self.vxlan(vni: 7, Build.ethernet(0x0800, Self.podSYN)))))
        #expect(Self.dissect(on9999).encapsulation == nil)
        let s = Self.dissect(on9999, ports: TunnelPorts(vxlan: [9999])!)
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.vxlanVNI == 7)
        #expect(TunnelPorts(vxlan: Array(1...9)) == nil)
    }

    @Test func aServicePortOnTheLowSideWins() {
        // A DNS query from port 4789 to 53 is DNS, as Wireshark tries the lower port first.
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(4789, 53, [UInt8](repeating: 0, count: 12))))
        let s = Self.dissect(frame)
        #expect(s.encapsulation == nil && s.isUDP && s.destinationPort == 53)
    }

    @Test func plainPathAndPlainFlowLeaveTunnelPortsAlone() {
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(51000, 4789, Self.vxlan(vni: 42, Build.ethernet(0x0800, Self.podSYN)))))
        frame.withUnsafeBytes { raw in
            var summary = PacketSummary()
            #expect(!Dissector.dissectPlain(raw.bytes, wire: frame.count, tunnelPorts: TunnelPorts(), into: &summary))
            let packet = CapturedPacket(bytes: raw.bytes, originalLength: frame.count, timestamp: 0, interface: 0,
                                        linkType: .ethernet)
            #expect(Dissector().plainFlow(packet) == nil)
        }
    }

    /// RFC 8926 §3.4: version 0, options length 2 words, O/C clear, protocol 0x6558, VNI 10; one
    /// option of class 0x0102, type 0x80, 1 word of data.
    @Test func geneveWithAnOption() {
        let option: [UInt8] = [0x01, 0x02, 0x80, 0x01, 0xDE, 0xAD, 0xBE, 0xEF]
        let geneve: [UInt8] = [0x02, 0x00, 0x65, 0x58] + Build.be32(10 << 8) + option
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(50000, 6081, geneve + Build.ethernet(0x0800, Self.podSYN))))
        let s = Self.dissect(frame)
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.kind == .geneve && s.encapsulation?.geneveVNI == 10)
        #expect(s.encapsulation?.geneveOptionCount == 1)
    }

    @Test func geneveOptionPastItsHeaderIsMalformed() {
        // Options length 1 word, but the option says it holds 2 more.
        let geneve: [UInt8] = [0x01, 0x00, 0x65, 0x58] + Build.be32(10 << 8) + [0x01, 0x02, 0x80, 0x02]
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(50000, 6081, geneve + Build.ethernet(0x0800, Self.podSYN))))
        let s = Self.dissect(frame)
        #expect(s.problem?.layer == .geneve && s.problem?.isMalformed == true)
        #expect(s.isUDP && s.encapsulation == nil)
    }

    /// RFC 2890: K and S set, protocol 0x0800, key 0x02000000, sequence 7.
    @Test func greWithKeyAndSequenceCarryingIPv4() {
        let gre: [UInt8] = [0x30, 0x00, 0x08, 0x00] + Build.be32(0x0200_0000) + Build.be32(7)
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47, gre + Self.podSYN))
        let s = Self.dissect(frame)
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.kind == .gre && s.encapsulation?.greKey == 0x0200_0000 && s.encapsulation?.greSequence == 7)
        #expect(s.layers.contains(.ipv4) && !s.layers.contains(.ethernet))
    }

    /// Transparent Ethernet bridging (0x6558), as NVGRE (RFC 7637: K set, VSID 0x1234 and flow id 0).
    @Test func nvgreBridgesEthernet() {
        let gre: [UInt8] = [0x20, 0x00, 0x65, 0x58] + Build.be32(0x0012_3400)
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47,
                                                      gre + Build.ethernet(0x0800, Self.podSYN)))
        let s = Self.dissect(frame)
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.greKey == 0x0012_3400 && s.layers.contains(.ethernet))
    }

    @Test func erspanTypesIAndIIAndIII() {
        let mirrored = Build.ethernet(0x0800, Self.podSYN)
        // Type I: GRE 0x88BE without a sequence number, the frame right after.
        let typeI = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47,
                                                                   [0x00, 0x00, 0x88, 0xBE] + mirrored)))
        Self.expectPodSYN(typeI)
        #expect(typeI.encapsulation?.kind == .erspan && typeI.encapsulation?.erspanVersion == 0)
        #expect(typeI.encapsulation?.kinds.contains(.gre) == true && typeI.encapsulation?.depth == 2)
        // Type II: S set, sequence 1; version 1, VLAN 0, span id 101, index 0.
        let typeII: [UInt8] = [0x10, 0x00, 0x88, 0xBE] + Build.be32(1) + [0x10, 0x00, 0x00, 101, 0, 0, 0, 0]
        let second = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47, typeII + mirrored)))
        Self.expectPodSYN(second)
        #expect(second.encapsulation?.erspanVersion == 1 && second.encapsulation?.erspanSpanID == 101)
        // Type III: version 2, span 300 (0x12C); timestamp; SGT 0, frame type 0 (Ethernet), O clear.
        let typeIIIHeader: [UInt8] = [0x20, 0x00, 0x01, 0x2C] + Build.be32(12345) + [0, 0, 0, 0]
        let third = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47,
            [0x10, 0x00, 0x22, 0xEB] + Build.be32(1) + typeIIIHeader + mirrored)))
        Self.expectPodSYN(third)
        #expect(third.encapsulation?.erspanVersion == 2 && third.encapsulation?.erspanSpanID == 300)
        // Frame type 7 (not Ethernet): the mirrored bytes are left alone.
        let vendor: [UInt8] = [0x20, 0x00, 0x01, 0x2C] + Build.be32(12345) + [0, 0, 0x1C, 0x00]
        let seventh = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 47,
            [0x10, 0x00, 0x22, 0xEB] + Build.be32(1) + vendor + mirrored)))
        #expect(seventh.problem == nil && seventh.encapsulation?.kind == .erspan && seventh.layers.isEmpty)
    }

    @Test func ipInIPAndSixInFour() {
        let fourInFour = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 4, Self.podSYN)))
        Self.expectPodSYN(fourInFour)
        #expect(fourInFour.encapsulation?.kind == .ipInIP && fourInFour.encapsulation?.identifier == nil)
        let inner6 = Build.ipv6(1, 2, nextHeader: 6, Build.tcp(43210, 80, seq: 1000, flags: Build.syn))
        let sixInFour = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 41, inner6)))
        #expect(sixInFour.ipVersion == 6 && sixInFour.isTCP && sixInFour.source.description == "2001:db8::1")
        #expect(sixInFour.encapsulation?.outerSource.description == "192.168.0.1")
        let fourInSix = Self.dissect(Build.ethernet(0x86DD, Build.ipv6(1, 2, nextHeader: 4, Self.podSYN)))
        Self.expectPodSYN(fourInSix)
        #expect(fourInSix.encapsulation?.outerSource.description == "2001:db8::1")
    }

    /// RFC 3032: two labels (16 then 29, bottom of stack), then IPv4 guessed from its nibble.
    @Test func mplsStackThenGuessedIPv4() {
        let labels = Build.be32(16 << 12 | 64) + Build.be32(29 << 12 | 0x100 | 64)
        let s = Self.dissect(Build.ethernet(0x8847, labels + Self.podSYN))
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.kind == .mpls && s.encapsulation?.mplsLabel == 29 && s.encapsulation?.mplsStackDepth == 2)
        #expect(s.encapsulation?.outerSource == .zero)
        // A stack that never ends is stopped at the limit.
        let endless = (0..<12).flatMap { _ in Build.be32(16 << 12 | 64) }
        let long = Self.dissect(Build.ethernet(0x8847, endless + Self.podSYN))
        #expect(long.problem == DissectError(.mpls, .chainTooLong(limit: MPLSLabel.maximumStackDepth)))
    }

    /// TS 29.281: version 1, PT 1, E set; G-PDU; TEID 0xB2B7; sequence, N-PDU, next type 0x85 (PDU
    /// session container, 1 word), then the user's IPv4 packet.
    @Test func gtpUWithAnExtensionHeader() {
        let container: [UInt8] = [0x01, 0x00, 0x01, 0x00]
        let body = [0x00, 0x00, 0x00, 0x85] + container + Self.podSYN
        let gtp: [UInt8] = [0x34, 0xFF] + Build.be16(UInt16(body.count)) + Build.be32(0xB2B7) + body
        let s = Self.dissect(Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
                                                              Build.udp(2152, 2152, gtp))))
        Self.expectPodSYN(s)
        #expect(s.encapsulation?.kind == .gtpU && s.encapsulation?.gtpTEID == 0xB2B7)
    }

    @Test func nestingStopsAtTheLimit() {
        var packet = Self.podSYN
        for _ in 0..<(Encapsulation.maximumDepth + 1) {
            packet = Build.ipv4(Self.node1, Self.node2, protocol: 4, packet)
        }
        let s = Self.dissect(Build.ethernet(0x0800, packet))
        #expect(s.problem == DissectError(.ipv4, .chainTooLong(limit: Encapsulation.maximumDepth)))
        #expect(s.encapsulation?.depth == UInt8(Encapsulation.maximumDepth))
        // Three VXLANs, one in another, are followed to the DNS query inside.
        var nested = Build.ipv4(Self.pod1, Self.pod2, protocol: 17, Build.udp(5000, 53, [UInt8](repeating: 0, count: 12)))
        for vni in [3, 2, 1] as [UInt32] {
            nested = Build.ipv4(Self.node1, Self.node2, protocol: 17,
                                Build.udp(40000, 4789, Self.vxlan(vni: vni, Build.ethernet(0x0800, nested))))
        }
        let triple = Self.dissect(Build.ethernet(0x0800, nested))
        #expect(triple.problem == nil && triple.isUDP && triple.destinationPort == 53)
        #expect(triple.encapsulation?.depth == 3 && triple.encapsulation?.vxlanVNI == 3)
    }

    @Test func everyTruncationOfATunnelIsReportedNotCrashed() {
        let frame = Build.ethernet(0x0800, Build.ipv4(Self.node1, Self.node2, protocol: 17,
            Build.udp(51000, 4789, Self.vxlan(vni: 42, Build.ethernet(0x0800, Self.podSYN)))))
        for length in 0..<frame.count {
            let cut = Array(frame.prefix(length))
            var dissector = Dissector()
            cut.withUnsafeBytes { raw in
                // Captured short of what the headers say: a snaplen cut, never a crash.
                let packet = CapturedPacket(bytes: raw.bytes, originalLength: frame.count, timestamp: 0, interface: 0,
                                            linkType: .ethernet)
                dissector.dissect(packet) { summary, _ in
                    if length < frame.count - 20 { #expect(!(summary.isTCP && summary.problem == nil)) }
                }
            }
        }
    }

    /// Every byte of the headers of each tunnel capture's first frames set to values that matter
    /// (0, 0xFF, a flag flipped, a length nudged), and every truncation: the walk ends, reports what
    /// it must, and never crashes or loops (the depth and chain limits bound it).
    @Test func mutatedTunnelFramesNeverCrash() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var samples: [[UInt8]] = []
        for name in Corpus.tunnelCaptureNames {
            var reader = try CaptureReader(path: Corpus.path(name)!)
            var taken = 0
            _ = reader.forEachPacket { packet in
                guard taken < 3 else { return }
                taken += 1
                samples.append((0..<packet.bytes.byteCount).map { packet.bytes.u8($0) })
            }
        }
        #expect(samples.count >= 30, "only \(samples.count) tunnel frames")
        var dissected = 0
        var dissector = Dissector(tunnelPorts: TunnelPorts(vxlan: [8472])!)
        func run(_ frame: [UInt8], wire: Int) {
            frame.withUnsafeBytes { raw in
                let packet = CapturedPacket(bytes: raw.bytes, originalLength: wire, timestamp: 0, interface: 0,
                                            linkType: .ethernet)
                dissector.dissect(packet) { summary, bytes in
                    dissected += 1
                    #expect(Int(summary.encapsulation?.depth ?? 0) <= Encapsulation.maximumDepth)
                    #expect(summary.payload.upperBound <= bytes.byteCount && summary.transportHeader.upperBound <= bytes.byteCount)
                }
            }
        }
        for original in samples {
            for length in stride(from: 0, to: original.count, by: 3) { run(Array(original.prefix(length)), wire: original.count) }
            for position in 0..<min(original.count, 160) {
                for value in [0, 0xFF, original[position] ^ 0x80, original[position] &+ 1] as [UInt8] {
                    var mutated = original
                    mutated[position] = value
                    run(mutated, wire: mutated.count)
                }
            }
        }
        #expect(dissected > 10_000)
    }
}

import Foundation
import Testing
import NetsiftTestSupport
import Netsift

/// The overlay MTU finding over captures built byte by byte: pods on a VXLAN overlay whose MTU is
/// the underlay's. VXLAN over IPv4 adds 50 bytes to every inner IP packet (RFC 7348 §4: outer IPv4
/// 20, UDP 8, VXLAN 8, inner Ethernet 14).
@Suite struct OverlayMTUTests {
    static let node1: UInt32 = 0xC0A8_0001, node2: UInt32 = 0xC0A8_0002
    static let pod1: UInt32 = 0x0AF4_0105, pod2: UInt32 = 0x0AF4_0207

    /// An inner TCP segment between the pods, in VXLAN (VNI 42) between the nodes.
    static func vxlan(_ fromClient: Bool, seq: UInt32, ack: UInt32, flags: UInt8, payload: Int = 0) -> [UInt8] {
        let tcp = Build.tcp(fromClient ? 43210 : 80, fromClient ? 80 : 43210, seq: seq, ack: ack, flags: flags,
                            [UInt8](repeating: 0x41, count: payload))
        let inner = Build.ipv4(fromClient ? pod1 : pod2, fromClient ? pod2 : pod1, protocol: 6, tcp)
        let vxlan: [UInt8] = [0x08, 0, 0, 0] + Build.be32(42 << 8) + Build.ethernet(0x0800, inner)
        return Build.ethernet(0x0800, Build.ipv4(fromClient ? node1 : node2, fromClient ? node2 : node1, protocol: 17,
                                                 Build.udp(51000, 4789, vxlan)))
    }

    @Test func largeSegmentsLostInTheTunnelAreAnOverlayMTUProblem() throws {
        // Handshake, a small request that is acknowledged, then a 1,460-byte answer (an inner packet
        // of 1,500 bytes: 1,550 on the underlay) sent five times and never acknowledged.
        var frames: [[UInt8]] = [
            Self.vxlan(true, seq: 1000, ack: 0, flags: Build.syn),
            Self.vxlan(false, seq: 5000, ack: 1001, flags: Build.syn | Build.ack),
            Self.vxlan(true, seq: 1001, ack: 5001, flags: Build.ack),
            Self.vxlan(true, seq: 1001, ack: 5001, flags: Build.ack | Build.psh, payload: 100),
            Self.vxlan(false, seq: 5001, ack: 1101, flags: Build.ack),
        ]
        for _ in 0..<5 { frames.append(Self.vxlan(false, seq: 5001, ack: 1101, flags: Build.ack, payload: 1460)) }
        let url = try Build.pcapFile(count: frames.count) { (frames[$0], UInt32(1_700_000_000 + $0), 0) }
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try Analysis.analyze(path: url.path)
        let finding = try #require(result.findings.first { $0.kind == .overlayMTU })
        #expect(finding.severity == .error)
        #expect(finding.facts["overhead"] == .int(50))
        #expect(finding.facts["largest_inner_packet"] == .int(1500))
        #expect(finding.facts["recommended_inner_mtu"] == .int(1450))
        #expect(finding.facts["tunnel"] == .string("VXLAN"))
        #expect(finding.summary.contains("the inner MTU must be 1,450"))
        #expect(!result.findings.contains { $0.kind == .mtuBlackHole }, "reported once, as the overlay's")
    }

    @Test func aConversationThatFitsMakesNoFinding() throws {
        let frames: [[UInt8]] = [
            Self.vxlan(true, seq: 1000, ack: 0, flags: Build.syn),
            Self.vxlan(false, seq: 5000, ack: 1001, flags: Build.syn | Build.ack),
            Self.vxlan(true, seq: 1001, ack: 5001, flags: Build.ack),
            Self.vxlan(false, seq: 5001, ack: 1001, flags: Build.ack, payload: 1400),
            Self.vxlan(true, seq: 1001, ack: 6401, flags: Build.ack),
        ]
        let url = try Build.pcapFile(count: frames.count) { (frames[$0], UInt32(1_700_000_000 + $0), 0) }
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try Analysis.analyze(path: url.path)
        #expect(!result.findings.contains { $0.kind == .overlayMTU })
    }
}

import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftTestSupport

/// Per frame, the protocol names tshark would list in `frame.protocols` for the layers we dissect.
/// A tunneled packet counts its outer layers and its tunnels too, as tshark lists every layer.
func wiresharkProtocols(_ s: PacketSummary) -> Set<String> {
    var names: Set<String> = []
    let layers = s.layers.union(s.encapsulation?.outerLayers ?? [])
    for kind in TunnelKind.allCases where s.encapsulation?.kinds.contains(kind) == true { names.insert(kind.name) }
    if layers.contains(.ethernet) { names.insert("eth") }
    if layers.contains(.vlan) { names.insert("vlan") }
    if layers.contains(.linuxSLL) || layers.contains(.linuxSLL2) { names.insert("sll") }
    if layers.contains(.loopback) { names.insert("null") }
    // tshark names LINKTYPE_RAW's layer "raw"; LINKTYPE_IPV4/IPV6 go straight to ip/ipv6.
    if layers.contains(.rawIP) && s.linkType == .raw { names.insert("raw") }
    if layers.contains(.ipv4) || layers.contains(.embeddedIPv4) { names.insert("ip") }
    if layers.contains(.ipv6) || layers.contains(.embeddedIPv6) { names.insert("ipv6") }
    if layers.contains(.tcp) || layers.contains(.embeddedTCP) { names.insert("tcp") }
    if layers.contains(.udp) || layers.contains(.embeddedUDP) { names.insert("udp") }
    if layers.contains(.icmp) { names.insert("icmp") }
    if layers.contains(.icmpv6) { names.insert("icmpv6") }
    return names
}

struct DissectedCapture {
    var counts: [String: Int] = [:]
    var malformed: [Int] = []
    var frames = 0

    init(path: String) throws {
        var reader = try CaptureReader(path: path)
        var dissector = Dissector()
        var counts: [String: Int] = [:]
        var malformed: [Int] = []
        var frame = 0
        _ = reader.forEachPacket { packet in
            frame += 1
            dissector.dissect(packet) { summary, bytes in
                for name in wiresharkProtocols(summary) { counts[name, default: 0] += 1 }
                if let problem = summary.problem, problem.isMalformed {
                    malformed.append(frame)
                } else if summary.isUDP, summary.payloadWireLength > 0,
                          let flavor = DNSFlavor(sourcePort: summary.sourcePort, destinationPort: summary.destinationPort),
                          DNSMessage(bytes.extracting(summary.payload), wireLength: summary.payloadWireLength,
                                     flavor: flavor).isMalformed {
                    // tshark's DNS dissector throws on a malformed message: the frame is malformed.
                    malformed.append(frame)
                }
            }
        }
        self.counts = counts
        self.malformed = malformed
        frames = frame
    }
}

@Suite struct DissectCorpusTests {
    static let compared = ["eth", "vlan", "sll", "null", "raw", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6",
                           "vxlan", "geneve", "gre", "erspan", "mpls", "gtp", "ip_in_ip"]

    /// Frames containing each protocol, and the frames tshark marks malformed, agree with the oracle.
    @Test func protocolFrameCountsAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var agreeing = 0, total = 0
        for name in Corpus.captureNames + Corpus.tunnelCaptureNames {
            guard let oracle = Corpus.oracle(name), let expected = oracle["protocol_frame_counts"] as? [String: Int]
            else { continue }
            let ours = try DissectedCapture(path: Corpus.path(name)!)
            for proto in Self.compared {
                total += 1
                let field = "protocol_frame_counts.\(proto)"
                if ours.counts[proto, default: 0] == expected[proto, default: 0] { agreeing += 1; continue }
                if let reason = Allowlist.reason(name, field) {
                    print("allowlisted \(name) \(field): ours \(ours.counts[proto, default: 0]), tshark \(expected[proto, default: 0]): \(reason)")
                    continue
                }
                Issue.record("\(name): frames with \(proto): ours \(ours.counts[proto, default: 0]), tshark \(expected[proto, default: 0])")
            }
            total += 1
            // A frame tshark finds malformed where it shows a TLS hello or alert is judged by the TLS
            // parser over the reassembled stream: TLSCorpusTests compares those frames.
            let tls = oracle["tls"] as? [String: Any] ?? [:]
            let tlsFrames = Set(["client_hellos", "server_hellos", "alerts"].flatMap { key in
                (tls[key] as? [[String: Any]] ?? []).compactMap { $0["frame"] as? Int }
            })
            let expectedMalformed = (oracle["malformed_frames"] as? [Int] ?? []).filter {
                !tlsFrames.contains($0) || ours.malformed.contains($0)
            }
            if ours.malformed == expectedMalformed {
                agreeing += 1
            } else if let reason = Allowlist.reason(name, "malformed_frames") {
                print("allowlisted \(name) malformed_frames: ours \(ours.malformed), tshark \(expectedMalformed): \(reason)")
            } else {
                Issue.record("\(name): malformed frames: ours \(ours.malformed), tshark \(expectedMalformed)")
            }
        }
        print("dissect corpus: \(agreeing) of \(total) protocol counts and malformed-frame lists agree with tshark")
        // The oracle holds 2,109 of these (97 captures and 14 tunnel captures, 19 each): far fewer
        // means its rows were not found.
        #expect(total >= 2_000, "only \(total) oracle counts compared")
    }
}

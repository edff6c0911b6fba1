import Foundation
import Testing
import NetsiftCapture
@testable import NetsiftDissect
import NetsiftTestSupport

/// `Dissector.dissectPlain` (the fixed-offset path most packets take) must fill the summary exactly
/// as the general layer-by-layer walk does, which the corpus tests check against tshark. Compared
/// field by field (the summaries' full reflection) on every Ethernet packet of the corpus and the
/// fixtures, and on packets with their header bytes and lengths mutated.
@Suite struct PlainPathTests {
    /// The general walk's summary of a frame, as `dissect` makes it when the plain path declines.
    static func general(_ frame: RawSpan, wire: Int) -> PacketSummary {
        var dissector = Dissector()
        var summary = PacketSummary()
        summary.linkType = .ethernet
        do throws(DissectError) {
            _ = try Dissector.dissectFrame(frame, wire: wire, time: 0, ports: dissector.tunnelPorts,
                                           fragments: &dissector.fragments, into: &summary)
        } catch {
            summary.problem = error
        }
        return summary
    }

    /// Whether the plain path took the frame; records a difference from the general walk, or a
    /// summary it touched and then declined.
    @discardableResult
    static func compare(_ frame: RawSpan, wire: Int, _ label: @autoclosure () -> String) -> Bool {
        var plain = PacketSummary()
        plain.linkType = .ethernet
        guard Dissector.dissectPlain(frame, wire: wire, tunnelPorts: TunnelPorts(), into: &plain) else {
            var untouched = PacketSummary()
            untouched.linkType = .ethernet
            #expect(String(reflecting: plain) == String(reflecting: untouched), "\(label()): declined but changed the summary")
            return false
        }
        let expected = String(reflecting: general(frame, wire: wire))
        let actual = String(reflecting: plain)
        #expect(actual == expected, "\(label()): plain path \(actual)\ngeneral walk \(expected)")
        return true
    }

    static var captures: [String] { Corpus.fixturesAndCaptures }

    /// `Dissector.plainFlow` (how a sharded worker skips another's packets unread) names the flow
    /// that the full dissection finds, whenever it names one and the dissection finds a TCP or UDP
    /// flow (a transport header the tracker follows: not one whose data offset is impossible); and
    /// it names one for every plain IPv4 packet (the shortest included).
    @Test func plainFlowAgreesWithTheDissection() throws {
        var named = 0, short = 0
        for path in Self.captures {
            var reader = try CaptureReader(path: path)
            var dissector = Dissector()
            var frame = 0
            _ = reader.forEachPacket { packet in
                frame += 1
                let flow = dissector.plainFlow(packet)
                dissector.dissect(packet) { summary, _ in
                    if summary.isTCP || summary.isUDP, !summary.transportHeader.isEmpty, let flow {
                        named += 1
                        let found = PlainFlow(source: summary.source, destination: summary.destination,
                                              sourcePort: summary.sourcePort, destinationPort: summary.destinationPort,
                                              ipProtocol: summary.ipProtocol)
                        #expect(flow == found, "\(path) frame \(frame)")
                    }
                    if packet.linkType == .ethernet, summary.ipVersion == 4, summary.ipHeader.lowerBound == 14,
                       !summary.layers.contains(.ipOptions), !summary.layers.contains(.fragment),
                       summary.isTCP || summary.isUDP, packet.bytes.byteCount < 58 {
                        short += 1
                        #expect(flow != nil, "\(path) frame \(frame): a plain IPv4 packet of \(packet.bytes.byteCount) bytes")
                    }
                }
            }
        }
        print("plainFlow: \(named) flows named, \(short) of them in frames under 58 bytes")
        // The fixtures alone hold 3,220 such flows and 3 short frames; the corpus adds thousands.
        #expect(named > (Corpus.directory == nil ? 3_000 : 5_000) && short > 0)
    }

    @Test func plainPathAgreesWithTheGeneralWalkOnEveryPacket() throws {
        if Corpus.directory == nil { print("⚠︎ \(Corpus.missingMessage) (fixtures only)") }
        var taken = 0, declined = 0, ipv6 = 0
        for path in Self.captures {
            var reader = try CaptureReader(path: path)
            var frame = 0
            _ = reader.forEachPacket { packet in
                frame += 1
                guard packet.linkType == .ethernet else { return }
                if Self.compare(packet.bytes, wire: packet.originalLength, "\(path) frame \(frame)") {
                    taken += 1
                    if packet.bytes.be16(12) == EtherType.ipv6 { ipv6 += 1 }
                } else {
                    declined += 1
                }
            }
        }
        print("plain path: \(taken) packets taken (\(ipv6) IPv6), \(declined) left to the general walk")
        // The fixtures alone: 3,220 taken (15 IPv6), 44 declined; the corpus adds thousands.
        if Corpus.directory == nil {
            #expect(taken > 3_000 && ipv6 > 10 && declined > 40)
        } else {
            #expect(taken > 5_000 && ipv6 > 100 && declined > 100)
        }
    }

    /// Every header byte of a TCP and a UDP packet (IPv4 and IPv6) set to values that cross the
    /// checks, and every capture and wire length around the headers.
    @Test func mutatedHeadersAgree() throws {
        var samples: [[UInt8]] = []
        var wanted: Set<String> = ["4-6", "4-17", "6-6", "6-17"]
        for path in Self.captures where !wanted.isEmpty {
            var reader = try CaptureReader(path: path)
            _ = reader.forEachPacket { packet in
                var summary = PacketSummary()
                summary.linkType = packet.linkType
                guard packet.linkType == .ethernet, !packet.isCut,
                      Dissector.dissectPlain(packet.bytes, wire: packet.originalLength, tunnelPorts: TunnelPorts(), into: &summary),
                      summary.payloadWireLength > 0 || summary.tcpOptions.optionCount > 0,
                      wanted.remove("\(summary.ipVersion)-\(summary.ipProtocol)") != nil else { return }
                samples.append((0..<packet.bytes.byteCount).map { packet.bytes.u8($0) })
            }
        }
        // A kind no capture held (without the corpus, the fixtures have no IPv6 UDP with a payload):
        // a packet built from the RFC layouts, which the plain path must take.
        for kind in wanted.sorted() {
            let payload = Array("sample".utf8)
            let transport = kind.hasSuffix("-6") ? Build.tcp(40_000, 80, seq: 1, ack: 1, flags: Build.ack | Build.psh, payload)
                                                 : Build.udp(40_000, 53, payload)
            let number: UInt8 = kind.hasSuffix("-6") ? 6 : 17
            let frame = kind.hasPrefix("4-") ? Build.ethernet(0x0800, Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: number, transport))
                                             : Build.ethernet(0x86DD, Build.ipv6(1, 2, nextHeader: number, transport))
            let took = frame.withUnsafeBytes { raw in Self.compare(raw.bytes, wire: frame.count, "hand-built \(kind)") }
            #expect(took, "the plain path declined a hand-built \(kind) packet")
            samples.append(frame)
        }
        var taken = 0, declined = 0
        for original in samples {
            let headers = min(original.count, 14 + 40 + 60)
            for offset in 0..<headers {
                for value: UInt8 in [0x00, 0x01, 0x05, 0x06, 0x11, 0x45, 0x46, 0x60, 0x7F, 0x80, 0xFF,
                                     original[offset] ^ 0x01, original[offset] &+ 1, original[offset] &- 1] {
                    var bytes = original
                    bytes[offset] = value
                    let took = bytes.withUnsafeBytes { raw in
                        Self.compare(raw.bytes, wire: bytes.count, "byte \(offset) = \(value) of \(original.prefix(64))")
                    }
                    if took { taken += 1 } else { declined += 1 }
                }
            }
            for length in 0...min(original.count, headers + 8) {
                for wire in [length, length + 1, original.count, original.count + 100] {
                    let took = original.withUnsafeBytes { raw in
                        Self.compare(raw.bytes.extracting(first: length), wire: wire,
                                     "\(length) bytes captured of \(wire) on the wire, \(original.prefix(64))")
                    }
                    if took { taken += 1 } else { declined += 1 }
                }
            }
        }
        print("plain path, mutated packets: \(taken) taken, \(declined) declined")
        #expect(taken > 1_000 && declined > 1_000)
    }
}

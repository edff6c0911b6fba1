import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftTestSupport

/// The DNS messages of one capture that need no reassembly: UDP payloads (IP fragments reassembled
/// by the dissector) on ports 53, 5353 and 5355.
struct DNSCapture {
    var messages: [Int: DNSMessage] = [:]
    /// Frames carrying each flavor, as tshark counts frames with dns, mdns and llmnr.
    var frameCounts: [DNSFlavor: Int] = [:]
    /// True when TCP segments on a DNS port carry data: their messages need stream reassembly.
    var hasTCPMessages = false

    init(path: String) throws {
        var reader = try CaptureReader(path: path)
        var dissector = Dissector()
        var messages: [Int: DNSMessage] = [:]
        var counts: [DNSFlavor: Int] = [:]
        var tcp = false
        var frame = 0
        _ = reader.forEachPacket { packet in
            frame += 1
            dissector.dissect(packet) { summary, bytes in
                guard let flavor = DNSFlavor(sourcePort: summary.sourcePort, destinationPort: summary.destinationPort),
                      summary.payloadWireLength > 0 else { return }
                if summary.isTCP { tcp = true }
                guard summary.isUDP else { return }
                counts[flavor, default: 0] += 1
                messages[frame] = DNSMessage(bytes.extracting(summary.payload), wireLength: summary.payloadWireLength,
                                             flavor: flavor)
            }
        }
        self.messages = messages
        frameCounts = counts
        hasTCPMessages = tcp
    }
}

@Suite struct DNSCorpusTests {
    /// Every UDP DNS message the oracle lists agrees with ours field by field, we find no message it
    /// does not list (a message too short for a header has no fields there), and the frames
    /// carrying DNS, mDNS and LLMNR are counted alike.
    @Test func udpMessagesAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var agree: [String: Int] = [:], total: [String: Int] = [:]
        var messages = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name) else { continue }
            let capture = try DNSCapture(path: Corpus.path(name)!)
            let all = (oracle["dns"] as? [String: Any])?["messages"] as? [[String: Any]] ?? []
            let expected = all.filter { $0["transport"] as? String == "udp" }
            var listed: Set<Int> = []
            for message in expected {
                let frame = message["frame"] as! Int
                listed.insert(frame)
                guard let ours = capture.messages[frame] else {
                    Issue.record("\(name) frame \(frame): tshark has a DNS message, we parsed none")
                    continue
                }
                messages += 1
                let fields = DNSOracle.fields(of: ours)
                for field in DNSOracle.compared(ours: fields, theirs: message) {
                    total[field, default: 0] += 1
                    if DNSOracle.same(fields[field], message[field]) {
                        agree[field, default: 0] += 1
                    } else if let reason = Allowlist.reason(name, "dns.\(field)") {
                        print("allowlisted \(name) frame \(frame) \(field): \(reason)")
                    } else {
                        Issue.record("\(name) frame \(frame) \(field): ours \(fields[field] ?? "nil"), tshark \(message[field] ?? "nil")")
                    }
                }
            }
            for (frame, message) in capture.messages where message.flavor == .dns && !listed.contains(frame) {
                if message.problem?.section == .header { continue }
                Issue.record("\(name) frame \(frame): we parsed a DNS message tshark does not list: \(message.summaryLine)")
            }
            let counts = oracle["protocol_frame_counts"] as? [String: Int] ?? [:]
            // tshark counts frames with DNS over TCP (port 53 or DoH) too: those messages are compared
            // through the whole pipeline (DNSPipelineCorpusTests).
            if capture.hasTCPMessages || all.count > expected.count {
                print("\(name): frames not counted here, it carries DNS over TCP or HTTPS")
                continue
            }
            for flavor in [DNSFlavor.dns, .mdns, .llmnr] {
                let key = flavor.rawValue
                total["frames.\(key)", default: 0] += 1
                if capture.frameCounts[flavor, default: 0] == counts[key, default: 0] {
                    agree["frames.\(key)", default: 0] += 1
                } else {
                    Issue.record("\(name): frames with \(key): ours \(capture.frameCounts[flavor, default: 0]), tshark \(counts[key, default: 0])")
                }
            }
        }
        print("dns corpus: \(messages) UDP messages compared with tshark")
        // The oracle holds 106 UDP DNS messages: fewer means its rows were not found.
        #expect(messages >= 106, "only \(messages) oracle messages compared")
        for field in DNSOracle.fields + ["frames.dns", "frames.mdns", "frames.llmnr"] where total[field] != nil {
            print("  \(field): \(agree[field, default: 0]) of \(total[field]!) agree")
        }
    }

    /// mDNS messages (which the oracle does not list field by field) all parse in full, as many
    /// frames as tshark counts; it marks none of them malformed.
    @Test func mdnsMessagesParseWhole() throws {
        guard let path = Corpus.path("dns-mdns.pcap"), let oracle = Corpus.oracle("dns-mdns.pcap"),
              let counts = oracle["protocol_frame_counts"] as? [String: Int] else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let capture = try DNSCapture(path: path)
        #expect(capture.messages.values.filter { $0.flavor == .mdns }.count == counts["mdns"])
        #expect(oracle["malformed_frames"] as? [Int] == [])
        for (frame, message) in capture.messages.sorted(by: { $0.key < $1.key }) {
            #expect(message.problem == nil, "frame \(frame): \(message.summaryLine)")
        }
    }
}

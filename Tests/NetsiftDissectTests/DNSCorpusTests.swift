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

/// The oracle's view of one of our messages, field by field, as `oracle.py` builds it from tshark's
/// `dns.*` fields.
func oracleFields(_ m: DNSMessage) -> [String: Any] {
    func name(_ n: DNSName) -> String {
        switch n.fault {
        case .tooLong: "<Name too long>"
        case .compressionLoop: "<Name contains a pointer that loops>"
        case nil: n.isRoot ? "<Root>" : n.text
        }
    }
    // tshark lists each record's type, and after an NSEC or NSEC3 record the types of its bitmap,
    // under the same field (dns.resp.type).
    var types: [Int] = []
    for record in m.records {
        types.append(Int(record.type))
        switch record.data {
        case .nsec(_, let bitmap): types += bitmap.map(Int.init)
        case .nsec3(let nsec3): types += nsec3.types.map(Int.init)
        default: break
        }
    }
    // The first OPT record anywhere gives dns.rr.udp_payload_size.
    let payloadSize = m.records.first { $0.type == DNSType.opt }.map { Int($0.rclass) }
    var fields: [String: Any] = [
        "id": Int(m.header.id), "is_response": m.header.isResponse, "truncated": m.header.truncated,
        "answer_count": m.header.answerCount, "authority_count": m.header.authorityCount,
        "additional_count": m.header.additionalCount, "rr_types": types,
        // tshark shows the reply code of responses only.
        "rcode": m.header.isResponse ? Int(m.header.rcode) as Any : NSNull(),
        "qname": m.questions.first.map { name($0.name) as Any } ?? NSNull(),
        "qtype": m.questions.first.map { Int($0.type) as Any } ?? NSNull(),
        "edns_udp_payload_size": payloadSize.map { $0 as Any } ?? NSNull(),
    ]
    if m.questions.count > 1 { fields["questions"] = m.questions.map { [name($0.name), Int($0.type)] as [Any] } }
    return fields
}

/// Equality of two JSON-like values (numbers, strings, booleans, null, arrays).
func sameJSON(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil), (is NSNull, nil), (nil, is NSNull), (is NSNull, is NSNull): return true
    case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
    case (let x as Bool, let y as Bool): return x == y
    case (let x as Int, let y as Int): return x == y
    case (let x as String, let y as String): return x == y
    default: return false
    }
}

@Suite struct DNSCorpusTests {
    static let fields = ["id", "is_response", "rcode", "truncated", "qname", "qtype", "questions", "answer_count",
                         "authority_count", "additional_count", "rr_types", "edns_udp_payload_size"]

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
                let fields = oracleFields(ours)
                for field in Self.fields where message.keys.contains(field) || fields.keys.contains(field) {
                    total[field, default: 0] += 1
                    if sameJSON(fields[field], message[field]) {
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
            // tshark counts frames with DNS over TCP (port 53 or DoH) too: those need the stream pipeline.
            if capture.hasTCPMessages || all.count > expected.count {
                print("\(name): frame counts not compared, its TCP messages need the stream pipeline")
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
        for field in Self.fields + ["frames.dns", "frames.mdns", "frames.llmnr"] where total[field] != nil {
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

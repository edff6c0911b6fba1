import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// The frames carrying a TCP segment on a DNS port: DNS over TCP (the oracle also lists DNS over
/// HTTPS, whose messages the HTTP/2 parser hands out, not the DNS stream parser).
func tcpFramesOnDNSPorts(path: String) throws -> Set<Int> {
    var reader = try CaptureReader(path: path)
    var dissector = Dissector()
    var frames: Set<Int> = []
    var frame = 0
    _ = reader.forEachPacket { packet in
        frame += 1
        dissector.dissect(packet) { summary, _ in
            if summary.isTCP && (DNSPorts.contains(summary.sourcePort) || DNSPorts.contains(summary.destinationPort)) {
                frames.insert(frame)
            }
        }
    }
    return frames
}

@Suite struct DNSPipelineCorpusTests {
    /// Every DNS message the oracle lists, over UDP and over TCP (reassembled, several per segment
    /// or one over several), comes out of the whole pipeline at the same frame, in the same order,
    /// over the same transport, and agrees field by field.
    @Test func everyMessageAgreesWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var agree: [String: Int] = [:], total: [String: Int] = [:]
        var compared: [Transport: Int] = [:]
        var overHTTPS = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name),
                  let expected = (oracle["dns"] as? [String: Any])?["messages"] as? [[String: Any]], !expected.isEmpty
            else { continue }
            let path = Corpus.path(name)!
            let run = try PipelineRun(path: path)
            let dnsOverTCP = try tcpFramesOnDNSPorts(path: path)
            var ours: [Int: [(Transport, DNSMessage)]] = [:]
            for event in run.events {
                if case .dns(let message) = event.message {
                    ours[event.context.frame, default: []].append((event.context.transport, message))
                }
            }
            var theirs: [Int: [[String: Any]]] = [:]
            for message in expected { theirs[message["frame"] as! Int, default: []].append(message) }
            for (frame, list) in theirs.sorted(by: { $0.key < $1.key }) {
                if list.first?["transport"] as? String == "tcp" && !dnsOverTCP.contains(frame) {
                    overHTTPS += list.count
                    continue
                }
                let mine = ours[frame] ?? []
                guard mine.count == list.count else {
                    Issue.record("\(name) frame \(frame): tshark has \(list.count) DNS messages, we have \(mine.count)")
                    continue
                }
                for ((transport, message), oracleMessage) in zip(mine, list) {
                    compared[transport, default: 0] += 1
                    total["transport", default: 0] += 1
                    if transport.rawValue == oracleMessage["transport"] as? String {
                        agree["transport", default: 0] += 1
                    } else {
                        Issue.record("\(name) frame \(frame): over \(transport.rawValue), tshark says \(oracleMessage["transport"] ?? "?")")
                    }
                    let fields = DNSOracle.fields(of: message)
                    for field in DNSOracle.compared(ours: fields, theirs: oracleMessage) {
                        total[field, default: 0] += 1
                        if DNSOracle.same(fields[field], oracleMessage[field]) {
                            agree[field, default: 0] += 1
                        } else {
                            Issue.record("\(name) frame \(frame) \(field): ours \(fields[field] ?? "nil"), tshark \(oracleMessage[field] ?? "nil")")
                        }
                    }
                }
            }
            // No message tshark does not list (one too short for a header has no fields there).
            for (frame, list) in ours where theirs[frame] == nil {
                for (_, message) in list where message.flavor == .dns && message.problem?.section != .header {
                    Issue.record("\(name) frame \(frame): a DNS message tshark does not list: \(message.summaryLine)")
                }
            }
        }
        print("dns pipeline corpus: \(compared[.udp, default: 0]) UDP and \(compared[.tcp, default: 0]) TCP messages compared with tshark"
              + " (\(overHTTPS) DNS-over-HTTPS messages left to the HTTP/2 parser)")
        for field in ["transport"] + DNSOracle.fields where total[field] != nil {
            print("  \(field): \(agree[field, default: 0]) of \(total[field]!) agree")
        }
    }
}

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
            if summary.isTCP && DNSFlavor(sourcePort: summary.sourcePort, destinationPort: summary.destinationPort) != nil {
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
        // The oracle holds 106 UDP and 123 TCP DNS messages (72 of the TCP ones inside HTTP/2):
        // fewer means its rows were not found.
        #expect(compared[.udp, default: 0] >= 106 && compared[.tcp, default: 0] >= 51, "\(compared)")
        for field in ["transport"] + DNSOracle.fields where total[field] != nil {
            print("  \(field): \(agree[field, default: 0]) of \(total[field]!) agree")
        }
    }

    /// DNSTransactions over the pipeline's messages pairs queries and responses as the oracle's
    /// messages imply: a response answers the earliest earlier query with the same ID, question
    /// and transport (copies of it are retransmissions), and a truncated UDP answer was retried
    /// when a TCP message with the same question follows it. The oracle has no times, so the
    /// timeout is set long here (with the default 5 s, ipv6-fragmented-dns's query at frame 3 is
    /// unanswered: its copy at frame 5 comes 5.0008 s later and is the one answered).
    @Test func transactionsAgreeWithTheOracle() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var pairs = 0, retries = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name),
                  let listed = (oracle["dns"] as? [String: Any])?["messages"] as? [[String: Any]], !listed.isEmpty
            else { continue }
            let path = Corpus.path(name)!
            let dnsOverTCP = try tcpFramesOnDNSPorts(path: path)
            let messages = listed.filter { $0["transport"] as? String == "udp" || dnsOverTCP.contains($0["frame"] as! Int) }
            func same(_ a: [String: Any], _ b: [String: Any], transport: Bool = true) -> Bool {
                a["id"] as? Int == b["id"] as? Int && DNSOracle.same(a["qname"], b["qname"])
                    && DNSOracle.same(a["qtype"], b["qtype"])
                    && (!transport || a["transport"] as? String == b["transport"] as? String)
            }
            // Expected (query frame, response frame) pairs, and truncated UDP answers with their retry.
            var expectedPairs: Set<[Int]> = [], expectedRetries: [Int: Bool] = [:]
            var answered: Set<Int> = []   // indices of queries already answered
            for (index, message) in messages.enumerated() where message["is_response"] as? Bool == true {
                let frame = message["frame"] as! Int
                // Every copy of the query before the response belongs to this exchange.
                let copies = messages.indices[..<index].filter {
                    messages[$0]["is_response"] as? Bool == false && same(messages[$0], message) && !answered.contains($0)
                }
                if let first = copies.first {
                    answered.formUnion(copies)
                    expectedPairs.insert([messages[first]["frame"] as! Int, frame])
                }
                if message["truncated"] as? Bool == true && message["transport"] as? String == "udp" {
                    expectedRetries[frame] = messages[(index + 1)...].contains {
                        $0["transport"] as? String == "tcp" && DNSOracle.same($0["qname"], message["qname"])
                            && DNSOracle.same($0["qtype"], message["qtype"])
                    }
                }
            }
            var tracker = DNSTransactions(timeout: 60_000_000_000)
            var done: [DNSTransaction] = []
            for event in try PipelineRun(path: path).events {
                guard case .dns(let message) = event.message else { continue }
                let c = event.context
                let (client, server) = message.header.isResponse ? (c.destination, c.source) : (c.source, c.destination)
                tracker.add(message, frame: c.frame, time: c.time, client: client, server: server, transport: c.transport) {
                    done.append($0)
                }
            }
            tracker.finish { done.append($0) }
            let ourPairs = Set(done.filter { $0.outcome == .answered }.map { [$0.queryFrame!, $0.responseFrame!] })
            #expect(ourPairs == expectedPairs, "\(name)")
            var ourRetries: [Int: Bool] = [:]
            for t in done where t.retriedOverTCP != nil { ourRetries[t.responseFrame!] = t.retriedOverTCP }
            #expect(ourRetries == expectedRetries, "\(name)")
            pairs += expectedPairs.count
            retries += expectedRetries.count
        }
        print("dns transactions: \(pairs) query/response pairs and \(retries) truncated UDP answers agree with the oracle")
        #expect(pairs >= 40 && retries > 0, "only \(pairs) pairs and \(retries) retries compared")
    }
}

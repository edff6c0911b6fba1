import Foundation
import Netsift
import NetsiftTestSupport
import Testing

/// The library's three uses, called directly (never through the command line): analyse a file,
/// stream its packets, watch packets as they arrive. Expected values come from the tools that made
/// each fixture (its facts.json) and from `tshark -2` (the corpus oracle).
@Suite struct LibraryTests {
    func fixture(_ name: String) throws -> (path: String, facts: [String: Any]) {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(name)
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        return (folder.appendingPathComponent(facts["capture"] as! String).path, facts)
    }

    @Test func analyseAFileGivesFactsConversationsAndFindings() throws {
        let (path, facts) = try fixture("handshake-failures")
        var conversations: [FlowSummary] = []
        let result = try Analysis.analyze(path: path, conversation: { conversations.append($0) })
        #expect(result.end == .finished)
        #expect(result.report.capture.packets == facts["packet_count"] as? Int)
        #expect(result.report.capture.firstPacket == (facts["first_timestamp_ns"] as? NSNumber)?.int64Value)
        #expect(result.report.capture.lastPacket == (facts["last_timestamp_ns"] as? NSNumber)?.int64Value)
        // Every conversation reaches the callback, numbered as tshark's tcp.stream.
        #expect(conversations.filter { $0.transport == "tcp" }.map(\.stream).sorted()
                == Array(0..<(facts["tcp_streams"] as! Int)))
        // One finding per failed connection, at the server curl reported.
        let cases = try #require(facts["connections"] as? [[String: Any]])
        func server(_ name: String) -> String? { cases.first { $0["case"] as? String == name }?["server"] as? String }
        let endpoints = Dictionary(result.findings.map { ($0.kind, $0.endpoint) }, uniquingKeysWith: { a, _ in a })
        #expect(endpoints[.connectionRefused] == server("closed_port"))
        #expect(endpoints[.synUnanswered] == server("syn_dropped"))
        #expect(endpoints[.synAckUnacknowledged] == server("synack_unacknowledged"))
        #expect(result.verdict != nil)
    }

    @Test func captureReportSaysWhatCapinfosSaid() throws {
        let (path, facts) = try fixture("http-tcp-ns-pcapng")
        let report = try CaptureReport.read(path, filter: nil)
        #expect(report.format == facts["file_type"] as? String)
        #expect(report.packets == facts["packet_count"] as? Int)
        #expect(report.capturedBytes == facts["captured_bytes"] as? Int)
        #expect(report.firstPacketNanoseconds == (facts["first_timestamp_ns"] as? NSNumber)?.int64Value)
        #expect(report.lastPacketNanoseconds == (facts["last_timestamp_ns"] as? NSNumber)?.int64Value)
        #expect(report.complete && report.problem == nil)
    }

    @Test func threadsGiveWhatOneThreadGives() throws {
        let (path, _) = try fixture("tcp-loss-retransmissions")
        var one = AnalysisOptions(), two = AnalysisOptions()
        one.threads = 1
        two.threads = 2
        var flowsOne: [Int] = [], flowsTwo: [Int] = []
        let single = try Analysis.analyze(path: path, options: one, conversation: { flowsOne.append($0.stream) })
        let sharded = try Analysis.analyze(path: path, options: two, conversation: { flowsTwo.append($0.stream) })
        #expect(flowsOne == flowsTwo)
        #expect(try encoded(single.report) == encoded(sharded.report))
        #expect(single.counters.tcpConversations == sharded.counters.tcpConversations)
    }

    @Test func packetStreamCarriesStreamsFlagsAndMessagesAsTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for name in ["tcp-retransmit-fast009.pcap", "tcp-rst-unacked-ooo-snapcut.pcap", "tcp-ssh-dups.pcap",
                     "vlan-syn-retransmit-fast-retrans.pcap", "h2c-continuation.pcap"] {
            let oracle = try #require(Corpus.oracle(name))
            let tcp = try #require(oracle["tcp"] as? [String: Any])
            var options = AnalysisOptions()
            options.decodeAs = DecodeAs(rules: Corpus.decodeAs[name] ?? []) ?? DecodeAs()
            var pipeline = try Pipeline(options: options)
            var reader = try CaptureReader(path: Corpus.path(name)!)
            var flagged: [String: [Int]] = [:]
            var streams: Set<Int> = []
            var frames: [Int] = []
            _ = reader.forEachPacket { packet in
                pipeline.decode(packet) { _, _, details in
                    frames.append(details.frame)
                    guard let conversation = details.conversation, conversation.transport == .tcp else { return }
                    streams.insert(conversation.stream)
                    for (flag, field) in TCPAnalysisFlags.names where conversation.flags.contains(flag) {
                        flagged[field, default: []].append(details.frame)
                    }
                }
            }
            #expect(frames == Array(1...(oracle["packet_count"] as! Int)), "\(name): every frame, in order")
            #expect(streams.count == tcp["stream_count"] as? Int, "\(name)")
            for (field, expected) in tcp["analysis_frames"] as? [String: [Int]] ?? [:] {
                #expect(flagged[field] ?? [] == expected, "\(name) tcp.analysis.\(field)")
                compared += expected.count
            }
        }
        #expect(compared > 400, "only \(compared) flagged frames compared")
    }

    @Test func liveAnalysisReportsNewFindingsOnceAndTheWholeAtTheEnd() throws {
        // Packets fed one by one, as a live capture delivers them.
        let (path, facts) = try fixture("handshake-failures")
        var live = LiveAnalysis(options: AnalysisOptions())
        var reader = try CaptureReader(path: path)
        _ = reader.forEachPacket { live.add($0) }
        let first = live.summarise(nil, elapsed: 1_000_000_000)
        #expect(first.interval.packets == facts["packet_count"] as? Int)
        #expect(!first.findings.isEmpty)
        let second = live.summarise(nil, elapsed: 2_000_000_000)
        #expect(second.findings.isEmpty, "nothing new: \(second.findings.map(\.summary))")
        #expect(second.interval.packetsPerSecond == 0)
    }

    @Test func damagedCaptureIsAnalysedUpToTheDamage() throws {
        let (path, facts) = try fixture("handshake-failures")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Cut inside the last record: its 16-byte header says more bytes than remain.
        bytes.removeLast(10)
        let cut = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-library-cut-\(getpid()).pcap")
        try bytes.write(to: cut)
        defer { try? FileManager.default.removeItem(at: cut) }
        let result = try Analysis.analyze(path: cut.path)
        guard case .damaged(let damage) = result.end else {
            Issue.record("expected damage, got \(result.end)")
            return
        }
        #expect(damage.packetsRead == (facts["packet_count"] as! Int) - 1)
        #expect(result.report.capture.packets == (facts["packet_count"] as! Int) - 1)
        #expect(result.report.capture.damage != nil)
    }

    @Test func badInputsAreErrorsNamingTheFile() throws {
        #expect(throws: CaptureError.self) { try Analysis.analyze(path: "/nonexistent/trace.pcap") }
        let (path, _) = try fixture("handshake-failures")
        var options = AnalysisOptions()
        options.filter = "tcp port"
        #expect(throws: CaptureError.self) { try Analysis.analyze(path: path, options: options) }
        let notCapture = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-not-\(getpid()).pcap")
        try Data("hello, not a capture\n".utf8).write(to: notCapture)
        defer { try? FileManager.default.removeItem(at: notCapture) }
        let result = try Analysis.analyze(path: notCapture.path)
        guard case .rejected(let error) = result.end else {
            Issue.record("expected rejection, got \(result.end)")
            return
        }
        #expect(error.description.contains(notCapture.path))
    }

    func encoded(_ report: AnalysisReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(report)
    }
}

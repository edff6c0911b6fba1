import Foundation
import Testing
import NetsiftTestSupport

@Suite struct FlowsCommandTests {
    /// The conversations `netsift flows --format json` prints for a capture.
    func flows(_ path: String, _ extra: [String] = []) throws -> [[String: Any]] {
        try #require(try CLI.json(["flows", "--format", "json", "--sort", "stream"] + extra + [path]) as? [[String: Any]])
    }

    @Test func tcpConversationsMatchTsharkStreams() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var checked = 0
        for name in ["tcp-retransmit-fast009.pcap", "vlan-syn-retransmit-fast-retrans.pcap", "tcp-syn-refused-rst-ack.pcap",
                     "dns-tcp-multirequest.pcap", "tls12-ecdhe.pcap"] {
            guard let oracle = Corpus.oracle(name), let tcp = oracle["tcp"] as? [String: Any],
                  let streams = tcp["streams"] as? [[String: Any]] else { continue }
            let ours = try flows(Corpus.path(name)!, ["--transport", "tcp"])
            #expect(ours.count == tcp["stream_count"] as? Int, "\(name): conversations")
            for (flow, stream) in zip(ours, streams) {
                let originator = flow["originator"] as? [String: Any] ?? [:]
                let responder = flow["responder"] as? [String: Any] ?? [:]
                let packets = (originator["packets"] as? Int ?? 0) + (responder["packets"] as? Int ?? 0)
                #expect(flow["stream"] as? Int == stream["stream"] as? Int)
                #expect(packets == stream["packets"] as? Int, "\(name) stream \(stream["stream"] ?? ""): packets")
                #expect(flow["first_frame"] as? Int == stream["first_frame"] as? Int)
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test func textTableAndCSVShowTheSameConversations() throws {
        let fixture = Corpus.fixturesDirectory.appendingPathComponent("http-tcp/http-tcp.pcap").path
        let text = try CLI.run(["flows", fixture])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("PROTO") == true)
        // curl against nginx, recorded by Fixtures/http-tcp/make.sh: one TCP conversation to port 80,
        // opened and closed normally.
        #expect(lines.contains { $0.contains("10.77.0.2:80") && $0.contains(" SF ") })
        #expect(lines.last == "1 conversation")
        let csv = try CLI.run(["flows", "--format", "csv", fixture]).stdout.split(separator: "\n")
        #expect(csv.count == 2)
        #expect(csv[1].hasPrefix("tcp,0,10.77.0.1,"))
    }

    @Test func badDecodeAsIsAUsageError() throws {
        let fixture = Corpus.fixturesDirectory.appendingPathComponent("http-tcp/http-tcp.pcap").path
        let result = try CLI.run(["flows", "--decode-as", "tcp.port==80,gopher", fixture])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--decode-as"))
    }
}

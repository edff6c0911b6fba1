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

/// The transfer columns of `flows`: text, CSV and JSON agree with one another on a fixture whose
/// figures are known (the tiny receive buffer: window-limited, about 53 kB/s by the client's own
/// measure, facts.json).
@Suite struct FlowsTransferColumnsTests {
    @Test func rateAndLimitInEveryFormat() throws {
        let capture = Corpus.fixturesDirectory
            .appendingPathComponent("receive-window-small-buffer/receive-window-small-buffer.pcap").path
        let text = try CLI.run(["flows", capture]).stdout.split(separator: "\n")
        let header = try #require(text.first).split(separator: " ", omittingEmptySubsequences: true)
        #expect(header.contains("RATE") && header.contains("LIMIT"))
        #expect(text.dropFirst().first?.contains("receiver_window") == true)
        #expect(text.dropFirst().first?.contains("-/5") == true)   // nothing from the client, ~53k from the server
        let csv = try CLI.run(["flows", "--format", "csv", capture]).stdout.split(separator: "\n")
        let columns = try #require(csv.first).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let row = try #require(csv.dropFirst().first).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let field = Dictionary(uniqueKeysWithValues: zip(columns, row))
        #expect(field["resp_limited_by"] == "receiver_window" && field["orig_limited_by"] == "")
        let rate = try #require(Int(field["resp_throughput_bps"] ?? ""))
        #expect(rate >= 42_410 && rate <= 63_616)   // the client's 53,013 B/s, within 20 %
        let json = try CLI.run(["flows", "--format", "json", capture]).stdout
        let flows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let transfer = try #require((flows.first?["responder"] as? [String: Any])?["transfer"] as? [String: Any])
        #expect(transfer["throughput_bytes_per_second"] as? Int == rate)
        #expect(transfer["limited_by"] as? String == "receiver_window")
        #expect((transfer["bytes_in_flight_max"] as? Int ?? 0) <= 8192)   // the client's granted buffer
    }
}

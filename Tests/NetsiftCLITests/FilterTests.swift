import Foundation
import Testing
import NetsiftTestSupport

/// `-f/--filter` is libpcap's BPF, compiled per link type and applied to offline captures too.
@Suite struct FilterTests {
    @Test func badFilterIsOneLineWithLibpcapsReason() throws {
        let result = try CLI.run(["info", "-f", "tcp prt 80", "/dev/null"])
        #expect(result.status == 64)
        #expect(result.stderr == "netsift: filter: bad filter \"tcp prt 80\": can't parse filter expression: syntax error\n")
    }

    /// On captures where every frame is plain Ethernet/IPv4 (no VLAN, no fragments), BPF's "tcp" and
    /// "udp" select exactly the frames tshark counts as tcp and udp.
    @Test(arguments: ["tcp-ssh-dups.pcap", "dns-udp-nxdomain-soa.pcap", "tcp-retransmit-fast009.pcap"])
    func filteredCountsMatchTheOracle(capture: String) throws {
        guard let path = Corpus.path(capture), let oracle = Corpus.oracle(capture),
              let counts = oracle["protocol_frame_counts"] as? [String: Int] else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        for proto in ["tcp", "udp"] {
            let report = try #require(try CLI.json(["info", "--json", "-f", proto, path]) as? [String: Any])
            #expect(report["packets"] as? Int == counts[proto], "\(capture) \(proto)")
        }
    }

    /// handshake-failures (facts.json): port 81 saw one SYN answered by one RST; port 82 four SYNs
    /// and nothing back; port 83 one SYN, three SYN/ACKs and nothing from the client after its SYN.
    static let handshakeFailures = Corpus.fixturesDirectory.appendingPathComponent(
        "handshake-failures/handshake-failures.pcap").path

    @Test func flowsKeepsOnlyTheFilteredConversations() throws {
        let flows = try #require(try CLI.json(["flows", "--format", "json", "-f", "tcp port 81", Self.handshakeFailures])
            as? [[String: Any]])
        #expect(flows.count == 1)
        #expect(flows.first?["state"] as? String == "REJ")
        let packets = flows.first.map { flow in
            ["originator", "responder"].map { ((flow[$0] as? [String: Any])?["packets"] as? Int) ?? 0 }.reduce(0, +)
        }
        #expect(packets == 2)
    }

    @Test func analyzeDiagnosesOnlyTheFilteredPackets() throws {
        let report = try #require(try CLI.json(["analyze", "--format", "json", "--filter", "tcp port 82",
                                                Self.handshakeFailures]) as? [String: Any])
        #expect((report["capture"] as? [String: Any])?["packets"] as? Int == 4)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.map { $0["kind"] as? String } == ["syn_unanswered"])
        #expect(findings.first?["endpoint"] as? String == "10.77.0.2:82")
        #expect((findings.first?["facts"] as? [String: Any])?["syns_sent"] as? Int == 4)
    }

    @Test func packetsListsOnlyTheFilteredPackets() throws {
        let result = try CLI.run(["packets", "-f", "tcp port 83", Self.handshakeFailures])
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 4)
    }

    @Test func checkAppliesTheFilterToo() throws {
        let expect = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-filter-\(getpid()).expect.json").path
        try """
            { "capture": { "packets": 4, "tcpConversations": 1 },
              "findings": [ { "kind": "synack_unacknowledged", "endpoint": "10.77.0.2:83", "facts": { "synacks_sent": 3 } } ],
              "otherFindings": "forbidden" }
            """.write(toFile: expect, atomically: true, encoding: .utf8)
        defer { unlink(expect) }
        let result = try CLI.run(["check", "-f", "tcp port 83", "--expect", expect, Self.handshakeFailures])
        #expect(result.status == 0, "\(result.stdout)")
        let unfiltered = try CLI.run(["check", "--expect", expect, Self.handshakeFailures])
        #expect(unfiltered.status == 1)
    }
}

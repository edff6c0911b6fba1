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
}

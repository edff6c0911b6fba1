import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport
import NetsiftTestSupport

/// The crafted floods and scans of Fixtures/floods (make.py, fixed seeds): each named for what it
/// is, with the numbers make.py put in it (facts.json `parameters`) and tshark counts in it
/// (`tshark`), and the real clients among a flood keeping their own findings.
@Suite struct FloodTests {
    static let folder = Corpus.fixturesDirectory.appendingPathComponent("floods")

    /// The parameters make.py wrote `name` with, and what tshark counted in it.
    func facts(_ name: String) throws -> (parameters: [String: Any], tshark: [String: Int]) {
        let all = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.folder.appendingPathComponent("facts.json"))) as? [String: Any])
        let parameters = try #require((all["parameters"] as? [String: Any])?[name] as? [String: Any])
        let tshark = try #require((all["tshark"] as? [String: Any])?[name] as? [String: Int])
        return (parameters, tshark)
    }

    func findings(_ name: String, thresholds: DiagnosisThresholds = DiagnosisThresholds()) throws -> [Finding] {
        try diagnose(Self.folder.appendingPathComponent("\(name).pcap").path, thresholds: thresholds)
    }

    /// Within 5% of `expected`: distinct sources are estimated (HyperLogLog, about 2% off).
    func near(_ value: FactValue?, _ expected: Int) -> Bool {
        guard case .int(let n)? = value else { return false }
        return abs(n - expected) * 20 <= expected
    }

    @Test func spoofedSYNFloodIsNamedWithItsAnswers() throws {
        let (p, tshark) = try facts("syn-flood")
        let all = try findings("syn-flood")
        let flood = try #require(all.first { $0.kind == .synFlood })
        #expect(flood.endpoint == p["server"] as? String)
        #expect(flood.count == p["syns"] as? Int)
        #expect(flood.count == tshark["tcp_syn_frames"])
        #expect(flood.facts["answered_synack"] == .int(tshark["tcp_synack_frames"]!))
        #expect(flood.facts["answered_synack"] == .int(p["synack"] as! Int))
        #expect(flood.facts["answered_rst"] == .int(tshark["tcp_rst_frames"]!))
        #expect(flood.facts["unanswered"] == .int(p["unanswered"] as! Int))
        // Every spoofed source sent one SYN and never retried.
        #expect(flood.facts["never_retried"] == .int(p["syns"] as! Int))
        #expect(near(flood.facts["sources"], tshark["tcp_syn_sources"]!))
        // 5,000 attempts over 5 s.
        #expect(flood.facts["per_second"].map { if case .double(let r) = $0 { abs(r - 1000) < 10 } else { false } } == true)
        #expect(flood.summary.contains("5,000 connection attempts"))
        #expect(flood.explanation.contains("spoofed"))
        // The remedy for a flood, not for a firewall: the handshake findings it is made of are gone.
        #expect(Set(all.map(\.kind)) == [.synFlood])
        #expect(Diagnosis.verdict(all)?.kind == .synFlood)
    }

    @Test func thresholdsDecideTheFlood() throws {
        var thresholds = DiagnosisThresholds()
        thresholds.synFloodAttempts = 5_001
        let all = try findings("syn-flood", thresholds: thresholds)
        #expect(!all.contains { $0.kind == .synFlood })
        // Below the threshold the attempts are what they seem: unanswered, refused, unacknowledged.
        #expect(all.first { $0.kind == .synUnanswered }?.count == 3_500)
        #expect(all.first { $0.kind == .connectionRefused }?.count == 500)
        thresholds = DiagnosisThresholds()
        thresholds.synFloodRate = 1_500
        #expect(try !findings("syn-flood", thresholds: thresholds).contains { $0.kind == .synFlood })
        thresholds = DiagnosisThresholds()
        thresholds.synFloodSources = 6_000
        #expect(try !findings("syn-flood", thresholds: thresholds).contains { $0.kind == .synFlood })
    }

    /// A firewall in front of a busy service dropping every SYN: 2,000 real clients, each sending
    /// its SYN at 0, 1 and 3 s (Linux's backoff), over 10 s — as many sources and a flood's rate of
    /// attempts, but every attempt retried: that is `syn_unanswered`, with the firewall's remedy.
    @Test func manyRealClientsRetryingAreNoFlood() throws {
        let clients = 2_000, retries = [0, 1, 3]
        let url = try Build.pcapFile(count: clients * retries.count) { index in
            let client = index / retries.count, retry = retries[index % retries.count]
            let syn = Build.tcp(UInt16(30_000 + client % 20_000), 443, seq: UInt32(client), flags: Build.syn)
            let micros = client * 5_000 + retry * 1_000_000   // a new client every 5 ms
            return (Build.ethernet(0x0800, Build.ipv4(0x0A10_0000 | UInt32(client), 0x0A00_0002, protocol: 6, syn)),
                    1_700_000_000 + UInt32(micros / 1_000_000), UInt32(micros % 1_000_000))
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let all = try diagnose(url.path)
        #expect(!all.contains { $0.kind == .synFlood })
        let dropped = try #require(all.first { $0.kind == .synUnanswered })
        #expect(dropped.count == clients)
        #expect(dropped.facts["syns_sent"] == .int(clients * retries.count))
    }

    @Test func verticalScanAndHostSweepWithTheirAnswers() throws {
        let (p, tshark) = try facts("port-scans")
        let vertical = try #require(p["vertical"] as? [String: Any]), horizontal = try #require(p["horizontal"] as? [String: Any])
        let all = try findings("port-scans")
        let scan = try #require(all.first { $0.kind == .portScan })
        #expect(scan.endpoint == vertical["scanner"] as? String)
        #expect(scan.peers == [vertical["target"] as! String])
        #expect(scan.count == vertical["ports"] as? Int)
        #expect(scan.facts["open"] == .int(vertical["open"] as! Int))
        #expect(scan.facts["closed"] == .int(vertical["closed"] as! Int))
        #expect(scan.facts["filtered"] == .int(vertical["filtered"] as! Int))
        #expect(scan.summary.contains("open: 22, 80, 443"))
        let sweep = try #require(all.first { $0.kind == .hostSweep })
        #expect(sweep.endpoint == horizontal["scanner"] as? String)
        #expect(sweep.count == horizontal["hosts"] as? Int)
        #expect(sweep.facts["port"] == .string("\(horizontal["port"]!)"))
        #expect(sweep.facts["open"] == .int(horizontal["open"] as! Int))
        #expect(sweep.facts["closed"] == .int(horizontal["closed"] as! Int))
        #expect(sweep.facts["filtered"] == .int(horizontal["filtered"] as! Int))
        // tshark's SYNs are the scans' attempts, and its resets the closed ports and the scanners' own.
        #expect(scan.facts["attempts"].flatMap { if case .int(let n) = $0 { n } else { nil } }! + sweep.count == tshark["tcp_syn_frames"])
        // One reset per closed port (the target's) and one per open port (the scanner's, after the SYN/ACK).
        func count(_ finding: Finding, _ fact: String) -> Int { if case .int(let n) = finding.facts[fact] { n } else { -1 } }
        #expect(count(scan, "closed") + count(sweep, "closed") + count(scan, "open") + count(sweep, "open")
                == tshark["tcp_rst_frames"])
        // The refused and unanswered ports only the scanners touched make no findings of their own.
        #expect(Set(all.map(\.kind)) == [.portScan, .hostSweep])
    }

    @Test func fewerPortsThanTheThresholdAreNoScan() throws {
        var thresholds = DiagnosisThresholds()
        thresholds.scanPorts = 1_025
        thresholds.scanHosts = 201
        let all = try findings("port-scans", thresholds: thresholds)
        #expect(!all.contains { $0.kind == .portScan || $0.kind == .hostSweep })
        #expect(all.contains { $0.kind == .connectionRefused })
    }

    @Test func dnsReflectionFromManyResolvers() throws {
        let (p, tshark) = try facts("dns-reflection")
        let all = try findings("dns-reflection")
        let reflection = try #require(all.first { $0.kind == .dnsReflection })
        #expect(reflection.endpoint == p["victim"] as? String)
        #expect(reflection.count == tshark["dns_unsolicited_responses"])
        #expect(reflection.count == p["responses"] as? Int)
        #expect(reflection.facts["bytes"] == .int(tshark["dns_unsolicited_udp_bytes"]!))
        #expect(near(reflection.facts["resolvers"], p["resolvers"] as! Int))
        // Half ANY, half TXT (make.py alternates them).
        #expect(reflection.facts["query_types"] == .string("ANY ×500, TXT ×500"))
        // Answers of 1,100 bytes to queries of 12 + 13 + 4 + 11 = 40 bytes.
        #expect(reflection.facts["amplification"] == .double(27.5))
        // The victim's own two queries were answered: no other DNS finding, and no UDP flood.
        #expect(Set(all.map(\.kind)) == [.dnsReflection])
    }

    @Test func udpFloodAgainstOnePort() throws {
        let (p, tshark) = try facts("udp-flood")
        let all = try findings("udp-flood")
        let flood = try #require(all.first { $0.kind == .udpFlood })
        #expect(flood.endpoint == (p["target"] as! String).split(separator: ":").first.map(String.init))
        #expect(flood.count == tshark["udp_frames"])
        #expect(flood.facts["bytes"] == .int(tshark["udp_wire_bytes"]!))
        #expect(flood.facts["ports"] == .string("27015 ×5,000"))
        #expect(near(flood.facts["sources"], tshark["udp_sources"]!))
        #expect(Set(all.map(\.kind)) == [.udpFlood])
        var thresholds = DiagnosisThresholds()
        thresholds.udpFloodRate = 6_000
        #expect(try !findings("udp-flood", thresholds: thresholds).contains { $0.kind == .udpFlood })
    }

    /// Real clients among a flood keep their findings: one dropped by a firewall (retries at 1, 3,
    /// 7 s), one refused on another port; the one whose exchange completed raises nothing.
    @Test func realClientsAmongAFloodKeepTheirFindings() throws {
        let (p, tshark) = try facts("mixture")
        let all = try findings("mixture")
        let flood = try #require(all.first { $0.kind == .synFlood })
        #expect(flood.endpoint == p["server"] as? String)
        #expect(flood.count == p["syns"] as? Int)
        let dropped = try #require(all.first { $0.kind == .synUnanswered })
        #expect(dropped.endpoint == p["dropped_service"] as? String)
        #expect(dropped.facts["syns_sent"] == .int(p["dropped_syns"] as! Int))
        let refused = try #require(all.first { $0.kind == .connectionRefused })
        #expect(refused.endpoint == p["refused_service"] as? String)
        #expect(Set(all.map(\.kind)) == [.synFlood, .synUnanswered, .connectionRefused])
        // Every SYN tshark saw is a flood attempt or one of the clients' (the completed one's, the
        // dropped one's retries, the refused one's), as the findings count them.
        guard case .int(let droppedSYNs) = dropped.facts["syns_sent"] else { Issue.record("no syns_sent"); return }
        #expect(tshark["tcp_syn_frames"] == flood.count + 1 + droppedSYNs + 1)
    }

    /// Counts in sentences are grouped like the capture summary's.
    @Test func countsAreGrouped() {
        #expect(plural(1_000_000, "SYN") == "1,000,000 SYNs")
        #expect(plural(1_000, "connection attempt") == "1,000 connection attempts")
        #expect(grouped(-1_234_567) == "-1,234,567")
        #expect(grouped(999) == "999")
    }
}

import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport
import NetsiftTestSupport

/// The findings `netsift analyze` makes of a capture (`Analysis`, which runs the pipeline as the
/// command does: fragment statistics and limits included).
func diagnose(_ path: String, thresholds: DiagnosisThresholds = DiagnosisThresholds()) throws -> [Finding] {
    try Analysis(URL(fileURLWithPath: path), thresholds: thresholds).findings
}

@Suite struct DiagnosisCorpusTests {
    /// A capture_loss finding wherever tshark marks holes in the streams (oracle `tcp.analysis_counts`
    /// lost_segment), counting the same "previous segment not captured" frames; none where it marks
    /// neither holes nor ACKs of unseen data.
    @Test func captureLossWhereTsharkSeesHoles() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var withHoles = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name), let tcp = oracle["tcp"] as? [String: Any],
                  let counts = tcp["analysis_counts"] as? [String: Int] else { continue }
            let lost = counts["lost_segment"] ?? 0, unseen = counts["ack_lost_segment"] ?? 0
            let loss = try diagnose(Corpus.path(name)!).first { $0.kind == .captureLoss }
            if lost + unseen == 0 {
                #expect(loss == nil, "\(name): \(loss?.summary ?? "")")
            } else if lost > 0 {
                #expect(loss?.facts["previous_segment_not_captured"] == .int(lost), "\(name)")
                withHoles += 1
            }
        }
        print("capture loss compared with tshark's lost segments on \(withHoles) captures with holes")
        #expect(withHoles > 0)
    }

    /// Handshake and MSS findings agree with tshark's per-stream facts (oracle `tcp.streams`):
    /// the servers whose SYNs went unanswered, the ones that refused with a reset, and those whose
    /// SYN and SYN/ACK MSS differ — with the number of conversations for each.
    @Test func handshakeAndMSSFindingsAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name), let tcp = oracle["tcp"] as? [String: Any],
                  let streams = tcp["streams"] as? [[String: Any]] else { continue }
            var expected: [FindingKind: [String: Int]] = [:]
            for stream in streams where stream["client_inferred_without_syn"] as? Bool == false {
                let server = bracketed(stream["server"] as? String ?? "")
                if stream["syn_rejected_by_rst"] as? Bool == true {
                    expected[.connectionRefused, default: [:]][server, default: 0] += 1
                } else if stream["syn_unanswered"] as? Bool == true {
                    expected[.synUnanswered, default: [:]][server, default: 0] += 1
                }
                if stream["mss_differs"] as? Bool == true {
                    expected[.mssMismatch, default: [:]][server, default: 0] += 1
                }
            }
            let findings = try diagnose(Corpus.path(name)!)
            for kind in [FindingKind.connectionRefused, .synUnanswered, .mssMismatch] {
                var ours: [String: Int] = [:]
                for finding in findings where finding.kind == kind { ours[finding.endpoint ?? "?", default: 0] += finding.count }
                #expect(ours == expected[kind] ?? [:], "\(name) \(kind.rawValue)")
            }
            compared += 1
        }
        print("handshake and MSS findings compared with tshark's stream facts on \(compared) captures")
        #expect(compared > 10)
    }

    /// A capture of the corpus with a search-list expansion (inside a GRE tunnel): tshark's DNS
    /// messages show NXDOMAIN for NAME.SUFFIX followed by queries for NAME from the same client;
    /// those NXDOMAIN answers make one search expansion finding for that client and no plain
    /// NXDOMAIN finding.
    @Test func searchExpansionInTheCorpus() throws {
        let name = "next/tunnel-gre-key-teb-http.pcap"
        guard let path = Corpus.path(name), let oracle = Corpus.oracle(name),
              let messages = (oracle["dns"] as? [String: Any])?["messages"] as? [[String: Any]] else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let queried = Set(messages.filter { $0["is_response"] as? Bool == false }.compactMap { $0["qname"] as? String })
        // NXDOMAIN answers whose name is another queried name with a suffix appended, and those suffixes.
        var expansions = 0
        var suffixes: Set<String> = []
        for m in messages where m["rcode"] as? Int == 3 {
            guard let qname = m["qname"] as? String, let base = queried.first(where: { qname.hasPrefix($0 + ".") }) else { continue }
            expansions += 1
            suffixes.insert(String(qname.dropFirst(base.count + 1)))
        }
        #expect(expansions == 2 && suffixes == ["sp.local"])
        let findings = try diagnose(path)
        let search = try #require(findings.first { $0.kind == .dnsSearchExpansion })
        #expect(search.count == expansions)
        #expect(search.facts["search_suffixes"] == .string(suffixes.sorted().joined(separator: " ")))
        #expect(!findings.contains { $0.kind == .dnsNXDomain }, "the NXDOMAIN answers are the expansions")
    }
}

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
}

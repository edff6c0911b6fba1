import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport
import NetsiftTestSupport

/// Runs the pipeline and the detectors over a capture.
func diagnose(_ path: String, thresholds: DiagnosisThresholds = DiagnosisThresholds()) throws -> [Finding] {
    var reader = try CaptureReader(path: path)
    var dissector = Dissector()
    var tracker = FlowTracker()
    var diagnosis = Diagnosis(thresholds: thresholds)
    var frame = 0
    var first: Int64?, last: Int64?
    let end = reader.forEachPacket { packet in
        frame += 1
        let time = packet.timestamp, wire = packet.originalLength
        if first == nil { first = time }
        last = time
        dissector.dissect(packet) { summary, bytes in
            diagnosis.add(frame: frame, summary)
            _ = tracker.track(summary, bytes: bytes, frame: frame, time: time, wireLength: wire) { diagnosis.add($0) }
        }
        tracker.drain { diagnosis.add($0) }
    }
    tracker.finish { diagnosis.add($0) }
    var damage: String?
    if case .damaged(let d) = end { damage = d.description }
    return diagnosis.findings(start: first, end: last, counters: tracker.counters, damage: damage)
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

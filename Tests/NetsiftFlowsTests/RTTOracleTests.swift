import Foundation
import Testing
import NetsiftFlows
import NetsiftTestSupport

/// Round-trip times and bytes in flight frame by frame against what `tshark -2` says of the same
/// frames (`tcp.analysis.ack_rtt`, `tcp.analysis.bytes_in_flight`): rtt-oracle.tsv, written by
/// scripts/rtt-oracle from the project's fixtures (always compared) and the corpus (compared when
/// ../shared/captures is there).
@Suite struct RTTOracleTests {
    struct Expected {
        var ackRTT: [Int: Int64] = [:]
        var bytesInFlight: [Int: Int] = [:]
    }

    /// Per capture ("Fixtures/x/x.pcap", or a corpus name such as "next/tunnel-vxlan-http.pcap").
    static let oracle: [String: Expected] = {
        let url = Corpus.projectRoot.appendingPathComponent("Tests/NetsiftFlowsTests/rtt-oracle.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [:] }
        var oracle: [String: Expected] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let frame = Int(fields[1]) else { continue }
            if let rtt = Int64(fields[2]) { oracle[fields[0], default: Expected()].ackRTT[frame] = rtt }
            if let flight = Int(fields[3]) { oracle[fields[0], default: Expected()].bytesInFlight[frame] = flight }
        }
        return oracle
    }()

    /// Compares one capture; returns the frames compared.
    func compare(_ name: String, path: String) throws -> Int {
        let expected = Self.oracle[name] ?? Expected()
        let run = try PipelineRun(path: path)
        for (field, ours, theirs) in [("tcp.analysis.ack_rtt", run.ackRTTByFrame.mapValues(Int.init),
                                       expected.ackRTT.mapValues(Int.init)),
                                      ("tcp.analysis.bytes_in_flight", run.bytesInFlightByFrame, expected.bytesInFlight)] {
            let differing = Set(ours.keys).union(theirs.keys).filter { ours[$0] != theirs[$0] }.sorted()
            guard !differing.isEmpty else { continue }
            if let reason = Allowlist.reason(name, field) {
                print("allowlisted \(name) \(field) (\(differing.count) frames): \(reason)")
                continue
            }
            let shown = differing.prefix(5).map { "frame \($0): ours \(ours[$0].map(String.init) ?? "-"), tshark \(theirs[$0].map(String.init) ?? "-")" }
            Issue.record("\(name) \(field): \(differing.count) frames differ; \(shown.joined(separator: "; "))")
        }
        return expected.ackRTT.count + expected.bytesInFlight.count
    }

    @Test func fixturesAgreeWithTsharkFrameByFrame() throws {
        let fixtures = Self.oracle.keys.filter { $0.hasPrefix("Fixtures/") }.sorted()
        #expect(fixtures.count >= 20, "rtt-oracle.tsv names \(fixtures.count) fixtures")
        var compared = 0
        for name in fixtures {
            compared += try compare(name, path: Corpus.projectRoot.appendingPathComponent(name).path)
        }
        // Every fixture with TCP has ack_rtt values; a handful means the rows were not read.
        #expect(compared > 5_000, "only \(compared) values compared")
    }

    @Test func corpusAgreesWithTsharkFrameByFrame() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for name in Self.oracle.keys.filter({ !$0.hasPrefix("Fixtures/") }).sorted() {
            guard let path = Corpus.path(name), FileManager.default.fileExists(atPath: path) else { continue }
            compared += try compare(name, path: path)
        }
        #expect(compared > 3_000, "only \(compared) values compared")
    }
}

import Foundation
import Testing
import NetsiftTestSupport

/// `netsift analyze` end to end: the report's shape, the JSON schema, and bad input.
@Suite struct AnalyzeCommandTests {
    func fixture(_ name: String) -> String {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(name)
        let file = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?
            .first { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") } ?? "?"
        return folder.appendingPathComponent(file).path
    }

    @Test func textReportIsBottomUpWithAVerdict() throws {
        let result = try CLI.run(["analyze", fixture("handshake-failures")])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let text = result.stdout
        // Recorded by Fixtures/handshake-failures/make.sh: port 81 closed, 82 dropped, 83 never ACKed.
        #expect(text.contains("10.77.0.2:81 refused 1 connection attempt"))
        #expect(text.contains("SYNs to 10.77.0.2:82 were never answered"))
        #expect(text.contains("Most likely problem"))
        #expect(!text.contains("\u{1B}["), "no colour when standard output is not a terminal")
    }

    @Test func jsonFollowsTheDocumentedSchema() throws {
        let result = try CLI.run(["analyze", "--format", "json", fixture("close-wait")])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["schema"] as? String == "netsift.analyze/2")
        let findings = try #require(report["findings"] as? [[String: Any]])
        for key in ["kind", "severity", "layer", "count", "count_unit", "flows", "frames", "facts", "summary",
                    "explanation", "likely_cause", "next_step"] {
            #expect(findings.allSatisfy { $0[key] != nil }, "every finding has \(key)")
        }
        #expect(findings.first?["kind"] as? String == "close_wait")
        let lines = try CLI.run(["analyze", "--format", "jsonl", fixture("close-wait")]).stdout.split(separator: "\n")
        let types = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .compactMap { $0["type"] as? String }
        #expect(types.first == "capture")
        #expect(types.filter { $0 == "finding" }.count == findings.count)
    }

    @Test func standardInputWorks() throws {
        let url = URL(fileURLWithPath: fixture("handshake-failures"))
        let result = try CLI.run(["analyze", "-"], stdin: url)
        #expect(result.status == 0)
        #expect(result.stdout.contains("Capture  standard input"))
        #expect(result.stdout.contains("refused 1 connection attempt"))
    }

    @Test func notACaptureIsOneLineAndExitTwo() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-analyze-\(UUID().uuidString)")
        try Data("not a capture\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try CLI.run(["analyze", url.path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.hasPrefix("netsift: \(url.path): not a pcap or pcapng capture"))
    }

    @Test func damagedCaptureIsAnalysedUpToTheDamageAndExitsThree() throws {
        // The http-tcp fixture (13 packets) with its last record cut in half.
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("http-tcp")))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-analyze-\(UUID().uuidString)")
        try data.prefix(data.count - 30).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try CLI.run(["analyze", "--format", "json", url.path])
        #expect(result.status == 3)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("damaged at byte offset"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let capture = try #require(report["capture"] as? [String: Any])
        #expect(capture["packets"] as? Int == 12)
        #expect(capture["complete"] as? Bool == false)
        let kinds = (report["findings"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("capture_damaged"))
    }
}

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

    /// Eight services refusing connections make eight transport findings: the text shows the worst
    /// five and counts the rest, `--all` shows them all, JSON always holds them all.
    @Test func textShowsAHandfulPerLayerAndAllOnRequest() throws {
        var bytes = Build.pcapHeader()
        var second: UInt32 = 1_700_000_000
        for port in UInt16(8001)...8008 {
            for (count, fromClient, flags) in [(0, true, Build.syn), (1, false, Build.rst | Build.ack)] {
                let client: UInt32 = 0x0A00_0001, server: UInt32 = 0x0A00_0002
                let tcp = fromClient ? Build.tcp(40_000 + port, port, seq: 1000, flags: flags)
                                     : Build.tcp(port, 40_000 + port, seq: 0, ack: 1001, flags: flags)
                let ip = fromClient ? Build.ipv4(client, server, protocol: 6, tcp) : Build.ipv4(server, client, protocol: 6, tcp)
                bytes += Build.pcapRecord(Build.ethernet(0x0800, ip), seconds: second, microseconds: UInt32(count))
            }
            second += 1
        }
        let url = try Build.file(bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        // Findings before the verdict, which repeats one of them.
        func shown(_ text: String) -> Int {
            text.components(separatedBy: "Most likely problem")[0].components(separatedBy: "refused 1 connection attempt").count - 1
        }
        let text = try CLI.run(["analyze", url.path]).stdout
        #expect(shown(text) == 5)
        #expect(text.contains("and 3 more findings (--all)"))
        let all = try CLI.run(["analyze", "--all", url.path]).stdout
        #expect(shown(all) == 8)
        #expect(!all.contains("(--all)"))
        let report = try #require(try CLI.json(["analyze", "--format", "json", url.path]) as? [String: Any])
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.count == 8)
        #expect(findings.allSatisfy { $0["endpoint_kind"] as? String == "service" })
    }

    /// A refused connection in a pcapng file whose recorder counted drops: the verdict stands, and
    /// the text says its confidence is lowered.
    @Test func verdictConfidenceLoweredWhenTheRecorderDropped() throws {
        let segments = [Build.tcp(40_001, 81, seq: 1000, flags: Build.syn),
                        Build.tcp(81, 40_001, seq: 0, ack: 1001, flags: Build.rst | Build.ack)]
        var bytes = Build.pcapngSection() + Build.pcapngInterface()
        for (index, tcp) in segments.enumerated() {
            let ip = index == 0 ? Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 6, tcp) : Build.ipv4(0x0A00_0002, 0x0A00_0001, protocol: 6, tcp)
            bytes += Build.pcapngPacket(Build.ethernet(0x0800, ip), ticks: 1_700_000_000_000_000 + UInt64(index))
        }
        bytes += Build.pcapngStatistics(droppedByInterface: 0, droppedByOS: 4)
        let url = try Build.file(bytes, suffix: "pcapng")
        defer { try? FileManager.default.removeItem(at: url) }
        let text = try CLI.run(["analyze", url.path]).stdout
        #expect(text.contains("the recorder counted 4 packets dropped (pcapng interface statistics)"))
        let verdict = try #require(text.components(separatedBy: "Most likely problem\n").last)
        #expect(verdict.hasPrefix("  10.0.0.2:81 refused 1 connection attempt"))
        #expect(verdict.contains("Confidence lowered: The capture itself is incomplete (capture_loss)"))
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

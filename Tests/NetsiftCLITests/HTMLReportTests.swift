import Foundation
import Testing
import NetsiftTestSupport

/// `analyze --html`: the page of a fixture loaded in headless Chromium (Scripts/check_report.py):
/// no console message, no external reference, every graph drawn, every number equal to the JSON
/// report's, a screenshot within a tolerance of `report-reference.png`. Then what the page must
/// show of the fixture, from how the fixture was made (its make.sh and facts.json), standard input,
/// and the error for a file that cannot be written. Without Chromium (which scripts/bootstrap
/// installs) the browser test says so and stops.
@Suite(.serialized) struct HTMLReportTests {
    /// iperf3 through a router dropping 5% of the client's large packets (facts.json: 638
    /// packets, the control connection tcp.stream 0 and the data connection tcp.stream 1).
    static let fixture = "Fixtures/tcp-loss-retransmissions/tcp-loss-retransmissions.pcap"
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("report-reference.png")

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("netsift-html-\(getpid())-\(name)").path
    }

    /// Runs netsift from the project's root, so that the page names the fixture by the same
    /// relative path whoever runs the tests (the screenshot depends on it).
    func netsift(_ arguments: [String], stdin: String? = nil) throws -> CLI.Result {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.currentDirectoryURL = Corpus.projectRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            process.standardInput = try FileHandle(forReadingFrom: Corpus.projectRoot.appendingPathComponent(stdin))
        }
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
    }

    @Test func theFixturesPageInChromium() throws {
        let page = temporary("report.html"), json = temporary("report.json")
        defer { unlink(page); unlink(json) }
        let result = try netsift(["analyze", "--html", page, "--format", "json", Self.fixture])
        #expect(result.status == 0, "\(result.stderr)")
        try result.stdout.write(toFile: json, atomically: true, encoding: .utf8)
        let check = try CLI.runTool("/usr/bin/env", ["python3", Self.scripts.appendingPathComponent("check_report.py").path,
                                                     page, json, Self.reference.path])
        if check.status == 77 {
            print("⚠︎ \(check.stdout.trimmingCharacters(in: .newlines)); the HTML report's browser test skipped")
            return
        }
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any],
                                "check_report.py printed: \(check.stdout) \(check.stderr)")
        #expect(check.status == 0, "\(seen["failures"] ?? check.stderr)")
        #expect((seen["failures"] as? [String])?.isEmpty == true)
        // Every graph the page must have for this capture: the timeline (packets, bytes, and the
        // retransmissions the router's drops caused), and for both conversations the
        // time-sequence graph, throughput and round-trip times.
        let charts = try #require(seen["charts"] as? [[String: Any]])
        let titles = charts.compactMap { $0["title"] as? String }
        for title in ["Packets per", "Bytes per", "Retransmissions, resets and DNS errors per"] {
            #expect(titles.contains { $0.hasPrefix(title) }, "no \(title) chart in \(titles)")
        }
        #expect(titles.filter { $0.hasPrefix("Time-sequence graph") }.count == 2)
        #expect(titles.filter { $0.hasPrefix("Throughput") }.count == 2)
        #expect(titles.filter { $0.hasPrefix("Round-trip time") }.count == 2)
        // The numbers checked against the JSON: the capture's, the finding's, the top flows'.
        let paths = try #require(seen["paths"] as? [String])
        for path in ["capture.packets", "capture.tcp_conversations", "capture.duration_seconds", "findings.0.count",
                     "top_flows.0.originator.bytes", "top_flows.1.responder.packets"] {
            #expect(paths.contains(path), "\(path) is not shown")
        }
    }

    @Test func theDataConnectionsGraphShowsItsRetransmissions() throws {
        let page = temporary("graph.html")
        defer { unlink(page) }
        let result = try netsift(["analyze", "--html", page, Self.fixture])
        #expect(result.status == 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // The data connection is tcp.stream 1, from 10.77.1.1:57070 (facts.json: data_stream_client_port).
        let start = try #require(html.range(of: "id=\"tcp-stream-1\""))
        let end = html.range(of: "id=\"tcp-stream-0\"", range: start.upperBound..<html.endIndex)?.lowerBound ?? html.endIndex
        let section = html[start.lowerBound..<end]
        #expect(section.contains("10.77.1.1:57070 → 10.77.2.2:5201"))
        #expect(section.contains("<path class=\"mark retransmission\" d=\"M"))
        #expect(section.contains("<path class=\"mark segment\" d=\"M"))
        #expect(section.contains("<path class=\"mark ack\" d=\"M"))
        #expect(section.contains("<path class=\"mark window\" d=\"M"))
        // 638 packets, as facts.json counts them; the page is small and fetches nothing.
        #expect(html.contains("data-json=\"capture.packets\">638<"))
        #expect(html.utf8.count < 200_000)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link"))
        #expect(!html.contains("src="))
    }

    @Test func standardInput() throws {
        let page = temporary("stdin.html")
        defer { unlink(page) }
        let result = try netsift(["analyze", "--html", page, "-"], stdin: Self.fixture)
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("data-json=\"capture.packets\">638<"))
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("standard input"))
    }

    @Test func aFileThatCannotBeWritten() throws {
        let result = try netsift(["analyze", "--html", "/nonexistent-netsift/report.html", Self.fixture])
        #expect(result.status == 2)
        #expect(result.stderr == "netsift: --html /nonexistent-netsift/report.html: No such file or directory\n")
        let dash = try netsift(["analyze", "--html", "-", Self.fixture])
        #expect(dash.status == 64)
    }
}

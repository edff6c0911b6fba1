import Foundation
import Testing
import NetsiftTestSupport

/// `netsift info` end to end: exit codes, one-line errors, and the figures against independent ones.
@Suite struct InfoCommandTests {
    func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-cli-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func notACaptureIsOneLineAndExitTwo() throws {
        let url = try temporaryFile(Array("hello, world\n".utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try CLI.run(["info", url.path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "netsift: \(url.path): not a pcap or pcapng capture: starts with 68 65 6c 6c 6f 2c 20 77: text (\"hello, w\")\n")
    }

    @Test func missingFileExitsTwo() throws {
        let result = try CLI.run(["info", "/nonexistent.pcap"])
        #expect(result.status == 2)
        #expect(result.stderr == "netsift: /nonexistent.pcap: cannot open: No such file or directory\n")
    }

    @Test func truncatedCaptureKeepsPacketsWarnsAndExitsThree() throws {
        // pcap LE µs header (snaplen 65535, Ethernet), one whole 4-byte record, then a record header
        // announcing 8 bytes of which only 2 are present.
        let bytes: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
            + [1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 9, 9, 9, 9]
            + [2, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 7, 7]
        let url = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try CLI.run(["info", "--json", url.path])
        #expect(result.status == 3)
        // The damaged record starts at 24 + 20 = 44.
        #expect(result.stderr == "netsift: \(url.path): damaged at byte offset 44 after 1 packets: record cut short at end of file (needs 24 bytes, 18 left)\n")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["packets"] as? Int == 1)
        #expect(report["complete"] as? Bool == false)
    }

    /// The project's own fixtures: every figure against what capinfos and tshark said when the
    /// fixture was recorded (`facts.json`, written by the fixture's script).
    @Test func fixturesAgreeWithTheirRecordedFacts() throws {
        let fixtures = Corpus.fixturesDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        var checked = 0
        for name in names.sorted() {
            let folder = fixtures.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: folder.appendingPathComponent("facts.json")),
                  let facts = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let capture = facts["capture"] as? String else { continue }
            let path = folder.appendingPathComponent(capture).path
            let report = try #require(try CLI.json(["info", "--json", path]) as? [String: Any])
            #expect(report["packets"] as? Int == facts["packet_count"] as? Int, "\(name)")
            #expect(report["format"] as? String == facts["file_type"] as? String, "\(name)")
            #expect((report["first_packet_nanoseconds"] as? NSNumber)?.int64Value
                    == (facts["first_timestamp_ns"] as? NSNumber)?.int64Value, "\(name)")
            #expect((report["last_packet_nanoseconds"] as? NSNumber)?.int64Value
                    == (facts["last_timestamp_ns"] as? NSNumber)?.int64Value, "\(name)")
            #expect(report["captured_bytes"] as? Int == facts["captured_bytes"] as? Int, "\(name)")
            checked += 1
        }
        #expect(checked > 0, "no fixture with a facts.json under Fixtures/")
    }

    @Test func standardInputGivesTheSameReportAsTheFile() throws {
        let fixtures = Corpus.fixturesDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        guard let folder = names.sorted().map({ fixtures.appendingPathComponent($0) }).first(where: {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("facts.json").path)
        }),
              let facts = try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any],
              let capture = facts["capture"] as? String else {
            Issue.record("no fixture to read")
            return
        }
        let url = folder.appendingPathComponent(capture)
        let fromFile = try CLI.run(["info", "--json", url.path])
        let fromStdin = try CLI.run(["info", "--json", "-"], stdin: url)
        #expect(fromStdin.status == 0)
        #expect(fromStdin.stdout.replacingOccurrences(of: "\"file\" : \"-\"", with: "\"file\" : \"\(url.path)\"")
                == fromFile.stdout)
    }
}

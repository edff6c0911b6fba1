import Foundation
import NetsiftTestSupport
import Testing

/// `packets -w` and `analyze --evidence` write real packets back out: the records of the files
/// they write are records of the input, byte for byte (timestamps, lengths and data), and the ones
/// tshark selects (`display-filter-oracle.tsv`) or the finding cites.
@Suite struct WriteAndEvidenceTests {
    /// A classic pcap file's records, each as its 16-byte header and data, read with nothing of
    /// Netsift's (little-endian files, which is what the captures below are).
    static func records(_ path: String) throws -> [Data] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 24, data.prefix(4) == Data([0xD4, 0xC3, 0xB2, 0xA1]) || data.prefix(4) == Data([0x4D, 0x3C, 0xB2, 0xA1])
        else { throw Unreadable(path: path) }
        var records: [Data] = [], offset = 24
        while offset + 16 <= data.count {
            let length = data[(offset + 8)..<(offset + 12)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            guard offset + 16 + length <= data.count else { throw Unreadable(path: path) }
            records.append(data[offset..<(offset + 16 + length)])
            offset += 16 + length
        }
        return records
    }

    struct Unreadable: Error { var path: String }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(getpid())-\(name)").path
    }

    @Test func writeKeepsExactlyTheSelectedFrames() throws {
        guard let directory = Corpus.directory else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for row in DisplayFilterCommandTests.rows where row.capture.hasSuffix(".pcap") && !row.frames.isEmpty
            && Allowlist.reason(row.capture, "-Y \(row.expression)") == nil {
            let input = directory.appendingPathComponent(row.capture).path
            guard let original = try? Self.records(input) else { continue }   // big-endian: not this reader's
            let output = temporary("w.pcap")
            defer { try? FileManager.default.removeItem(atPath: output) }
            var arguments = ["packets", "-Y", row.expression, "-w", output, input]
            for rule in Corpus.decodeAs[row.capture] ?? [] { arguments += ["--decode-as", rule] }
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let header = try Data(contentsOf: URL(fileURLWithPath: input)).prefix(24)
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)).prefix(24) == header, "\(row.capture): file header")
            #expect(try Self.records(output) == row.frames.map { original[$0 - 1] }, "\(row.capture) -Y \(row.expression)")
            compared += 1
        }
        #expect(compared > 30, "only \(compared) selections compared")
    }

    @Test func writeRefusesToOverwriteItsInputAndStandardOutput() throws {
        let capture = Corpus.fixturesDirectory.appendingPathComponent("handshake-failures/handshake-failures.pcap").path
        let before = try Data(contentsOf: URL(fileURLWithPath: capture))
        let result = try CLI.run(["packets", "-w", capture, capture])
        #expect(result.status == 64)
        #expect(result.stderr.contains(capture))
        #expect(try Data(contentsOf: URL(fileURLWithPath: capture)) == before)
        #expect(try CLI.run(["packets", "-w", "-", capture]).status == 64)
        let missing = try CLI.run(["packets", "-w", "/nonexistent/dir/out.pcap", capture])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/dir/out.pcap"))
    }

    @Test func evidenceHoldsEachFindingsConversationsAndFrames() throws {
        let capture = Corpus.fixturesDirectory.appendingPathComponent("handshake-failures/handshake-failures.pcap").path
        let folder = temporary("evidence")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try CLI.run(["analyze", "--format", "json", "--evidence", folder, capture])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(!findings.isEmpty)
        let original = try Self.records(capture)
        // What tshark says of this capture (facts.json): one conversation per failed connection.
        let facts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            Corpus.fixturesDirectory.appendingPathComponent("handshake-failures/facts.json").path))) as? [String: Any])
        let connections = try #require(facts["connections"] as? [[String: Any]])
        var byConnection = 0
        for finding in findings {
            let file = try #require(finding["evidence"] as? String, "\(finding["kind"] ?? "")")
            #expect(file.hasPrefix(folder + "/"))
            let written = try Self.records(file)
            #expect(!written.isEmpty, "\(file): holds packets")
            #expect(written.allSatisfy(original.contains), "\(file): every record is one of the input's")
            let frames = finding["frames"] as? [Int] ?? []
            #expect(!frames.isEmpty, "\(file): the finding cites frames")
            #expect(frames.allSatisfy { written.contains(original[$0 - 1]) }, "\(file): the frames the finding cites")
            // The conversation of a failed connection: every one of its packets, at its client port.
            if let endpoint = finding["endpoint"] as? String,
               let connection = connections.first(where: { $0["server"] as? String == endpoint }),
               let port = connection["client_port"] as? Int {
                byConnection += 1
                let packets = try CLI.run(["packets", "--json", file]).stdout.split(separator: "\n")
                #expect(!packets.isEmpty)
                #expect(packets.allSatisfy { $0.contains("\"source_port\":\(port)") || $0.contains("\"destination_port\":\(port)") },
                        "\(file): only the client port \(port)'s conversation")
            }
        }
        // The three failed connections each have their finding at the server curl reported.
        #expect(byConnection == connections.count)
        let text = try CLI.run(["analyze", "--evidence", folder, capture])
        #expect(text.stdout.contains("evidence: \(folder)/01-"))
        #expect(try CLI.run(["analyze", "--evidence", folder, "-"]).status == 64)
    }
}

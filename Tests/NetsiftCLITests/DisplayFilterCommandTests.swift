import Foundation
import NetsiftTestSupport
import Testing

/// `-Y` as a user types it: the frames `netsift packets -Y EXPR` prints are the frames
/// `tshark -2 -Y EXPR` selects (Tests/NetsiftTests/display-filter-oracle.tsv, written by
/// scripts/display-filter-oracle), and a bad expression is a usage error naming its column.
@Suite struct DisplayFilterCommandTests {
    struct Row {
        var capture, expression: String
        var frames: [Int]
    }

    static let rows: [Row] = {
        let url = Corpus.projectRoot.appendingPathComponent("Tests/NetsiftTests/display-filter-oracle.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { return nil }
            return Row(capture: fields[0], expression: fields[1], frames: fields[2].split(separator: ",").compactMap { Int($0) })
        }
    }()

    /// The frame numbers of the packet lines a run printed (message lines are indented).
    static func frames(_ output: String) -> [Int] {
        output.split(separator: "\n").filter { !$0.hasPrefix(" ") }.compactMap { Int($0.prefix { $0.isNumber }) }
    }

    @Test func packetsSelectsWhatTsharkSelects() throws {
        guard let directory = Corpus.directory else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        #expect(Self.rows.count > 100)
        var agreed = 0
        for row in Self.rows {
            if let reason = Allowlist.reason(row.capture, "-Y \(row.expression)") {
                print("allowlisted \(row.capture) -Y \(row.expression): \(reason)")
                continue
            }
            var arguments = ["packets", "-Y", row.expression, directory.appendingPathComponent(row.capture).path]
            for rule in Corpus.decodeAs[row.capture] ?? [] { arguments += ["--decode-as", rule] }
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(row.capture) -Y \(row.expression): \(result.stderr)")
            let ours = Self.frames(result.stdout)
            #expect(ours == row.frames, "\(row.capture) -Y \(row.expression)")
            if ours == row.frames { agreed += 1 }
        }
        print("-Y against tshark -2 -Y: \(agreed) of \(Self.rows.count) expressions select the same frames")
    }

    /// The stapled OCSP fields on the tls-ocsp fixture, against the frames `tshark -2 -Y EXPR`
    /// selected from it (tshark 4.0, run when the fixture was made: the good, revoked and stale
    /// responses are frames 12, 30 and 48).
    @Test func ocspFieldsSelectWhatTsharkSelects() throws {
        let capture = Corpus.fixturesDirectory.appendingPathComponent("tls-ocsp/tls-ocsp.pcap").path
        let tshark: [(String, [Int])] = [("ocsp", [12, 30, 48]), ("ocsp.certStatus == 1", [30]),
                                         ("ocsp.revocationReason == 1", [30]), ("ocsp.responseStatus == 0", [12, 30, 48]),
                                         ("ocsp.certStatus == 0", [12, 48])]
        for (expression, frames) in tshark {
            let result = try CLI.run(["packets", "-Y", expression, capture])
            #expect(result.status == 0)
            #expect(Self.frames(result.stdout) == frames, "-Y \(expression)")
        }
    }

    @Test func badExpressionsAreUsageErrorsWithTheirColumn() throws {
        let capture = Corpus.fixturesDirectory.appendingPathComponent("handshake-failures/handshake-failures.pcap").path
        for (expression, column) in [("tcp.prot == 80", 1), ("tcp.port == 80 and", 19), ("ip.addr == 10.0.0.300", 12)] {
            let result = try CLI.run(["packets", "-Y", expression, capture])
            #expect(result.status == 64, "\(expression)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("netsift: -Y: column \(column):"), "\(expression): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    /// `flows -Y` filters conversations: the SYNs answered by a reset (Zeek's REJ) are the
    /// closed-port connection of the fixture, at the port curl reported.
    @Test func flowsFiltersConversations() throws {
        let folder = Corpus.fixturesDirectory.appendingPathComponent("handshake-failures")
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        let cases = try #require(facts["connections"] as? [[String: Any]])
        let refused = try #require(cases.first { $0["case"] as? String == "closed_port" })
        let port = try #require((refused["server"] as? String)?.split(separator: ":").last.map(String.init))
        let capture = folder.appendingPathComponent("handshake-failures.pcap").path
        let result = try CLI.run(["flows", "--format", "json", "-Y", "conn.state == \"REJ\"", capture])
        #expect(result.status == 0, "\(result.stderr)")
        let flows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(flows.count == 1)
        #expect((flows.first?["responder"] as? [String: Any])?["port"] as? Int == Int(port))
        // A packet-only field on conversations is a usage error.
        let wrong = try CLI.run(["flows", "-Y", "frame.len > 100", capture])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.hasPrefix("netsift: -Y: column 1:"), "\(wrong.stderr)")
    }
}

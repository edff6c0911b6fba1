import Foundation
import Testing
import NetsiftTestSupport

/// `netsift export`: every file follows its schema for every fixture, and the fleet recipe of
/// docs/export.md — GNU parallel running one export per capture, DuckDB answering the fleet's
/// questions — run as written, its answers checked against what the fixtures' tools reported
/// (their facts.json), never against Netsift's own output.
@Suite struct ExportTests {
    static let root = Corpus.projectRoot.path
    static let schemas: [(file: String, schema: String, lines: Bool)] = [
        ("capture.json", "analyze.schema.json#/$defs/capture", false),
        ("flows.ndjson", "flows.schema.json", true),
        ("findings.ndjson", "analyze.schema.json#/$defs/finding", true),
        ("dns.ndjson", "export.schema.json#/$defs/dns_transaction", true),
        ("tls.ndjson", "export.schema.json#/$defs/tls_handshake", true),
        ("http.ndjson", "export.schema.json#/$defs/http_transaction", true),
    ]

    static func temporaryFolder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func everyFileFollowsItsSchema() throws {
        let folder = try Self.temporaryFolder("export-schema")
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixtures = Corpus.fixturesAndCaptures.filter { $0.hasPrefix(Corpus.fixturesDirectory.path) }
        var written: [String: [String]] = [:]
        var counts: [String: Int] = [:]
        for (index, fixture) in fixtures.enumerated() {
            let out = folder.appendingPathComponent("\(index)").path
            let result = try CLI.run(["export", "--to", out, fixture])
            #expect(result.status == 0, "\(fixture): \(result.stderr)")
            for entry in Self.schemas {
                let path = out + "/" + entry.file
                let text = try String(contentsOfFile: path, encoding: .utf8)
                counts[entry.file, default: 0] += text.split(separator: "\n").count
                written[entry.file, default: []].append(path)
            }
        }
        // Every kind of record is exercised by some fixture.
        for entry in Self.schemas { #expect(counts[entry.file, default: 0] > 0, "no \(entry.file) record in any fixture") }
        for entry in Self.schemas {
            let files = written[entry.file] ?? []
            let arguments = [Self.root + "/scripts/validate-json"] + (entry.lines ? ["--lines"] : [])
                + [Self.root + "/docs/schema/" + entry.schema] + files
            let validation = try CLI.runTool("/usr/bin/env", ["python3"] + arguments)
            #expect(validation.status == 0, "\(entry.file): \(validation.stdout)\(validation.stderr)")
        }
    }

    /// A block of docs/export.md: the fenced code after `<!-- tested: NAME -->`.
    static func recipe(_ name: String) throws -> String {
        let text = try String(contentsOfFile: root + "/docs/export.md", encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- tested: \(name) -->"))
        let after = text[marker.upperBound...]
        let open = try #require(after.range(of: "```"))
        let body = after[open.upperBound...].drop { $0 != "\n" }.dropFirst()
        let close = try #require(body.range(of: "\n```"))
        return String(body[..<close.lowerBound])
    }

    @Test func fleetRecipeAnswersTheFleetsQuestions() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/parallel"),
              try CLI.runTool("/usr/bin/env", ["python3", "-c", "import duckdb"]).status == 0 else {
            Issue.record("GNU parallel and Python's duckdb are needed (scripts/bootstrap installs them)")
            return
        }
        let folder = try Self.temporaryFolder("fleet")
        defer { try? FileManager.default.removeItem(at: folder) }
        let captures = folder.appendingPathComponent("captures")
        try FileManager.default.createDirectory(at: captures, withIntermediateDirectories: true)
        let fixtures = Corpus.fixturesDirectory.path
        for name in ["handshake-failures", "dns-failures", "dns-exchange", "tls-certificates", "tcp-loss-retransmissions"] {
            try FileManager.default.createSymbolicLink(atPath: captures.path + "/\(name).pcap",
                                                       withDestinationPath: "\(fixtures)/\(name)/\(name).pcap")
        }
        // A capture in pieces: the time-wait ring, one folder.
        try FileManager.default.createSymbolicLink(atPath: captures.path + "/time-wait-ring",
                                                   withDestinationPath: "\(fixtures)/multi-file/ring")
        let path = CLI.executable.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let records = try CLI.runTool("/usr/bin/env", ["PATH=\(path)", "bash", "-c",
                                                       "cd '\(folder.path)' && " + Self.recipe("records")])
        #expect(records.status == 0, "\(records.stdout)\(records.stderr)")
        let script = folder.appendingPathComponent("fleet.py")
        try Data(Self.recipe("questions").utf8).write(to: script)
        let run = try CLI.runTool("/usr/bin/env", ["python3", script.path, folder.appendingPathComponent("records").path])
        #expect(run.status == 0, "\(run.stderr)")
        var answers: [String: [[String: Any]]] = [:]
        for line in run.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            answers[try #require(object["question"] as? String)] = object["rows"] as? [[String: Any]]
        }
        func facts(_ name: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
                "\(fixtures)/\(name)/facts.json"))) as? [String: Any])
        }

        // Refused: curl's one connection to a closed port (handshake-failures); time-wait's 200
        // connections all completed, with no connection error.
        let closed = try #require((try facts("handshake-failures")["connections"] as? [[String: Any]])?
            .first { $0["case"] as? String == "closed_port" })
        #expect(try (facts("time-wait")["connection_errors"] as? [Any])?.isEmpty == true)
        let refused = try #require(answers["refused connections per server"])
        #expect(refused.count == 1)
        #expect(refused.first?["server"] as? String == closed["server"] as? String)
        #expect(refused.first?["refused"] as? Int == closed["rst_frames"] as? Int)
        #expect(refused.first?["seen_in"] as? [String] == ["handshake-failures"])

        // The worst retransmission rate: iperf3's data stream through the lossy router, whose
        // sender counted its retransmissions.
        let iperf = try #require(try facts("tcp-loss-retransmissions")["iperf3"] as? [String: Any])
        let worst = try #require(answers["worst retransmission rates"]?.first)
        #expect(worst["capture"] as? String == "tcp-loss-retransmissions")
        #expect(worst["server"] as? String == iperf["server"] as? String)
        #expect((worst["client"] as? String)?.hasSuffix(":\(iperf["data_stream_client_port"] as? Int ?? -1)") == true)
        let retransmits = try #require(iperf["sender_retransmits"] as? Int)
        let mss = try #require(iperf["tcp_mss"] as? Int)
        // Full segments, no more than the sender counted (the capture may end before the last).
        let retransmitted = try #require(worst["retransmitted_bytes"] as? Int)
        #expect(retransmitted > 0 && retransmitted % mss == 0 && retransmitted <= retransmits * mss, "\(worst)")

        // Certificates by expiry: the leaves openssl made for each server, and the intermediate.
        let tls = try facts("tls-certificates")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        func seconds(_ text: String) throws -> Int {
            let squeezed = text.split(separator: " ").joined(separator: " ")
            return Int(try #require(formatter.date(from: squeezed)).timeIntervalSince1970)
        }
        var expected: [(server: String, subject: String, notAfter: Int)] = []
        for connection in try #require(tls["tls_connections"] as? [[String: Any]]) {
            let certificate = try #require(connection["certificate"] as? [String: Any])
            expected.append((try #require(connection["server"] as? String), try #require(certificate["subject"] as? String),
                             try seconds(try #require(certificate["not_after"] as? String))))
        }
        expected.sort { $0.notAfter != $1.notAfter ? $0.notAfter < $1.notAfter : $0.server < $1.server }
        let soonest = try #require(answers["certificates expiring soonest"])
        #expect(soonest.count == 5)
        #expect(expected.count >= 3, "the fixture's leaves")
        for (row, want) in zip(soonest.prefix(3), expected.prefix(3)) {
            #expect(row["server"] as? String == want.server)
            #expect(row["subject"] as? String == want.subject)
            #expect(row["not_after_seconds"] as? Int == want.notAfter)
        }

        // NXDOMAIN: the names dig got NXDOMAIN for, asked from the client namespace (10.77.0.1,
        // Fixtures/README.md).
        var names: Set<String> = []
        var nxdomains = 0
        for query in try #require(try facts("dns-failures")["dig_queries"] as? [[String: Any]])
            where query["status"] as? String == "NXDOMAIN" {
            names.insert(try #require(query["qname"] as? String))
            nxdomains += 1
        }
        for message in try #require(try facts("dns-exchange")["dns_messages"] as? [[String: Any]])
            where message["rcode"] as? Int == 3 {
            names.insert(try #require(message["qname"] as? String))
            nxdomains += 1
        }
        #expect(!names.isEmpty && nxdomains > 0, "the fixtures' tools saw NXDOMAIN answers")
        let byClient = try #require(answers["NXDOMAIN names by client"])
        #expect(byClient.count == 1)
        #expect(byClient.first?["client"] as? String == "10.77.0.1")
        #expect(Set(byClient.first?["names"] as? [String] ?? []) == names)
        #expect(byClient.first?["answers"] as? Int == nxdomains)
    }
}

/// HTTP/2 streams in http.ndjson: checked against what the h2c fixture's script asked and got
/// (facts.json), and against tshark's HTTP/2 frames for the corpus's HTTP/2 captures.
@Suite struct ExportHTTP2Tests {
    static func records(_ capture: String, extra: [String] = []) throws -> [[String: Any]] {
        let folder = try ExportTests.temporaryFolder("export-h2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try CLI.run(["export", "--to", folder.path] + extra + [capture])
        #expect(run.status == 0 || run.status == 3, "\(capture): \(run.stderr)")
        let text = try String(contentsOfFile: folder.path + "/http.ndjson", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func h2cFixtureStreamsAreTheScriptsRequests() throws {
        let fixture = Corpus.fixturesDirectory.path + "/h2c"
        let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/facts.json"))) as! [String: Any]
        let requests = facts["http2_requests"] as! [[String: Any]]
        let exported = try Self.records(fixture + "/h2c.pcap").filter { $0["version"] as? String == "HTTP/2" }
        func key(_ port: Any?, _ server: Any?, _ stream: Any?, _ path: Any?, _ status: Any?) -> String {
            "\(port!) \(server!) \(stream!) \(path!) \(status!)"
        }
        let expected = requests.map { key($0["client_port"], $0["server"], $0["stream_id"], $0["path"], $0["status"]) }
        let got = exported.map { record in
            key((record["client"] as! String).split(separator: ":").last.map(String.init), record["server"],
                record["http2_stream_id"], record["target"], record["status"])
        }
        #expect(got.sorted() == expected.sorted())
        for record in exported {
            #expect(record["method"] as? String == "GET")
            #expect((record["time_to_first_byte_ns"] as! Int) >= 0)
            #expect((record["response_frame"] as! Int) >= (record["request_frame"] as! Int))
        }
    }

    /// Every exported HTTP/2 stream's request and response frames carry a HEADERS frame (type 1)
    /// of that stream in tshark's reading, in the same TCP conversation.
    @Test func corpusStreamsMatchTsharksFrames() throws {
        guard Corpus.directory != nil else {
            print(Corpus.missingMessage)
            return
        }
        var checked = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name), let http2 = oracle["http2"] as? [String: Any],
                  let frames = http2["frames"] as? [[String: Any]], !frames.isEmpty,
                  let path = Corpus.path(name) else { continue }
            let rules = Corpus.decodeAs[name] ?? []
            let records = try Self.records(path, extra: rules.flatMap { ["--decode-as", $0] })
                .filter { $0["version"] as? String == "HTTP/2" }
            var headers: Set<String> = []
            for frame in frames where frame["type"] as? Int == 1 {
                headers.insert("\(frame["tcp_stream"]!) \(frame["stream_id"]!) \(frame["frame"]!)")
            }
            for record in records {
                let stream = "\(record["stream"]!) \(record["http2_stream_id"]!)"
                #expect(headers.contains("\(stream) \(record["request_frame"]!)"), "\(name): request of \(stream)")
                #expect(headers.contains("\(stream) \(record["response_frame"]!)"), "\(name): response of \(stream)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }
}

import Foundation
#if canImport(FoundationXML)
import FoundationXML   // XMLParser lives here on Linux
#endif
import Testing
import NetsiftTestSupport

/// `netsift check`: the project's fixtures hold the expectations written by hand from their
/// facts.json; a violated expectation exits 1 with expected and actual side by side; JUnit output
/// is well-formed XML; `--update` writes an expectation that holds.
@Suite struct CheckCommandTests {
    let fixtures = Corpus.fixturesDirectory.path
    var handshakeFailures: String { fixtures + "/handshake-failures/handshake-failures.pcap" }

    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-check-\(getpid())-\(name)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func everyFixtureHoldsItsExpectation() throws {
        // Every capture in Fixtures has an expectation beside it.
        let files = FileManager.default.enumerator(atPath: fixtures)?.allObjects as? [String] ?? []
        let captures = files.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        for capture in captures {
            let stem = capture.hasSuffix(".pcapng") ? capture.dropLast(7) : capture.dropLast(5)
            #expect(files.contains(stem + ".expect.json"), "\(capture) has no expectation")
        }
        let result = try CLI.run(["check", fixtures])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\n\(captures.count) captures: \(captures.count) passed; "))
        #expect(!result.stdout.contains("✗"))
    }

    @Test func violatedExpectationExitsOneWithExpectedAndActual() throws {
        // handshake-failures' facts: one attempt refused at port 81, four SYNs to port 82 never answered.
        let expect = try temporaryFile("violated.expect.json", """
            {
              "capture": { "packets": { "max": 10 } },
              "findings": [
                { "kind": "connection_refused", "endpoint": "10.77.0.2:81", "count": 2 },
                { "kind": "syn_unanswered", "endpoint": "10.77.0.2:82", "facts": { "syns_sent": 4 } },
                { "kind": "connection_refused", "endpoint": "10.77.0.2:99" }
              ],
              "flows": [ { "responder": "10.77.0.2:81", "state": "SF" } ]
            }
            """)
        defer { unlink(expect) }
        let result = try CLI.run(["check", handshakeFailures, "--expect", expect])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL  \(handshakeFailures)  (4 of 6 assertions failed)\n"))
        #expect(result.stdout.contains("""
                  ✗ capture packets
                      expected: ≤ 10
                      actual:   14
            """))
        #expect(result.stdout.contains("""
                  ✗ finding connection_refused at 10.77.0.2:81
                      expected: present, count 2
                      actual:   present, count 1
            """))
        #expect(result.stdout.contains("      ✓ finding syn_unanswered at 10.77.0.2:82 fact syns_sent: 4\n"))
        #expect(result.stdout.contains("""
                  ✗ finding connection_refused at 10.77.0.2:99
                      expected: present
                      actual:   absent (seen: connection_refused at 10.77.0.2:81 (error, count 1))
            """))
        #expect(result.stdout.contains("""
                  ✗ flows → 10.77.0.2:81 SF
                      expected: ≥ 1
                      actual:   0
            """))
        #expect(result.stdout.hasSuffix("1 capture: 0 passed, 1 failed; 4 of 6 assertions failed\n"))
    }

    @Test func junitIsWellFormedXMLWithOneTestcasePerAssertion() throws {
        let expect = try temporaryFile("junit.expect.json", """
            { "findings": [ { "kind": "connection_refused", "endpoint": "10.77.0.2:81", "count": { "below": 1 } },
                            { "kind": "retransmissions", "absent": true } ] }
            """)
        defer { unlink(expect) }
        for (arguments, status, failures) in [(["check", "--format", "junit", fixtures], Int32(0), 0),
                                              (["check", "--format", "junit", handshakeFailures, "--expect", expect], 1, 1)] {
            let result = try CLI.run(arguments)
            #expect(result.status == status)
            let parser = XMLParser(data: Data(result.stdout.utf8))
            let reader = JUnitReader()
            parser.delegate = reader
            #expect(parser.parse() && parser.parserError == nil, "\(parser.parserError.map { "\($0)" } ?? "")")
            #expect(reader.root == "testsuites")
            #expect(reader.testcases > 0)
            #expect(reader.rootAttributes["tests"] == String(reader.testcases))
            #expect(reader.failures == failures)
            #expect(reader.rootAttributes["failures"] == String(failures))
        }
    }

    @Test func updateWritesAnExpectationThatHolds() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-update-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let capture = folder + "/trace.pcap"
        try FileManager.default.copyItem(atPath: handshakeFailures, toPath: capture)
        let missing = try CLI.run(["check", capture])
        #expect(missing.status == 2)
        #expect(missing.stdout.contains("trace.expect.json: no such expectation file (netsift check --update \(capture) writes one)"))

        let update = try CLI.run(["check", "--update", capture])
        #expect(update.status == 0, "\(update.stderr)")
        let written = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: folder + "/trace.expect.json"))) as? [String: Any])
        // What facts.json says the capture holds: 14 packets, and one failed attempt at each of ports 81, 82, 83.
        #expect((written["capture"] as? [String: Any])?["packets"] as? Int == 14)
        let findings = try #require(written["findings"] as? [[String: Any]])
        #expect(Set(findings.compactMap { $0["endpoint"] as? String }) == ["10.77.0.2:81", "10.77.0.2:82", "10.77.0.2:83"])
        #expect(written["other_findings"] as? String == "forbidden")
        let check = try CLI.run(["check", folder])
        #expect(check.status == 0, "\(check.stdout)")
    }

    @Test func badExpectationsAreErrorsNamingWhere() throws {
        for (text, message) in [
            (#"{ "findings": [ { "kind": "conection_refused" } ] }"#, "findings[0].kind: unknown finding kind \"conection_refused\""),
            (#"{ "capture": { "packet": 14 } }"#, "capture.packet: unknown key \"packet\""),
            (#"{ "capture": { "packets": "14" } }"#, "capture.packets: a bound is a number, or an object with min, max, below or above"),
            // The text ends after line 2's line break: where the object should have closed.
            ("{\n  \"capture\": { \"packets\": 14 \n", "not valid JSON: unexpected end of the file, expected ',' or '}' at line 3, column 1"),
        ] {
            let expect = try temporaryFile("bad.expect.json", text)
            defer { unlink(expect) }
            let result = try CLI.run(["check", handshakeFailures, "--expect", expect])
            #expect(result.status == 2)
            #expect(result.stdout.contains("\(expect): \(message)"), "\(result.stdout)")
        }
    }
}

/// Counts what a JUnit document holds.
final class JUnitReader: NSObject, XMLParserDelegate {
    var root: String?
    var rootAttributes: [String: String] = [:]
    var testcases = 0
    var failures = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil {
            root = name
            rootAttributes = attributes
        }
        if name == "testcase" { testcases += 1 }
        if name == "failure" { failures += 1 }
    }

    /// Expectation files of the first version (camelCase keys, `netsift.expect/1`) still check; an
    /// error in one names the key as version 2 spells it.
    @Test func firstVersionExpectationsStillCheck() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-expect1-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Corpus.fixturesDirectory.appendingPathComponent(
            "handshake-failures/handshake-failures.pcap").path, toPath: folder + "/trace.pcap")
        // facts.json: 14 packets, three TCP conversations, one refused at port 81.
        let first = #"{ "schema": "netsift.expect/1", "capture": { "packets": 14, "tcpConversations": 3, "tcpStates": { "REJ": 1 } },"#
            + #" "findings": [ { "kind": "connection_refused", "endpoint": "10.77.0.2:81" } ], "otherFindings": "allowed" }"#
        try Data(first.utf8).write(to: URL(fileURLWithPath: folder + "/trace.expect.json"))
        let result = try CLI.run(["check", folder + "/trace.pcap"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("capture tcp_conversations"))
        let wrong = #"{ "schema": "netsift.expect/2", "capture": { "tcp_conversations": "three" } }"#
        try Data(wrong.utf8).write(to: URL(fileURLWithPath: folder + "/trace.expect.json"))
        let error = try CLI.run(["check", folder + "/trace.pcap"])
        #expect(error.status == 2)
        #expect(error.stdout.contains("capture.tcp_conversations"), "\(error.stdout)")
    }
}

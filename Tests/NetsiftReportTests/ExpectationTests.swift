import Foundation
import Testing
@testable import NetsiftReport
import NetsiftFlows

/// The expectation format's pieces: bounds, endpoint patterns, finding assertions over a report
/// built here, and the errors a bad file gets.
@Suite struct ExpectationTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    @Test func boundsHoldWhereTheySay() throws {
        let exact = try decode(Bound.self, "14")
        #expect(exact.holds(14) && !exact.holds(13) && !exact.holds(14.5))
        let range = try decode(Bound.self, #"{"min": 1, "max": 28}"#)
        #expect(range.holds(1) && range.holds(28) && !range.holds(0) && !range.holds(29))
        #expect(range.description == "1 to 28")
        let below = try decode(Bound.self, #"{"below": 1}"#)
        #expect(below.holds(0.99) && !below.holds(1))
        #expect(below.description == "< 1")
        let above = try decode(Bound.self, #"{"above": 1240}"#)
        #expect(above.holds(1241) && !above.holds(1240))
        #expect(try decode(Bound.self, #"{"min": 1}"#).description == "≥ 1")
        #expect(throws: DecodingError.self) { try decode(Bound.self, "{}") }
        #expect(throws: DecodingError.self) { try decode(Bound.self, #"{"least": 1}"#) }
        #expect(throws: DecodingError.self) { try decode(Bound.self, #""14""#) }
    }

    @Test func endpointPatterns() {
        #expect(endpointMatches("10.0.0.2:81", "10.0.0.2:81"))
        #expect(!endpointMatches("10.0.0.2:81", "10.0.0.2:810"))
        #expect(endpointMatches("10.0.0.2", "10.0.0.2:81"))
        #expect(!endpointMatches("10.0.0.2", "10.0.0.20:81"))
        #expect(endpointMatches("[fd77::2]:443", "[fd77::2]:443"))
        #expect(endpointMatches("fd77::2", "[fd77::2]:443"))
        #expect(!endpointMatches("fd77::2", "[fd77::20]:443"))
        #expect(endpointMatches("10.77.0.1 → 10.77.0.2:7001", "10.77.0.1 → 10.77.0.2:7001"))
    }

    func finding(_ kind: FindingKind, _ endpoint: String, _ severity: Severity, count: Int,
                 facts: [String: FactValue] = [:]) -> Finding {
        Finding(kind: kind, severity: severity, endpoint: endpoint, count: count, countUnit: "things", facts: facts,
                summary: "", explanation: "", likelyCause: "", nextStep: "")
    }

    var report: AnalysisReport {
        let capture = AnalysisReport.Capture(file: "x", packets: 14, firstPacket: 0, lastPacket: 2_000_000_000,
                                             damage: nil, counters: FlowCounters(), tcpStates: ["REJ": 2],
                                             applicationMessages: [:])
        return AnalysisReport(capture: capture, findings: [
            finding(.connectionRefused, "10.0.0.2:81", .error, count: 2),
            finding(.connectionRefused, "10.0.0.3:81", .error, count: 3),
            finding(.synUnanswered, "10.0.0.2:82", .error, count: 1, facts: ["syns_sent": .int(4)]),
            finding(.mssMismatch, "10.0.0.2:82", .info, count: 1),
        ], topFlows: [], thresholds: DiagnosisThresholds())
    }

    @Test func findingAssertionsSumCountsAndCheckEveryMatch() throws {
        let expectation = try decode(Expectation.self, """
            { "capture": { "packets": 14, "durationSeconds": { "max": 2 }, "tcpStates": { "REJ": 2, "S0": 0 } },
              "findings": [
                { "kind": "connection_refused", "count": 5 },
                { "kind": "connection_refused", "endpoint": "10.0.0.3", "count": { "max": 2 } },
                { "kind": "syn_unanswered", "endpoint": "10.0.0.2:82", "severity": "error",
                  "facts": { "syns_sent": { "min": 4 }, "most_syns_in_one_attempt": 4 } },
                { "kind": "retransmissions", "absent": true },
                { "kind": "mss_mismatch", "absent": true }
              ],
              "otherFindings": "info" }
            """)
        let results = ExpectationCheck(expectation).results(report)
        let outcome = Dictionary(results.map { ($0.assertion, $0.held) }, uniquingKeysWith: { a, _ in a })
        #expect(outcome["capture packets"] == true)
        #expect(outcome["capture duration_seconds"] == true)
        #expect(outcome["capture tcp_states REJ"] == true)
        #expect(outcome["capture tcp_states S0"] == true)   // absent from the report: 0
        #expect(outcome["finding connection_refused"] == true)   // 2 + 3
        #expect(outcome["finding connection_refused at 10.0.0.3"] == false)
        #expect(outcome["finding syn_unanswered at 10.0.0.2:82 (error) fact syns_sent"] == true)
        #expect(outcome["finding syn_unanswered at 10.0.0.2:82 (error) fact most_syns_in_one_attempt"] == false)
        #expect(results.first { $0.assertion.hasSuffix("most_syns_in_one_attempt") }?.actual == "missing")
        #expect(outcome["finding retransmissions"] == true)
        #expect(outcome["finding mss_mismatch"] == false)
        // Every warning and error is listed; the info one may be unlisted.
        #expect(outcome["no other findings above info"] == true)
        #expect(results.count == 12)
    }

    /// Two findings with one kind, endpoint and severity (TLS alerts of two kinds from one server)
    /// make one assertion with both counts: one per finding would each see the sum and fail.
    @Test func recordedExpectationsHoldOnTheirOwnReport() throws {
        let twoAlerts = AnalysisReport(capture: report.capture, findings: [
            finding(.tlsAlert, "10.0.0.2:443", .error, count: 2),
            finding(.tlsAlert, "10.0.0.2:443", .error, count: 3),
            finding(.connectionRefused, "10.0.0.2:81", .error, count: 1),
        ], topFlows: [], thresholds: DiagnosisThresholds())
        let expectation = ExpectationRecorder().expectation(twoAlerts, previous: nil)
        #expect(expectation.findings?.map(\.count) == [.exactly(5), .exactly(1)])
        let failed = ExpectationCheck(expectation).results(twoAlerts).filter { !$0.held }.map(\.assertion)
        #expect(failed == [])
    }

    @Test func forbiddenOtherFindingsNamesThem() throws {
        let expectation = try decode(Expectation.self, """
            { "findings": [ { "kind": "connection_refused" } ], "otherFindings": "forbidden" }
            """)
        let other = try #require(ExpectationCheck(expectation).results(report).last)
        #expect(other.assertion == "no other findings")
        #expect(!other.held)
        #expect(other.actual == "syn_unanswered at 10.0.0.2:82 (error, count 1); mss_mismatch at 10.0.0.2:82 (info, count 1)")
    }

    @Test func unknownNamesAreErrors() {
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "finding": [] }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "findings": [ { "kind": "refused" } ] }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "flows": [ { "state": "ESTABLISHED" } ] }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "flows": [ { "transport": "sctp" } ] }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "capture": { "tcpStates": { "CLOSED": 1 } } }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "options": { "thresholds": { "rate": 1 } } }"#) }
        #expect(throws: DecodingError.self) { try decode(Expectation.self, #"{ "schema": "netsift.expect/3" }"#) }
        // Count thresholds are whole numbers an Int holds: 1e19 would stop the program converting it.
        #expect(throws: DecodingError.self) {
            try decode(Expectation.self, #"{ "options": { "thresholds": { "minimum_retransmissions": 1e19 } } }"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(Expectation.self, #"{ "options": { "thresholds": { "time_wait_connections": 2.5 } } }"#)
        }
        #expect(throws: DecodingError.self) {
            try decode(Expectation.self, #"{ "options": { "thresholds": { "black_hole_retransmissions": -1 } } }"#)
        }
        #expect((try? decode(Expectation.self, #"{ "options": { "thresholds": { "minimum_retransmissions": 3, "retransmission_rate": 0.5 } } }"#)) != nil)
        #expect(throws: DecodingError.self) {
            try decode(Expectation.self, #"{ "findings": [ { "kind": "close_wait", "absent": true, "count": 1 } ] }"#)
        }
    }
}

import Foundation
import Testing
import NetsiftTestSupport
import Netsift

/// The per-server outcomes the HTML report tabulates and `live --metrics` exports, against what
/// the fixtures' facts.json record of how they were made (the tools' own logs, tshark's decode).
struct OutcomesTests {
    func facts(_ name: String) throws -> [String: Any] {
        let url = Corpus.fixturesDirectory.appendingPathComponent("\(name)/facts.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func outcomes(_ name: String) throws -> Outcomes {
        try Analysis.analyze(path: Corpus.fixturesDirectory.appendingPathComponent("\(name)/\(name).pcap").path).outcomes
    }

    @Test func dnsAnswersByCode() throws {
        // tshark's DNS messages: the responses' codes, counted (0 NoError, 2 ServFail, 3 NXDomain, 5 Refused).
        let messages = try #require(try facts("dns-failures")["dns_messages"] as? [[String: Any]])
        var expected: [String: Int] = [:]
        for message in messages where message["response"] as? Bool == true {
            let code = try #require(message["rcode"] as? Int)
            expected[DNSResponseCode.name(UInt16(code)), default: 0] += 1
        }
        #expect(expected == ["NoError": 3, "NXDomain": 1, "ServFail": 1, "Refused": 1])
        let dns = try outcomes("dns-failures").dns
        var answered: [String: Int] = [:]
        for server in dns { for (code, count) in server.responseCodes { answered[code, default: 0] += count } }
        #expect(answered == expected)
        // 10.77.0.3 never answered and 10.77.0.4 answered with ICMP port unreachable (make.sh).
        #expect(dns.first { $0.server == "10.77.0.3:53" }?.unanswered == 1)
        #expect(dns.first { $0.server == "10.77.0.4:53" }?.unanswered == 1)
        let answeredServer = try #require(dns.first { $0.server == "10.77.0.2:53" })
        #expect(answeredServer.responseTimes.count == answeredServer.responseCodes.values.reduce(0, +))
    }

    @Test func tlsHandshakesByEnding() throws {
        // s_client reported alert 40 from :4433 and 112 from :4434; curl saw :4435 close and :4436 reset.
        let tls = try outcomes("tls-failures").tls
        #expect(tls.map(\.server) == ["10.77.0.2:4433", "10.77.0.2:4434", "10.77.0.2:4435", "10.77.0.2:4436"])
        #expect(tls.allSatisfy { $0.handshakes == 1 && $0.completed == 0 })
        #expect(tls[0].alerts == [Outcomes.TLSAlert(description: 40, fromClient: false): 1])
        #expect(tls[1].alerts == [Outcomes.TLSAlert(description: 112, fromClient: false): 1])
        #expect(tls[1].alerts.keys.first?.name == "unrecognized_name (112)")
        #expect(tls[2].aborted == ["closed": 1])
        #expect(tls[3].aborted == ["reset": 1])
    }

    @Test func http2StatusesPerServer() throws {
        // The h2 server's log (server_sent): streams answered 200, 200 and 503; one refused before any status.
        let http = try outcomes("h2-errors").http
        #expect(http.count == 1)
        #expect(http.first?.server == "10.77.0.2:8080")
        #expect(http.first?.protocolName == "http2")
        #expect(http.first?.statuses == [200: 2, 503: 1])
    }

    @Test func histogramBuckets() {
        var histogram = ResponseTimeBuckets()
        for seconds in [0.0005, 0.001, 0.0011, 0.3, 11] { histogram.add(seconds: seconds) }
        // ≤ 1 ms: 0.5 and 1 ms; ≤ 2.5 ms: 1.1 ms; ≤ 500 ms: 300 ms; past 10 s: 11 s.
        #expect(histogram.counts[0] == 2)
        #expect(histogram.counts[1] == 1)
        #expect(histogram.counts[ResponseTimeBuckets.bounds.firstIndex(of: 0.5)!] == 1)
        #expect(histogram.counts.last == 1)
        #expect(histogram.count == 5)
        #expect(abs(histogram.sum - 11.3026) < 1e-9)
    }
}

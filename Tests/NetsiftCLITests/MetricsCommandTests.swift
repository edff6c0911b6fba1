import Foundation
import Testing
import NetsiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `live --metrics`: scraped during a capture on `lo` while the test makes traffic whose counts it
/// knows (connections refused, connections served, a DNS query answered NXDomain after 30 ms; then
/// an HTTP 200 and 404, scraped again), the exposition parsed by Python's prometheus_client; the port closed once
/// the capture stops; the HTML page `live --html` writes. Then the errors said before any capture:
/// an address in use, one this host does not have. Capturing needs root, as in LiveCommandTests.
@Suite(.serialized) struct MetricsCommandTests {
    static let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/metrics_traffic.py").path

    func python(_ arguments: [String]) throws -> CLI.Result {
        try CLI.runTool("/usr/bin/env", ["python3", Self.helper] + arguments)
    }

    /// The samples of one scrape: name and labels to value.
    struct Scrape {
        var contentType: String
        var samples: [(name: String, labels: [String: String], value: Double)]

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
    }

    func scrape(_ port: UInt16) throws -> Scrape? {
        let result = try python(["scrape", "http://127.0.0.1:\(port)/metrics"])
        if result.status == 77 {
            print("⚠︎ \(result.stdout.trimmingCharacters(in: .newlines)); the metrics test skipped")
            return nil
        }
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let samples = try #require(document["samples"] as? [[Any]]).map { sample in
            (name: sample[0] as! String, labels: sample[1] as! [String: String], value: (sample[2] as! NSNumber).doubleValue)
        }
        return Scrape(contentType: document["content_type"] as? String ?? "", samples: samples)
    }

    @Test func scrapedDuringACaptureOnLoopback() throws {
        if LiveCommandTests.skip() { return }
        let metricsPort = try Loopback.unusedPort(), closed = try Loopback.unusedPort()
        let dnsPort = try Loopback.unusedPort(), httpPort = try Loopback.unusedPort()
        let listener = try Loopback.Listener(accepting: 2)
        defer { listener.finish() }
        let page = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-metrics-\(getpid()).html").path
        defer { unlink(page) }
        // Only the test's own traffic is captured (-f): lo is shared with whatever else runs here, and
        // the scrapes themselves are left out. A large buffer: the kernel must not drop.
        let ports = [closed, listener.port, dnsPort, httpPort].map { "port \($0)" }.joined(separator: " or ")
        let live = try Running(["live", "-i", "lo", "--metrics", "127.0.0.1:\(metricsPort)", "--duration", "60",
                                "--interval", "0", "--decode-as", "udp.port==\(dnsPort),dns", "--html", page,
                                "--buffer-size", "64", "-f", ports])
        defer { live.stop() }
        try #require(live.waitForStandardError("metrics at http://127.0.0.1:\(metricsPort)/metrics", seconds: 10),
                     "\(live.standardError)")
        try #require(live.waitForStandardError("listening on lo", seconds: 10), "\(live.standardError)")
        Thread.sleep(forTimeInterval: 0.3)   // libpcap's immediate mode is on; give the capture a moment

        for _ in 0..<3 { #expect(Loopback.connect(to: closed) == ECONNREFUSED) }
        for _ in 0..<2 { #expect(Loopback.connect(to: listener.port) == 0) }
        let dns = try python(["dns", String(dnsPort)])
        #expect(dns.stdout.contains("\"rcode\": 3"), "\(dns.stderr)")
        listener.finish()
        // Metrics refresh every second; a refused connection is a finding once 1 s old.
        Thread.sleep(forTimeInterval: 2.5)

        guard let metrics = try scrape(metricsPort) else { return }
        #expect(metrics.contentType.hasPrefix("text/plain; version=0.0.4"))
        // Three refused connections: SYN and RST each (the kernel's answer to a closed port).
        #expect(metrics.value("netsift_tcp_resets_total") == 3)
        // Refused conversations are over once quiet; until then they are active, in state REJ.
        let refused = (metrics.value("netsift_conversations_finished_total", ["transport": "tcp", "state": "REJ"]) ?? 0)
            + (metrics.value("netsift_conversations_active", ["transport": "tcp", "state": "REJ"]) ?? 0)
        #expect(refused == 3)
        #expect(metrics.value("netsift_findings", ["kind": "connection_refused", "severity": "error"]) == 1)
        #expect(metrics.value("netsift_tcp_retransmissions_total") == 0)
        // At least: 3 × 2 (refused), 2 × 3 (handshakes), 2 (DNS), and the HTTP exchanges.
        #expect((metrics.value("netsift_packets_total") ?? 0) >= 14)
        #expect((metrics.value("netsift_bytes_total") ?? 0) > 0)
        #expect(metrics.value("netsift_kernel_dropped_packets_total") == 0)
        #expect(metrics.value("netsift_dns_responses_total", ["rcode": "NXDomain"]) == 1)
        #expect(metrics.value("netsift_dns_response_seconds_count") == 1)
        let sum = metrics.value("netsift_dns_response_seconds_sum") ?? 0
        #expect(sum >= 0.03 && sum < 1, "the responder waited 30 ms: \(sum) s")
        #expect(metrics.value("netsift_dns_response_seconds_bucket", ["le": "0.025"]) == 0)
        #expect(metrics.value("netsift_dns_response_seconds_bucket", ["le": "+Inf"]) == 1)

        // Every family the documentation lists is there from the first scrape on.
        for name in ["netsift_packets_total", "netsift_interface_dropped_packets_total", "netsift_conversations_active"] {
            #expect(metrics.samples.contains { $0.name == name }, "\(name) missing")
        }

        // Then HTTP, scraped apart: a server closing its side may end with a reset of its own.
        let http = try python(["http", String(httpPort)])
        #expect(http.stdout.contains("[200, 404]"), "\(http.stderr)")
        Thread.sleep(forTimeInterval: 2)
        guard let later = try scrape(metricsPort) else { return }
        #expect(later.value("netsift_http_responses_total", ["code": "200", "protocol": "http"]) == 1)
        #expect(later.value("netsift_http_responses_total", ["code": "404", "protocol": "http"]) == 1)
        #expect((later.value("netsift_packets_total") ?? 0) > (metrics.value("netsift_packets_total") ?? 0))

        // The listener stops with the capture (Ctrl-C here; the test does not wait for --duration).
        live.process.interrupt()
        let status = live.wait(seconds: 20)
        #expect(status == 0, "\(live.standardError)")
        #expect(Loopback.connect(to: metricsPort) == ECONNREFUSED)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("data-json=\"capture.tcp_states.REJ\">3<"))
        #expect(html.contains("NXDomain 1"))
    }

    @Test func anAddressInUseStopsBeforeCapturing() throws {
        let (socket, port) = try Loopback.bound()
        defer { close(socket) }
        #expect(listen(socket, 1) == 0)
        let result = try CLI.run(["live", "-i", "lo", "--metrics", "127.0.0.1:\(port)", "--duration", "1"])
        #expect(result.status == 2)
        #expect(result.stderr == "netsift: --metrics 127.0.0.1:\(port): cannot listen: address already in use\n")
    }

    @Test func anAddressThisHostDoesNotHave() throws {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): on no interface of this machine.
        let result = try CLI.run(["live", "-i", "lo", "--metrics", "192.0.2.1:9464", "--duration", "1"])
        #expect(result.status == 2)
        #expect(result.stderr == "netsift: --metrics 192.0.2.1:9464: cannot listen: address not available on this host\n")
        let bad = try CLI.run(["live", "-i", "lo", "--metrics", "example.com:80", "--duration", "1"])
        #expect(bad.status == 2)
        #expect(bad.stderr == "netsift: --metrics example.com:80: example.com is not a numeric IPv4 or IPv6 address\n")
    }
}

import Testing
import NetsiftDissect
@testable import NetsiftFlows
@testable import NetsiftReport

/// The HTTP/1.x findings (and the response times HTTP/2 shares) on messages built in the test.
@Suite struct HTTP1FindingTests {
    static let proxy = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 80)
    static let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 40_000)

    static func head(_ text: String) -> HTTP1Head {
        try! Array(text.utf8).withUnsafeBytes { raw throws(HTTP1Problem) in try HTTP1Head.decode(raw.bytes) }
    }

    /// A response of `status` to `GET target`, sent `waitMs` after the request.
    static func add(_ diagnosis: inout Diagnosis, _ status: String, target: String, waitMs: Int64,
                    location: String? = nil, frame: Int = 2) {
        let request = HTTP1RequestLine(method: "GET", target: target, host: "app", frame: frame - 1, time: 0)
        let response = head("HTTP/1.1 \(status)\r\n" + (location.map { "Location: \($0)\r\n" } ?? ""))
        let context = ApplicationContext(frame: frame, time: waitMs * 1_000_000, transport: .tcp, stream: 0,
                                         source: proxy, destination: client, fromClient: false)
        diagnosis.add(ApplicationEvent(context: context, message: .http1(.response(
            head: response, bodyBytes: 0, request: request, firstByteTime: waitMs * 1_000_000))))
    }

    static func findings(_ diagnosis: Diagnosis) -> [Finding] {
        diagnosis.findings(start: nil, end: nil, counters: FlowCounters())
    }

    /// Diagnosis with the slow-response threshold at 1 s.
    static func diagnosis() -> Diagnosis {
        var thresholds = DiagnosisThresholds()
        thresholds.httpSlowMilliseconds = 1_000
        return Diagnosis(thresholds: thresholds)
    }

    @Test func gatewayTimeoutSaysHowLongTheProxyWaited() {
        var detector = Self.diagnosis()
        Self.add(&detector, "504 Gateway Time-out", target: "/slow?x=1", waitMs: 3_000)
        Self.add(&detector, "200 OK", target: "/fast", waitMs: 5)
        let findings = Self.findings(detector)
        let errors = findings.first { $0.kind == .httpServerErrors }
        #expect(errors?.count == 1)
        #expect(errors?.facts["longest_wait_ms"] == .double(3_000))
        #expect(errors?.summary.contains("504 GET /slow ×1") == true)
        #expect(errors?.likelyCause.contains("504 Gateway Timeout") == true)
        let slow = findings.first { $0.kind == .httpSlowResponses }
        #expect(slow?.facts["slowest"]?.description.hasPrefix("GET /slow?x=1 504 3000 ms") == true)
    }

    @Test func clientErrorRatesPerPath() {
        var detector = Self.diagnosis()
        for _ in 0..<3 { Self.add(&detector, "404 Not Found", target: "/missing", waitMs: 1) }
        Self.add(&detector, "200 OK", target: "/ok", waitMs: 1)
        let finding = Self.findings(detector).first { $0.kind == .httpClientErrors }
        #expect(finding?.count == 3)
        #expect(finding?.facts["paths"] == .string("404 /missing 3/3 (100 %)"))
        #expect(finding?.facts["rate_percent"] == .double(75))
    }

    @Test func redirectLoop() {
        var detector = Self.diagnosis()
        Self.add(&detector, "301 Moved", target: "/a", waitMs: 1, location: "https://app/a")
        Self.add(&detector, "302 Found", target: "https://app/a", waitMs: 1, location: "http://app/a")
        let loop = Self.findings(detector).first { $0.kind == .httpRedirectLoop }
        #expect(loop?.facts["chain"]?.description.hasPrefix("https://app/a → http://app/a → https://app/a") == true)
    }

    /// HTTP/2 streams get the same time-to-first-byte statistics: from the request's END_STREAM
    /// to the response's header block with the final status.
    @Test func http2ResponseTimesMakeTheSameSlowResponseFinding() {
        var diagnosis = Self.diagnosis()
        for (index, waitMs) in [Int64(2), 3, 2_500].enumerated() {
            var stream = HTTP2Stream(streamID: UInt32(2 * index + 1), origin: .client, frame: 10 * index + 1, time: 0)
            stream.method = "GET"
            stream.path = "/api/\(index)"
            stream.status = 200
            stream.requestEndTime = 1_000_000
            stream.responseTime = 1_000_000 + waitMs * 1_000_000
            stream.responseFrame = 10 * index + 2
            stream.clientEndStream = true
            stream.serverEndStream = true
            let context = ApplicationContext(frame: 10 * index + 3, time: stream.responseTime!, transport: .tcp, stream: 0,
                                             source: Self.proxy, destination: Self.client, fromClient: false)
            diagnosis.add(ApplicationEvent(context: context, message: .http2(HTTP2Message(
                frame: 10 * index + 3, time: stream.responseTime!, fromClient: false, event: .streamEnded(stream)))))
        }
        let slow = Self.findings(diagnosis).first { $0.kind == .httpSlowResponses }
        #expect(slow?.endpoint == "10.0.0.1:80")
        #expect(slow?.count == 3)
        #expect(slow?.facts["http_versions"] == .string("HTTP/2"))
        #expect(slow?.facts["slowest"]?.description.hasPrefix("GET /api/2 200 2500 ms") == true)
        #expect(slow?.frames.contains(22) == true, "the response's header block")
    }
}

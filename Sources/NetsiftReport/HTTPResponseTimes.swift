import NetsiftDissect
import NetsiftFlows

/// Slow responses per server, HTTP/1.x and HTTP/2 alike: time to first byte (from the request's
/// last byte to the response's first — for HTTP/2, from the client's END_STREAM to the header
/// block with the final status) in a bounded histogram, p95/p99 against the threshold, with the
/// slowest requests.
struct ResponseTimeDetector {
    let slowMilliseconds: Double

    /// Times to first byte per server, in a log-scale histogram (bounded whatever the count), and
    /// the slowest requests.
    struct Latency {
        var histogram = [Int](repeating: 0, count: Self.buckets)
        var count = 0
        var slowest: [(ttfb: Int64, text: String, frame: Int, stream: Int)] = []
        /// Responses per protocol ("HTTP/1.x", "HTTP/2").
        var versions: [String: Int] = [:]

        /// Bucket i holds times up to 1.1^i µs: 10 % resolution from 1 µs to over an hour.
        static let buckets = 240
        static let upperBoundsMicros: [Double] = {
            var bounds: [Double] = []
            var bound = 1.0
            for _ in 0..<buckets {
                bounds.append(bound)
                bound *= 1.1
            }
            return bounds
        }()
        static func bucket(_ ns: Int64) -> Int {
            let micros = Double(ns) / 1_000
            var low = 0, high = buckets - 1
            while low < high {   // the first bound at or above `micros`
                let middle = (low + high) / 2
                if upperBoundsMicros[middle] >= micros { high = middle } else { low = middle + 1 }
            }
            return low
        }
        static func upperBound(_ bucket: Int) -> Double { upperBoundsMicros[bucket] / 1_000 }   // ms

        mutating func add(_ ttfb: Int64, text: @autoclosure () -> String, frame: Int, stream: Int, version: String) {
            histogram[Self.bucket(ttfb)] += 1
            count += 1
            versions[version, default: 0] += 1
            if slowest.count < 5 || ttfb > slowest.last!.ttfb {
                slowest.append((ttfb, text(), frame, stream))
                slowest.sort { $0.ttfb > $1.ttfb }
                if slowest.count > 5 { slowest.removeLast() }
            }
        }

        /// The time (ms) at or under which `fraction` of the responses came, to 10 %.
        func percentile(_ fraction: Double) -> Double {
            let target = Int((Double(count) * fraction).rounded(.up))
            var seen = 0
            for (index, n) in histogram.enumerated() {
                seen += n
                if seen >= target { return Self.upperBound(index) }
            }
            return Self.upperBound(Self.buckets - 1)
        }
    }
    var latencies: [String: Latency] = [:]

    /// An HTTP/1.x response (1xx interim answers are not responses here).
    mutating func add(_ message: HTTP1Message, context: ApplicationContext) {
        guard case .response(let head, _, let request, let firstByteTime) = message, let status = head.status,
              !(100...199).contains(status), let request else { return }
        let wait = firstByteTime - request.time
        guard wait >= 0 else { return }
        latencies[latencies.bounded("\(context.source)"), default: Latency()].add(
            wait, text: "\(request.method) \(request.target.prefix(80)) \(status)", frame: context.frame,
            stream: context.stream, version: "HTTP/1.x")
    }

    /// An HTTP/2 stream that ended with a response to a whole request.
    mutating func add(_ message: HTTP2Message, context: ApplicationContext) {
        guard case .streamEnded(let stream) = message.event, let wait = stream.timeToFirstByte, wait >= 0,
              let status = stream.status else { return }
        let server = message.fromClient ? context.destination : context.source
        latencies[latencies.bounded("\(server)"), default: Latency()].add(
            wait, text: "\(stream.method ?? "?") \((stream.path ?? stream.authority ?? "").prefix(80)) \(status)",
            frame: stream.responseFrame ?? message.frame, stream: context.stream, version: "HTTP/2")
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (server, latency) in latencies {
            let p95 = latency.percentile(0.95), p99 = latency.percentile(0.99)
            guard p95 > slowMilliseconds || p99 > slowMilliseconds else { continue }
            let slow = latency.slowest.map { "\($0.text) \(HTTP1Detector.milliseconds($0.ttfb)) ms" }.joined(separator: ", ")
            let versions = latency.versions.keys.sorted().joined(separator: " and ")
            out.append(Finding(
                kind: .httpSlowResponses, severity: .warning, endpoint: server, count: latency.count,
                countUnit: "responses",
                flows: Array(Set(latency.slowest.map { FlowReference(transport: "tcp", stream: $0.stream) }))
                    .sorted { $0.stream < $1.stream },
                frames: latency.slowest.map(\.frame),
                facts: ["p95_ms": .double(HTTP1Detector.rounded(p95)), "p99_ms": .double(HTTP1Detector.rounded(p99)),
                        "threshold_ms": .double(slowMilliseconds), "slowest": .string(slow),
                        "http_versions": .string(versions)],
                summary: "\(server) is slow to answer: time to first byte p95 ≤ \(HTTP1Detector.rounded(p95)) ms, p99 ≤ \(HTTP1Detector.rounded(p99)) ms over \(plural(latency.count, "\(versions) response")) (threshold \(Int(slowMilliseconds)) ms); slowest: \(slow).",
                explanation: "Time to first byte runs from the request's last byte to the response's first (HTTP/2: from the request's END_STREAM to the response's headers): the server's (or its upstream's) thinking time, plus one network round trip.",
                likelyCause: "A slow backend or database behind the server, saturation (queueing: look at the concurrency), or a proxy waiting on a slow upstream.",
                nextStep: "Trace the slowest requests listed in the server's logs (upstream_response_time in nginx) and check its load and its backends."))
        }
        return out
    }
}

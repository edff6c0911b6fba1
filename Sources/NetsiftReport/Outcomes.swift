import NetsiftDissect
import NetsiftFlows

/// How the application exchanges went, per server, as the detectors saw them: DNS answers by
/// response code with their response times, TLS handshakes by how they ended, HTTP responses by
/// status. What the HTML report's tables and `live --metrics` show. Servers past
/// `Finding.endpointLimit` are counted together under `Finding.otherEndpoints`, as findings are.
public struct Outcomes: Sendable {
    public var dns: [DNSServer] = []
    public var tls: [TLSServer] = []
    public var http: [HTTPServer] = []

    public init() {}

    public struct DNSServer: Sendable, Equatable {
        public var server: String
        public var queries = 0
        /// Queries that got no answer within the timeout (or were evicted waiting).
        public var unanswered = 0
        /// Answers by response code, IANA's names ("NoError", "NXDomain", …).
        public var responseCodes: [String: Int] = [:]
        /// Time from query to answer, for the answers that had their query in the capture.
        public var responseTimes = ResponseTimeBuckets()

        mutating func add(_ t: DNSTransaction) {
            if t.outcome != .responseOnly { queries += 1 }
            switch t.outcome {
            case .unanswered, .evicted:
                unanswered += 1
            case .answered, .responseOnly:
                if let code = t.responseCode { responseCodes[DNSResponseCode.name(code), default: 0] += 1 }
                if let latency = t.latency { responseTimes.add(seconds: Double(latency) / 1e9) }
            }
        }
    }

    public struct TLSServer: Sendable, Equatable {
        public var server: String
        /// Handshakes begun (a ClientHello seen), and those the server answered with no alert.
        public var handshakes = 0
        public var completed = 0
        /// Handshake alerts by description and sender.
        public var alerts: [TLSAlert: Int] = [:]
        /// Handshakes with no ServerHello and no alert, by how they ended: "reset", "closed", "silent".
        public var aborted: [String: Int] = [:]
    }

    /// A TLS alert sent in the clear during a handshake.
    public struct TLSAlert: Sendable, Hashable {
        public var description: UInt8
        public var fromClient: Bool
        public init(description: UInt8, fromClient: Bool) {
            self.description = description
            self.fromClient = fromClient
        }
        /// "handshake_failure (40)".
        public var name: String { "\(TLSNames.alertDescription(description)) (\(description))" }
        public var sender: String { fromClient ? "client" : "server" }
    }

    public struct HTTPServer: Sendable, Equatable {
        public var server: String
        /// "http" (HTTP/1.x) or "http2".
        public var protocolName: String
        /// Final responses by status code.
        public var statuses: [Int: Int] = [:]
        public var responses: Int { statuses.values.reduce(0, +) }
    }
}

/// Counts of values in fixed buckets (Prometheus' cumulative `le` buckets are their running sums):
/// a response-time distribution in bounded memory.
public struct ResponseTimeBuckets: Sendable, Equatable {
    /// Upper bounds in seconds, from 1 ms to 10 s; past the last is `+Inf`.
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Per bucket (not cumulative): values at most `bounds[i]` and above the bound before; the last is above all bounds.
    public private(set) var counts = [Int](repeating: 0, count: ResponseTimeBuckets.bounds.count + 1)
    public private(set) var count = 0
    public private(set) var sum = 0.0

    public init() {}

    public mutating func add(seconds: Double) {
        let index = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        counts[index] += 1
        count += 1
        sum += seconds
    }
}

extension Diagnosis {
    /// The outcomes per server once the capture has been read (queries still waiting count as
    /// unanswered, as the findings count them); `ongoing`: while it goes on, without them.
    public func outcomes(ongoing: Bool = false) -> Outcomes {
        var outcomes = Outcomes()
        var dns = self.dns
        if !ongoing { dns.settle(asOf: nil) }
        outcomes.dns = dns.servers.values.sorted { $0.server < $1.server }
        outcomes.tls = tls.servers.values.sorted { $0.server < $1.server }
        outcomes.http = (http1.statuses.map { Outcomes.HTTPServer(server: $0.key, protocolName: "http", statuses: $0.value) }
            + http2.statuses.map { Outcomes.HTTPServer(server: $0.key, protocolName: "http2", statuses: $0.value) })
            .sorted { ($0.server, $0.protocolName) < ($1.server, $1.protocolName) }
        return outcomes
    }
}

extension Diagnosis {
    /// From now on, keep each DNS answer's response time until `takeDNSResponseTimes` (for a live
    /// capture's metrics, which observe every one); at most 65,536 wait, the rest are not kept.
    public mutating func journalDNSResponseTimes() {
        if dns.journal == nil { dns.journal = [] }
    }

    /// The response times (s) of the DNS answers since the last call.
    public mutating func takeDNSResponseTimes() -> [Double] {
        defer { if dns.journal != nil { dns.journal!.removeAll(keepingCapacity: true) } }
        return dns.journal ?? []
    }
}

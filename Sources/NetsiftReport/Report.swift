import NetsiftFlows

/// Everything `netsift analyze` found in one capture, in the shape of its versioned JSON
/// (docs/analyze-json.md): the capture, the findings bottom-up, the verdict, the top flows.
public struct AnalysisReport: Sendable, Codable {
    public static let schema = "netsift.analyze/2"

    public struct Capture: Sendable, Codable {
        public var file: String
        /// Several files read as one capture: each, in the order they were read (absent for one).
        public var files: [String]?
        public var packets: Int
        public var firstPacket: Int64?
        public var lastPacket: Int64?
        public var durationSeconds: Double
        public var complete: Bool
        public var damage: String?
        public var tcpConversations: Int
        public var udpConversations: Int
        /// TCP conversations per Zeek conn_state.
        public var tcpStates: [String: Int]
        public var applicationMessages: [String: Int]
        public init(file: String, packets: Int, firstPacket: Int64?, lastPacket: Int64?, damage: String?,
                    counters: FlowCounters, tcpStates: [String: Int], applicationMessages: [String: Int]) {
            self.file = file
            self.packets = packets
            self.firstPacket = firstPacket
            self.lastPacket = lastPacket
            durationSeconds = Double((lastPacket ?? 0) &- (firstPacket ?? 0)) / 1e9   // wrapping: hostile timestamps
            complete = damage == nil
            self.damage = damage
            tcpConversations = counters.tcpConversations
            udpConversations = counters.udpConversations
            self.tcpStates = tcpStates
            self.applicationMessages = applicationMessages
        }
    }

    public var schema = AnalysisReport.schema
    public var capture: Capture
    public var findings: [Finding]
    public var verdict: Finding?
    /// How far to trust the verdict: `low` when the capture itself misses packets (significant
    /// `capture_loss`, `packets_dropped`) or is damaged, so that loss, stalls and unanswered
    /// segments may be the recorder's; with the reason. Absent without a verdict.
    public var verdictConfidence: Confidence?
    public var verdictCaveat: String?

    public enum Confidence: String, Sendable, Codable { case high, low }
    /// The conversations with the most trouble (retransmissions, resets, failures), then the largest.
    public var topFlows: [FlowSummary]
    public var thresholds: [String: Double]

    public init(capture: Capture, findings: [Finding], topFlows: [FlowSummary], thresholds: DiagnosisThresholds) {
        self.capture = capture
        self.findings = findings
        verdict = Diagnosis.verdict(findings)
        if let verdict {
            // Doubt from the capture, unless the capture's trouble is the verdict itself.
            let doubt = findings.first {
                [.captureLoss, .packetsDropped, .captureDamaged].contains($0.kind) && $0.severity >= .warning
                    && $0.kind != verdict.kind
            }
            verdictConfidence = doubt == nil ? .high : .low
            verdictCaveat = doubt.map { "The capture itself is incomplete (\($0.kind.rawValue)): loss, stalls and unanswered segments may be the recorder's, not the network's." }
        }
        self.topFlows = topFlows
        self.thresholds = thresholds.named
    }
}

/// Keeps the few conversations most worth showing, in bounded memory: trouble first (failed or
/// reset handshakes, retransmissions), then size.
public struct TopFlows: Sendable {
    public let limit: Int
    public private(set) var flows: [FlowSummary] = []

    public init(limit: Int = 10) { self.limit = limit }

    /// The worst kept when the list was last trimmed to `limit`: a flow that ranks no higher can
    /// never be shown (the sort is stable, so among equals the earlier one stays).
    var floor: (trouble: Int, bytes: Int)?

    public static func trouble(_ f: FlowSummary) -> Int {
        trouble(retransmittedBytes: f.retransmittedBytes, state: f.state, flagged: f.analysis.values.reduce(0, +))
    }

    static func trouble(retransmittedBytes: Int, state: ConnectionState, flagged: Int) -> Int {
        var score = retransmittedBytes > 0 ? 1_000_000 + retransmittedBytes / 100 : 0
        switch state {
        case .S0, .REJ, .RSTOS0, .RSTR, .RSTO, .SH, .SHR: score += 500_000
        default: break
        }
        return score + flagged
    }

    /// A finished conversation's rank, as its summary's would be, without making the summary.
    public static func rank(_ flow: FinishedFlow) -> (trouble: Int, bytes: Int) {
        switch flow {
        case .tcp(let c):
            (trouble(retransmittedBytes: c.sides.0.retransmittedBytes + c.sides.1.retransmittedBytes,
                     state: c.connectionState, flagged: c.analysisCounts.reduce(0, +)),
             c.sides.0.bytes + c.sides.1.bytes)
        case .udp(let c):
            (trouble(retransmittedBytes: 0, state: c.connectionState, flagged: 0), c.sides.0.bytes + c.sides.1.bytes)
        }
    }

    /// Whether a flow of this rank could still be among the top ones.
    public func admits(_ rank: (trouble: Int, bytes: Int)) -> Bool {
        guard let floor else { return true }
        return rank.trouble != floor.trouble ? rank.trouble > floor.trouble : rank.bytes > floor.bytes
    }

    public mutating func add(_ flow: FlowSummary) {
        flows.append(flow)
        if flows.count > limit * 4 { trim() }
    }

    mutating func trim() {
        flows.sort { a, b in
            let ta = Self.trouble(a), tb = Self.trouble(b)
            return ta != tb ? ta > tb : a.bytes > b.bytes
        }
        flows = Array(flows.prefix(limit))
        if flows.count == limit, let last = flows.last { floor = (Self.trouble(last), last.bytes) }
    }

    public func top() -> [FlowSummary] {
        var copy = self
        copy.trim()
        return copy.flows
    }
}

import NetsiftFlows
import NetsiftDissect

/// What must hold of a capture's analysis, for `netsift check` (docs/check.md): capture facts with
/// bounds, findings present (with count and fact bounds) or absent, whether other findings may
/// appear, and conversations by endpoint and state with count bounds. It is read from JSON, and
/// unknown keys are errors, so a misspelt assertion never passes silently.
public struct Expectation: Sendable, Equatable, Codable {
    /// Written by `--update`. Version 1 spelt multi-word keys in camelCase (`decodeAs`,
    /// `otherFindings`); version 2 in snake_case, as every output. Both are read.
    public static let schema = "netsift.expect/2"
    public static let schemasRead: Set<String> = ["netsift.expect/1", "netsift.expect/2"]

    /// Every property name of the format's objects (Swift spelling), for a decoder that reads
    /// their snake_case form too (`JSONOutput.decoder`).
    public static var propertyNames: [String] {
        (CodingKeys.allCases.map(\.rawValue) + Options.CodingKeys.allCases.map(\.rawValue)
            + CaptureFacts.CodingKeys.allCases.map(\.rawValue) + FindingAssertion.CodingKeys.allCases.map(\.rawValue)
            + FlowAssertion.CodingKeys.allCases.map(\.rawValue) + Bound.CodingKeys.allCases.map(\.rawValue))
    }

    public var schema: String?
    /// Free text: what the capture shows and why these assertions.
    public var description: String?
    public var options: Options?
    public var capture: CaptureFacts?
    public var findings: [FindingAssertion]?
    /// Whether findings no assertion lists may appear (default: allowed).
    public var otherFindings: OtherFindings?
    public var flows: [FlowAssertion]?

    public init(description: String? = nil, options: Options? = nil, capture: CaptureFacts? = nil,
                findings: [FindingAssertion]? = nil, otherFindings: OtherFindings? = nil, flows: [FlowAssertion]? = nil) {
        schema = Self.schema
        self.description = description
        self.options = options
        self.capture = capture
        self.findings = findings
        self.otherFindings = otherFindings
        self.flows = flows
    }

    /// How the capture is analysed for this expectation (on top of the command line's).
    public struct Options: Sendable, Equatable, Codable {
        /// A BPF filter, and-ed with `-f` when both are given.
        public var filter: String?
        /// Decode-As rules, as `--decode-as` takes them.
        public var decodeAs: [String]?
        /// Diagnosis thresholds by the names the report's `thresholds` uses.
        public var thresholds: [String: Double]?

        enum CodingKeys: String, CodingKey, CaseIterable { case filter, decodeAs, thresholds }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            filter = try c.decodeIfPresent(String.self, forKey: .filter)
            decodeAs = try c.decodeIfPresent([String].self, forKey: .decodeAs)
            thresholds = try c.decodeIfPresent([String: Double].self, forKey: .thresholds)
            for name in thresholds?.keys.sorted() ?? [] where DiagnosisThresholds().named[name] == nil {
                throw DecodingError.dataCorruptedError(forKey: .thresholds, in: c, debugDescription:
                    "unknown threshold \"\(name)\" (known: \(DiagnosisThresholds().named.keys.sorted().joined(separator: ", ")))")
            }
            for name in DiagnosisThresholds.counts {
                guard let value = thresholds?[name], Int(exactly: value) == nil || value < 0 else { continue }
                throw DecodingError.dataCorruptedError(forKey: .thresholds, in: c, debugDescription:
                    "threshold \"\(name)\" is a count: a whole number, 0 or more (not \(value))")
            }
        }
    }

    /// Facts about the whole capture, named as in the report's `capture` object.
    public struct CaptureFacts: Sendable, Equatable, Codable {
        public var packets: Bound?
        public var tcpConversations: Bound?
        public var udpConversations: Bound?
        public var durationSeconds: Bound?
        public var complete: Bool?
        /// TCP conversations per Zeek conn_state; a state not in the report counts 0.
        public var tcpStates: [String: Bound]?
        /// Application messages per protocol; a protocol not in the report counts 0.
        public var applicationMessages: [String: Bound]?

        public init(packets: Bound? = nil, tcpConversations: Bound? = nil, udpConversations: Bound? = nil,
                    durationSeconds: Bound? = nil, complete: Bool? = nil, tcpStates: [String: Bound]? = nil,
                    applicationMessages: [String: Bound]? = nil) {
            self.packets = packets
            self.tcpConversations = tcpConversations
            self.udpConversations = udpConversations
            self.durationSeconds = durationSeconds
            self.complete = complete
            self.tcpStates = tcpStates
            self.applicationMessages = applicationMessages
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case packets, tcpConversations, udpConversations, durationSeconds, complete, tcpStates, applicationMessages
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            packets = try c.decodeIfPresent(Bound.self, forKey: .packets)
            tcpConversations = try c.decodeIfPresent(Bound.self, forKey: .tcpConversations)
            udpConversations = try c.decodeIfPresent(Bound.self, forKey: .udpConversations)
            durationSeconds = try c.decodeIfPresent(Bound.self, forKey: .durationSeconds)
            complete = try c.decodeIfPresent(Bool.self, forKey: .complete)
            tcpStates = try c.decodeIfPresent([String: Bound].self, forKey: .tcpStates)
            applicationMessages = try c.decodeIfPresent([String: Bound].self, forKey: .applicationMessages)
            for state in tcpStates?.keys.sorted() ?? [] where ConnectionState(rawValue: state) == nil {
                throw DecodingError.dataCorruptedError(forKey: .tcpStates, in: c, debugDescription:
                    "unknown TCP state \"\(state)\" (Zeek's conn_state: \(ConnectionState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
    }

    /// A finding that must be there (with bounds on its count and facts), or must not.
    public struct FindingAssertion: Sendable, Equatable, Codable {
        public var kind: FindingKind
        /// Only findings about this endpoint ("10.0.0.2:443", or an address for any of its ports).
        public var endpoint: String?
        /// Only findings of this severity.
        public var severity: Severity?
        /// True: no finding matches. Otherwise at least one must.
        public var absent: Bool?
        /// Bounds on the finding's count (summed when several findings match).
        public var count: Bound?
        /// Bounds (numbers) or exact values (strings) of its facts, which every matching finding must meet.
        public var facts: [String: FactAssertion]?

        public init(kind: FindingKind, endpoint: String? = nil, severity: Severity? = nil, absent: Bool? = nil,
                    count: Bound? = nil, facts: [String: FactAssertion]? = nil) {
            self.kind = kind
            self.endpoint = endpoint
            self.severity = severity
            self.absent = absent
            self.count = count
            self.facts = facts
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case kind, endpoint, severity, absent, count, facts }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let name = try c.decode(String.self, forKey: .kind)
            guard let kind = FindingKind(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription:
                    "unknown finding kind \"\(name)\" (known: \(FindingKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.kind = kind
            endpoint = try c.decodeIfPresent(String.self, forKey: .endpoint)
            severity = try c.decodeIfPresent(Severity.self, forKey: .severity)
            absent = try c.decodeIfPresent(Bool.self, forKey: .absent)
            count = try c.decodeIfPresent(Bound.self, forKey: .count)
            facts = try c.decodeIfPresent([String: FactAssertion].self, forKey: .facts)
            if absent == true && (count != nil || facts != nil) {
                throw DecodingError.dataCorruptedError(forKey: .absent, in: c, debugDescription:
                    "an absent finding has no count or facts")
            }
        }

        /// "connection_refused at 10.0.0.2:81 (error)".
        public var name: String {
            kind.rawValue + (endpoint.map { " at \($0)" } ?? "") + (severity.map { " (\($0.rawValue))" } ?? "")
        }

        func matches(_ finding: Finding) -> Bool {
            finding.kind == kind && (severity == nil || finding.severity == severity)
                && (endpoint == nil || finding.endpoint.map { endpointMatches(endpoint!, $0) } == true)
        }
    }

    /// A fact's expected value: a bound on a number, or a string.
    public enum FactAssertion: Sendable, Equatable, Codable, CustomStringConvertible {
        case bound(Bound)
        case string(String)

        public init(from decoder: Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self = .string(text)
            } else {
                self = .bound(try Bound(from: decoder))
            }
        }

        public func encode(to encoder: Encoder) throws {
            switch self {
            case .bound(let bound): try bound.encode(to: encoder)
            case .string(let text):
                var c = encoder.singleValueContainer()
                try c.encode(text)
            }
        }

        func holds(_ value: FactValue) -> Bool {
            switch (self, value) {
            case (.string(let expected), _): expected == value.description
            case (.bound(let bound), .int(let number)): bound.holds(Double(number))
            case (.bound(let bound), .double(let number)): bound.holds(number)
            case (.bound, .string): false
            }
        }

        public var description: String {
            switch self {
            case .bound(let bound): bound.description
            case .string(let text): "\"\(text)\""
            }
        }
    }

    /// Conversations selected by transport, endpoints, service and state, and how many there must be.
    public struct FlowAssertion: Sendable, Equatable, Codable {
        /// "tcp" or "udp".
        public var transport: String?
        /// Zeek's originator (the SYN's sender, or the first datagram's) and responder: "10.0.0.1:40000",
        /// or an address for any of its ports.
        public var originator: String?
        public var responder: String?
        /// The application protocol parsed: "dns", "tls", "http2".
        public var service: String?
        /// TLS: the server name (SNI) the client sent.
        public var serverName: String?
        /// Zeek's conn_state.
        public var state: ConnectionState?
        /// How many conversations match (default: at least one).
        public var count: Bound?

        public init(transport: String? = nil, originator: String? = nil, responder: String? = nil,
                    service: String? = nil, serverName: String? = nil, state: ConnectionState? = nil,
                    count: Bound? = nil) {
            self.transport = transport
            self.originator = originator
            self.responder = responder
            self.service = service
            self.serverName = serverName
            self.state = state
            self.count = count
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case transport, originator, responder, service, serverName, state, count
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            transport = try c.decodeIfPresent(String.self, forKey: .transport)
            if let transport, transport != "tcp" && transport != "udp" {
                throw DecodingError.dataCorruptedError(forKey: .transport, in: c, debugDescription:
                    "transport is \"tcp\" or \"udp\", not \"\(transport)\"")
            }
            originator = try c.decodeIfPresent(String.self, forKey: .originator)
            responder = try c.decodeIfPresent(String.self, forKey: .responder)
            service = try c.decodeIfPresent(String.self, forKey: .service)
            serverName = try c.decodeIfPresent(String.self, forKey: .serverName)
            let state = try c.decodeIfPresent(String.self, forKey: .state)
            if let state {
                guard let known = ConnectionState(rawValue: state) else {
                    throw DecodingError.dataCorruptedError(forKey: .state, in: c, debugDescription:
                        "unknown state \"\(state)\" (Zeek's conn_state: \(ConnectionState.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                self.state = known
            }
            count = try c.decodeIfPresent(Bound.self, forKey: .count)
        }

        /// "tcp 10.0.0.1 → 10.0.0.2:81 REJ".
        public var name: String {
            let parts = [transport, service, serverName.map { "SNI " + $0 }, originator.map { $0 + " →" } ?? (responder == nil ? nil : "→"), responder,
                         state?.rawValue]
            let text = parts.compactMap { $0 }.joined(separator: " ")
            return text.isEmpty ? "all" : text
        }

        func matches(_ flow: FlowSummary) -> Bool {
            (transport == nil || flow.transport == transport) && (service == nil || flow.service == service)
                && (serverName == nil || flow.serverName == serverName)
                && (state == nil || flow.state == state)
                && (originator == nil || endpointMatches(originator!, flow.originator.endpoint))
                && (responder == nil || endpointMatches(responder!, flow.responder.endpoint))
        }
    }

    /// Whether findings that no assertion lists may appear.
    public enum OtherFindings: String, Sendable, Equatable, Codable {
        case allowed
        case forbidden
        /// Only findings of severity info may be unlisted.
        case info
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, description, options, capture, findings, otherFindings, flows
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decodeIfPresent(String.self, forKey: .schema)
        if let schema, !Self.schemasRead.contains(schema) {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: c, debugDescription:
                "schema \"\(schema)\" is not \"\(Self.schema)\" (nor the earlier \"netsift.expect/1\")")
        }
        description = try c.decodeIfPresent(String.self, forKey: .description)
        options = try c.decodeIfPresent(Options.self, forKey: .options)
        capture = try c.decodeIfPresent(CaptureFacts.self, forKey: .capture)
        findings = try c.decodeIfPresent([FindingAssertion].self, forKey: .findings)
        otherFindings = try c.decodeIfPresent(OtherFindings.self, forKey: .otherFindings)
        flows = try c.decodeIfPresent([FlowAssertion].self, forKey: .flows)
    }
}

/// A bound on a number: a number means exactly that; an object holds any of `min` and `max`
/// (inclusive), `below` and `above` (exclusive).
public struct Bound: Sendable, Equatable, Codable, CustomStringConvertible {
    public var exactly: Double?
    public var min: Double?
    public var max: Double?
    public var below: Double?
    public var above: Double?

    public init(exactly: Double? = nil, min: Double? = nil, max: Double? = nil, below: Double? = nil,
                above: Double? = nil) {
        self.exactly = exactly
        self.min = min
        self.max = max
        self.below = below
        self.above = above
    }

    public static func exactly(_ value: Int) -> Bound { Bound(exactly: Double(value)) }

    enum CodingKeys: String, CodingKey, CaseIterable { case min, max, below, above }

    public init(from decoder: Decoder) throws {
        if let value = try? decoder.singleValueContainer().decode(Double.self) {
            exactly = value
            return
        }
        guard (try? decoder.container(keyedBy: CodingKeys.self)) != nil else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription:
                "a bound is a number, or an object with min, max, below or above"))
        }
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        max = try c.decodeIfPresent(Double.self, forKey: .max)
        below = try c.decodeIfPresent(Double.self, forKey: .below)
        above = try c.decodeIfPresent(Double.self, forKey: .above)
        guard min != nil || max != nil || below != nil || above != nil else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription:
                "a bound is a number, or an object with min, max, below or above"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        if let exactly {
            var c = encoder.singleValueContainer()
            if let whole = Int(exactly: exactly) { try c.encode(whole) } else { try c.encode(exactly) }
            return
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(min, forKey: .min)
        try c.encodeIfPresent(max, forKey: .max)
        try c.encodeIfPresent(below, forKey: .below)
        try c.encodeIfPresent(above, forKey: .above)
    }

    public func holds(_ value: Double) -> Bool {
        if let exactly, value != exactly { return false }
        if let min, value < min { return false }
        if let max, value > max { return false }
        if let below, !(value < below) { return false }
        if let above, !(value > above) { return false }
        return true
    }

    /// "14", "≥ 1", "1 to 3", "< 0.5".
    public var description: String {
        if let exactly { return number(exactly) }
        if let min, let max { return "\(number(min)) to \(number(max))" }
        var parts: [String] = []
        if let min { parts.append("≥ \(number(min))") }
        if let above { parts.append("> \(number(above))") }
        if let max { parts.append("≤ \(number(max))") }
        if let below { parts.append("< \(number(below))") }
        return parts.joined(separator: " and ")
    }
}

/// One assertion's outcome: what was expected, what the analysis shows, and whether they agree.
public struct CheckResult: Sendable, Equatable {
    /// What is asserted: "capture packets", "finding connection_refused at 10.0.0.2:81".
    public var assertion: String
    public var expected: String
    public var actual: String
    public var held: Bool
}

/// Checks one expectation against one capture's analysis: conversations are fed one by one as the
/// pipeline finishes them (only a count per flow assertion is kept), then the report.
public struct ExpectationCheck: Sendable {
    public let expectation: Expectation
    var flowCounts: [Int]

    public init(_ expectation: Expectation) {
        self.expectation = expectation
        flowCounts = Array(repeating: 0, count: expectation.flows?.count ?? 0)
    }

    public mutating func add(_ flow: FlowSummary) {
        for (i, assertion) in (expectation.flows ?? []).enumerated() where assertion.matches(flow) { flowCounts[i] += 1 }
    }

    public func results(_ report: AnalysisReport) -> [CheckResult] {
        var results: [CheckResult] = []
        func check(_ name: String, _ bound: Bound?, _ value: Double) {
            guard let bound else { return }
            results.append(CheckResult(assertion: name, expected: bound.description, actual: number(value),
                                       held: bound.holds(value)))
        }
        if let facts = expectation.capture {
            let c = report.capture
            check("capture packets", facts.packets, Double(c.packets))
            check("capture tcp_conversations", facts.tcpConversations, Double(c.tcpConversations))
            check("capture udp_conversations", facts.udpConversations, Double(c.udpConversations))
            check("capture duration_seconds", facts.durationSeconds, c.durationSeconds)
            if let complete = facts.complete {
                results.append(CheckResult(assertion: "capture complete", expected: String(complete),
                                           actual: String(c.complete) + (c.damage.map { " (\($0))" } ?? ""),
                                           held: complete == c.complete))
            }
            for (state, bound) in (facts.tcpStates ?? [:]).sorted(by: { $0.key < $1.key }) {
                check("capture tcp_states \(state)", bound, Double(c.tcpStates[state] ?? 0))
            }
            for (proto, bound) in (facts.applicationMessages ?? [:]).sorted(by: { $0.key < $1.key }) {
                check("capture application_messages \(proto)", bound, Double(c.applicationMessages[proto] ?? 0))
            }
        }
        let assertions = expectation.findings ?? []
        for assertion in assertions {
            results += Self.results(assertion, report.findings)
        }
        if let other = expectation.otherFindings, other != .allowed {
            let unlisted = report.findings.filter { finding in
                !assertions.contains { $0.absent != true && $0.matches(finding) }
                    && (other == .forbidden || finding.severity > .info)
            }
            results.append(CheckResult(assertion: other == .forbidden ? "no other findings" : "no other findings above info",
                                       expected: "none", actual: unlisted.isEmpty ? "none" : unlisted.map(Self.describe)
                                           .joined(separator: "; "),
                                       held: unlisted.isEmpty))
        }
        for (assertion, count) in zip(expectation.flows ?? [], flowCounts) {
            let bound = assertion.count ?? Bound(min: 1)
            results.append(CheckResult(assertion: "flows \(assertion.name)", expected: bound.description,
                                       actual: String(count), held: bound.holds(Double(count))))
        }
        return results
    }

    static func results(_ assertion: Expectation.FindingAssertion, _ findings: [Finding]) -> [CheckResult] {
        let matching = findings.filter(assertion.matches)
        let name = "finding " + assertion.name
        if assertion.absent == true {
            return [CheckResult(assertion: name, expected: "absent",
                                actual: matching.isEmpty ? "absent" : matching.map(describe).joined(separator: "; "),
                                held: matching.isEmpty)]
        }
        let total = matching.reduce(0) { $0 + $1.count }
        var out: [CheckResult] = []
        if matching.isEmpty {
            // Say what there is of the same kind, which is most often what a wrong endpoint meant.
            let sameKind = findings.filter { $0.kind == assertion.kind }
            out.append(CheckResult(assertion: name, expected: assertion.count.map { "present, count \($0)" } ?? "present",
                                   actual: "absent" + (sameKind.isEmpty ? "" : " (seen: " + sameKind.map(describe)
                                       .joined(separator: "; ") + ")"),
                                   held: false))
        } else {
            let held = assertion.count?.holds(Double(total)) ?? true
            out.append(CheckResult(assertion: name, expected: assertion.count.map { "present, count \($0)" } ?? "present",
                                   actual: "present, count \(total)", held: held))
        }
        for (fact, expected) in (assertion.facts ?? [:]).sorted(by: { $0.key < $1.key }) {
            let values = matching.map { $0.facts[fact] }
            let held = !matching.isEmpty && values.allSatisfy { $0.map(expected.holds) ?? false }
            let actual = matching.isEmpty ? "no such finding"
                : values.map { $0?.description ?? "missing" }.joined(separator: ", ")
            out.append(CheckResult(assertion: "\(name) fact \(fact)", expected: expected.description, actual: actual,
                                   held: held))
        }
        return out
    }

    /// "connection_refused at 10.0.0.2:81 (error, count 3)".
    static func describe(_ finding: Finding) -> String {
        finding.kind.rawValue + (finding.endpoint.map { " at \($0)" } ?? "")
            + " (\(finding.severity.rawValue), count \(finding.count))"
    }
}

/// Writes an expectation from what the analysis found (`netsift check --update`): the capture's
/// facts, every finding with its count, no others allowed, and the conversations grouped by
/// transport, responder and state (at most `groupLimit` groups, the first seen).
public struct ExpectationRecorder: Sendable {
    public static let groupLimit = 1_000
    struct Group: Hashable {
        var transport: String
        var responder: String
        var state: ConnectionState
    }
    var order: [Group] = []
    var counts: [Group: Int] = [:]

    struct FindingSelector: Hashable {
        var kind: FindingKind
        var endpoint: String?
        var severity: Severity
    }

    public init() {}

    public mutating func add(_ flow: FlowSummary) {
        let group = Group(transport: flow.transport, responder: flow.responder.endpoint, state: flow.state)
        if counts[group] == nil {
            guard order.count < Self.groupLimit else { return }
            order.append(group)
        }
        counts[group, default: 0] += 1
    }

    /// The expectation; `previous` keeps its description and options.
    public func expectation(_ report: AnalysisReport, previous: Expectation?) -> Expectation {
        let c = report.capture
        let facts = Expectation.CaptureFacts(
            packets: .exactly(c.packets), tcpConversations: .exactly(c.tcpConversations),
            udpConversations: .exactly(c.udpConversations), complete: c.complete,
            tcpStates: c.tcpStates.isEmpty ? nil : c.tcpStates.mapValues(Bound.exactly),
            applicationMessages: c.applicationMessages.isEmpty ? nil : c.applicationMessages.mapValues(Bound.exactly))
        // One assertion per kind, endpoint and severity (findings are one per kind and endpoint;
        // the count is summed all the same, as `check` sums what an assertion matches), in the
        // report's order.
        var selectors: [FindingSelector] = []
        var totals: [FindingSelector: Int] = [:]
        for finding in report.findings {
            let selector = FindingSelector(kind: finding.kind, endpoint: finding.endpoint, severity: finding.severity)
            if totals[selector] == nil { selectors.append(selector) }
            totals[selector, default: 0] += finding.count
        }
        let findings = selectors.map { selector in
            Expectation.FindingAssertion(kind: selector.kind, endpoint: selector.endpoint, severity: selector.severity,
                                         count: .exactly(totals[selector]!))
        }
        let flows = order.map { group in
            Expectation.FlowAssertion(transport: group.transport, responder: group.responder, state: group.state,
                                      count: .exactly(counts[group]!))
        }
        return Expectation(description: previous?.description, options: previous?.options, capture: facts,
                           findings: findings, otherFindings: .forbidden, flows: flows)
    }
}

/// True when `endpoint` ("10.0.0.2:443", "[2001:db8::1]:443") is `pattern`, or `pattern` is its
/// address alone (any port).
func endpointMatches(_ pattern: String, _ endpoint: String) -> Bool {
    if pattern == endpoint { return true }
    return splitEndpoint(pattern).port == nil && host(endpoint) == pattern
}

/// A number as JSON would write it: 14, not 14.0.
func number(_ value: Double) -> String {
    if let whole = Int(exactly: value) { return String(whole) }
    return String(value)
}

/// Unknown keys in an object are an error: a misspelt assertion must not pass silently.
func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: Keys.Type) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    let known = Set(Keys.allCases.map(\.stringValue))
    for key in container.allKeys where !known.contains(key.stringValue) {
        throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription:
            "unknown key \"\(key.stringValue)\" (known: \(Keys.allCases.map { snakeCased($0.stringValue) }.joined(separator: ", ")))")
    }
}

/// Any key of a JSON object.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension DiagnosisThresholds {
    /// The thresholds that count (packets, connections): whole numbers.
    static let counts = ["minimum_retransmissions", "time_wait_connections", "black_hole_retransmissions",
                         "syn_flood_attempts", "syn_flood_sources", "scan_ports", "scan_hosts", "udp_flood_datagrams",
                         "dns_reflection_responses", "dns_reflection_resolvers"]

    /// The thresholds by the names the report's `thresholds` and expectation files use.
    public var named: [String: Double] {
        get {
            ["retransmission_rate": retransmissionRate, "minimum_retransmissions": Double(minimumRetransmissions),
             "close_wait_seconds": closeWaitSeconds, "time_wait_connections": Double(timeWaitConnections),
             "black_hole_retransmissions": Double(blackHoleRetransmissions), "dns_slow_ms": dnsSlowMilliseconds,
             "http_slow_ms": httpSlowMilliseconds, "response_slow_ms": responseSlowMilliseconds, "syn_flood_attempts": Double(synFloodAttempts),
             "syn_flood_sources": Double(synFloodSources), "syn_flood_rate": synFloodRate, "scan_ports": Double(scanPorts),
             "scan_hosts": Double(scanHosts), "udp_flood_datagrams": Double(udpFloodDatagrams), "udp_flood_rate": udpFloodRate,
             "dns_reflection_responses": Double(dnsReflectionResponses),
             "dns_reflection_resolvers": Double(dnsReflectionResolvers)]
        }
        set {
            retransmissionRate = newValue["retransmission_rate"] ?? retransmissionRate
            minimumRetransmissions = newValue["minimum_retransmissions"].map { Int($0) } ?? minimumRetransmissions
            closeWaitSeconds = newValue["close_wait_seconds"] ?? closeWaitSeconds
            timeWaitConnections = newValue["time_wait_connections"].map { Int($0) } ?? timeWaitConnections
            blackHoleRetransmissions = newValue["black_hole_retransmissions"].map { Int($0) } ?? blackHoleRetransmissions
            dnsSlowMilliseconds = newValue["dns_slow_ms"] ?? dnsSlowMilliseconds
            httpSlowMilliseconds = newValue["http_slow_ms"] ?? httpSlowMilliseconds
            synFloodAttempts = newValue["syn_flood_attempts"].map { Int($0) } ?? synFloodAttempts
            synFloodSources = newValue["syn_flood_sources"].map { Int($0) } ?? synFloodSources
            synFloodRate = newValue["syn_flood_rate"] ?? synFloodRate
            scanPorts = newValue["scan_ports"].map { Int($0) } ?? scanPorts
            scanHosts = newValue["scan_hosts"].map { Int($0) } ?? scanHosts
            udpFloodDatagrams = newValue["udp_flood_datagrams"].map { Int($0) } ?? udpFloodDatagrams
            udpFloodRate = newValue["udp_flood_rate"] ?? udpFloodRate
            dnsReflectionResponses = newValue["dns_reflection_responses"].map { Int($0) } ?? dnsReflectionResponses
            dnsReflectionResolvers = newValue["dns_reflection_resolvers"].map { Int($0) } ?? dnsReflectionResolvers
            responseSlowMilliseconds = newValue["response_slow_ms"] ?? responseSlowMilliseconds
        }
    }
}

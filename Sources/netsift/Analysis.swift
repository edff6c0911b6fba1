import ArgumentParser
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// The options that decide findings and what the report shows (`analyze`, `live`).
struct DiagnosisOptions: ParsableArguments {
    @Option(help: "How many of the most troubled conversations to show.")
    var top = Self.defaultTop

    static let defaultTop = 10

    @Option(help: "Report a conversation side retransmitting at least this percentage of its data segments.")
    var retransmissionPercent = DiagnosisThresholds().retransmissionRate * 100

    @Option(help: "…and at least this many segments.")
    var minimumRetransmissions = DiagnosisThresholds().minimumRetransmissions

    @Option(help: "A connection half-closed this many seconds (or still at the end of the capture) is in CLOSE_WAIT.")
    var closeWaitSeconds = DiagnosisThresholds().closeWaitSeconds

    @Option(help: "This many connections closed first by one client towards one server make TIME_WAIT pressure.")
    var timeWaitConnections = DiagnosisThresholds().timeWaitConnections

    @Option(help: "Retransmissions of segments larger than any acknowledged that make an MTU black hole.")
    var blackHoleRetransmissions = DiagnosisThresholds().blackHoleRetransmissions

    @Option(help: "A DNS answer slower than this many milliseconds is slow.")
    var dnsSlowMs = DiagnosisThresholds().dnsSlowMilliseconds

    var thresholds: DiagnosisThresholds {
        var t = DiagnosisThresholds()
        t.retransmissionRate = retransmissionPercent / 100
        t.minimumRetransmissions = minimumRetransmissions
        t.closeWaitSeconds = closeWaitSeconds
        t.timeWaitConnections = timeWaitConnections
        t.blackHoleRetransmissions = blackHoleRetransmissions
        t.dnsSlowMilliseconds = dnsSlowMs
        return t
    }
}

/// What `analyze`, `live` and `check` gather from the pipeline's output, whatever the packets came
/// from: the detectors' state, the troubled conversations, the TCP states and application messages.
/// It holds aggregates, never packets, so it stays in the flows' memory.
struct Analysis {
    var diagnosis: Diagnosis
    var topFlows: TopFlows
    var states: [String: Int] = [:]
    var messages: [String: Int] = [:]

    init(thresholds: DiagnosisThresholds, top: Int) {
        diagnosis = Diagnosis(thresholds: thresholds)
        topFlows = TopFlows(limit: top)
    }

    mutating func add(frame: Int, _ summary: PacketSummary) { diagnosis.add(frame: frame, summary) }

    mutating func add(_ event: ApplicationEvent) {
        messages[event.message.protocolName, default: 0] += 1
        diagnosis.add(event)
    }

    /// A conversation that is over; its summary is returned for callers that look at every one.
    @discardableResult
    mutating func add(_ flow: FinishedFlow) -> FlowSummary {
        diagnosis.add(flow)
        let summary = FlowSummary(flow)
        if summary.transport == "tcp" { states[summary.state.rawValue, default: 0] += 1 }
        topFlows.add(summary)
        return summary
    }

    /// The report once the pipeline has finished (every conversation handed over). `source` names
    /// the file or interface; `damage` is what stopped reading early, if anything.
    func report(_ pipeline: Pipeline, source: String, damage: String?, extra: [Finding] = []) -> AnalysisReport {
        let counters = pipeline.counters
        let fragments = pipeline.dissector.fragments
        let findings = diagnosis.findings(start: pipeline.firstTime, end: pipeline.lastTime, counters: counters,
                                          fragments: fragments.statistics, fragmentLimits: fragments.limits,
                                          damage: damage, extra: extra)
        let capture = AnalysisReport.Capture(file: source, packets: pipeline.packets, firstPacket: pipeline.firstTime,
                                             lastPacket: pipeline.lastTime, damage: damage, counters: counters,
                                             tcpStates: states, applicationMessages: messages)
        return AnalysisReport(capture: capture, findings: findings, topFlows: topFlows.top(),
                              thresholds: diagnosis.thresholds)
    }

    /// The findings so far, while the pipeline is still running (`live`): the conversations that are
    /// over, and those still active that began at least `settle` ns before `now`, judged as if the
    /// capture ended now. Younger ones are left for later, so a SYN sent a moment ago is not yet
    /// "unanswered" (nor a DNS query within its timeout). Nothing here changes the final report.
    func findingsSoFar(_ pipeline: Pipeline, now: Int64, settle: Int64, extra: [Finding] = []) -> [Finding] {
        var diagnosis = self.diagnosis
        for conversation in pipeline.tracker.activeTCP where now - conversation.start >= settle {
            diagnosis.add(.tcp(conversation))
        }
        let fragments = pipeline.dissector.fragments
        return diagnosis.findings(start: pipeline.firstTime, end: now, counters: pipeline.counters,
                                  fragments: fragments.statistics, fragmentLimits: fragments.limits, ongoing: true,
                                  extra: extra)
    }
}

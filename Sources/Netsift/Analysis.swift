import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// What `analyze`, `live` and `check` gather from the pipeline's output, whatever the packets came
/// from: the detectors' state, the troubled conversations, the TCP states and application messages.
/// It holds aggregates, never packets, so it stays in the flows' memory.
public struct Analysis {
    public private(set) var diagnosis: Diagnosis
    public private(set) var topFlows: TopFlows
    /// TCP conversations over, by Zeek's `conn_state`.
    public private(set) var states: [String: Int] = [:]
    /// Application messages, by protocol.
    public private(set) var messages: [String: Int] = [:]
    /// Records the report's pictures, when asked for (`AnalysisOptions.series`); the pipeline feeds it too.
    public let recorder: SeriesRecorder?

    public init(thresholds: DiagnosisThresholds = DiagnosisThresholds(), top: Int = AnalysisOptions().top,
                recorder: SeriesRecorder? = nil) {
        diagnosis = Diagnosis(thresholds: thresholds)
        topFlows = TopFlows(limit: top)
        self.recorder = recorder
    }

    /// The analysis `options` ask for, and the pipeline that feeds it (sharing its recorder).
    public static func make(_ options: AnalysisOptions) throws(CaptureError) -> (Pipeline, Analysis) {
        var pipeline = try Pipeline(options: options)
        let recorder = options.series.map(SeriesRecorder.init)
        pipeline.recorder = recorder
        return (pipeline, Analysis(thresholds: options.thresholds, top: options.top, recorder: recorder))
    }

    /// An unusual packet (malformed, an ICMP error), as `Pipeline` hands them out.
    public mutating func add(frame: Int, _ summary: PacketSummary) { diagnosis.add(frame: frame, summary) }

    /// An application message.
    /// UDP conversations over.
    public private(set) var finishedUDP = 0

    /// Keep each DNS answer's response time until taken (`Diagnosis.journalDNSResponseTimes`).
    public mutating func journalDNSResponseTimes() { diagnosis.journalDNSResponseTimes() }
    public mutating func takeDNSResponseTimes() -> [Double] { diagnosis.takeDNSResponseTimes() }

    public mutating func add(_ event: ApplicationEvent) {
        messages[event.message.protocolName, default: 0] += 1
        diagnosis.add(event)
        recorder?.add(event)
    }

    /// A conversation that is over. Its summary (strings, a dictionary) is made only when it may be
    /// among the top flows: a flood ends a million conversations, and nearly none of them is shown.
    public mutating func add(_ flow: FinishedFlow) {
        diagnosis.add(flow)
        if case .tcp(let c) = flow { states[c.connectionState.rawValue, default: 0] += 1 } else { finishedUDP += 1 }
        if topFlows.admits(TopFlows.rank(flow)) { topFlows.add(FlowSummary(flow)) }
        recorder?.finished(FlowSummary(flow))
    }

    /// The report once the pipeline has finished (every conversation handed over). `source` names
    /// the file or interface; `damage` is what stopped reading early, if anything.
    /// `interfaceDrops`: what a pcapng file's interface statistics say the recorder dropped.
    public func report(_ pipeline: Pipeline, source: String, damage: String?, interfaceDrops: Int? = nil,
                       extra: [Finding] = []) -> AnalysisReport {
        let fragments = pipeline.dissector.fragments
        return report(counters: pipeline.counters, packets: pipeline.packets, firstTime: pipeline.firstTime,
                      lastTime: pipeline.lastTime, fragments: fragments.statistics, fragmentLimits: fragments.limits,
                      source: source, damage: damage, interfaceDrops: interfaceDrops, extra: extra)
    }

    /// The report from the pipeline's facts, as `report(_:…)` takes them from it (`merge` has them
    /// from the shards).
    func report(counters: FlowCounters, packets: Int, firstTime: Int64?, lastTime: Int64?,
                fragments: FragmentStatistics, fragmentLimits: FragmentLimits, source: String, damage: String?,
                interfaceDrops: Int?, extra: [Finding] = []) -> AnalysisReport {
        let findings = diagnosis.findings(start: firstTime, end: lastTime, counters: counters,
                                          fragments: fragments, fragmentLimits: fragmentLimits,
                                          damage: damage, interfaceDrops: interfaceDrops, extra: extra)
        let capture = AnalysisReport.Capture(file: source, packets: packets, firstPacket: firstTime,
                                             lastPacket: lastTime, damage: damage, counters: counters,
                                             tcpStates: states, applicationMessages: messages)
        return AnalysisReport(capture: capture, findings: findings, topFlows: topFlows.top(),
                              thresholds: diagnosis.thresholds)
    }

    /// The findings so far, while the pipeline is still running (`live`): the conversations that are
    /// over, and those still active that began at least `settle` ns before `now`, judged as if the
    /// capture ended now. Younger ones are left for later, so a SYN sent a moment ago is not yet
    /// "unanswered" (nor a DNS query within its timeout). Nothing here changes the final report.
    public func findingsSoFar(_ pipeline: Pipeline, now: Int64, settle: Int64, extra: [Finding] = []) -> [Finding] {
        var diagnosis = self.diagnosis
        pipeline.tracker.forEachActiveTCP { conversation in
            if now - conversation.start >= settle { diagnosis.add(.tcp(conversation)) }
        }
        let fragments = pipeline.dissector.fragments
        return diagnosis.findings(start: pipeline.firstTime, end: now, counters: pipeline.counters,
                                  fragments: fragments.statistics, fragmentLimits: fragments.limits, ongoing: true,
                                  extra: extra)
    }
}

/// What analysing a whole capture gives (`Analysis.analyze`).
public struct AnalysisResult: Sendable {
    /// The capture's facts, the findings layer by layer, the verdict, the most troubled
    /// conversations and the thresholds they were judged by.
    public var report: AnalysisReport
    /// How reading ended: every record read, damage part-way (what came before it is analysed), or
    /// not a capture at all.
    public var end: CaptureReader.End
    /// What the flow trackers counted (conversations, evictions, reassembly overflows).
    public var counters: FlowCounters

    /// What the HTML report draws: nil unless `AnalysisOptions.series` asked for it.
    public var series: CaptureSeries?
    /// DNS, TLS and HTTP outcomes per server.
    public var outcomes: Outcomes

    public var findings: [Finding] { report.findings }
    public var verdict: Finding? { report.verdict }
}

extension Analysis {
    /// Analyses the capture at `path` (`-` for standard input) as `netsift analyze` does: every
    /// packet through the pipeline, every conversation and message to the detectors, then the
    /// report. `conversation` sees every conversation once it is over (in the order they end),
    /// `message` every application message; `progress` as `Pipeline.run` tells it.
    ///
    /// - Throws: when the file cannot be opened, or `options.filter` does not compile. A file that
    ///   is not a capture, or is damaged part-way, is not an error here: `AnalysisResult.end` says so.
    public static func analyze(path: String, options: AnalysisOptions = AnalysisOptions(),
                               conversation: ((FlowSummary) -> Void)? = nil,
                               message: (ApplicationEvent) -> Void = { _ in },
                               progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in })
        throws(CaptureError) -> AnalysisResult {
        var reader = try CaptureReader(path: path)
        return try analyze(&reader, options: options, conversation: conversation, message: message, progress: progress)
    }

    /// `analyze(path:…)` over a reader the caller opened.
    public static func analyze(_ reader: inout CaptureReader, options: AnalysisOptions = AnalysisOptions(),
                               conversation: ((FlowSummary) -> Void)? = nil,
                               message: (ApplicationEvent) -> Void = { _ in },
                               progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in })
        throws(CaptureError) -> AnalysisResult {
        var (pipeline, analysis) = try Analysis.make(options)
        let end = pipeline.run(&reader, unusual: { analysis.add(frame: $0, $1) },
                               event: { message($0); analysis.add($0) },
                               flow: { flow in
                                   analysis.add(flow)
                                   conversation?(FlowSummary(flow))
                               }, progress: progress)
        let report = analysis.report(pipeline, source: reader.displayName, damage: end.damage,
                                     interfaceDrops: reader.parser.interfaceDrops)
        return AnalysisResult(report: report, end: end, counters: pipeline.counters, series: analysis.recorder?.series,
                              outcomes: analysis.diagnosis.outcomes())
    }
}

extension Analysis {
    /// `analyze` over several capture files read as one (`CaptureSet`: merged by time as
    /// `mergecap` merges them). The report's `file` names the set, and its `files` lists each.
    /// - Throws: when a file cannot be opened or is not a capture, or `options.filter` does not
    ///   compile. Damage in a file is not an error: that file ends there, the others are read,
    ///   `AnalysisResult.end` is the first damage and the report's `damage` names each file.
    public static func analyze(paths: [String], options: AnalysisOptions = AnalysisOptions(),
                               conversation: ((FlowSummary) -> Void)? = nil,
                               message: (ApplicationEvent) -> Void = { _ in },
                               progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in })
        throws(CaptureError) -> AnalysisResult {
        var set = try CaptureSet(paths: paths)
        return try analyze(&set, options: options, conversation: conversation, message: message, progress: progress)
    }

    /// `analyze(paths:…)` over a set the caller opened.
    public static func analyze(_ set: inout CaptureSet, options: AnalysisOptions = AnalysisOptions(),
                               conversation: ((FlowSummary) -> Void)? = nil,
                               message: (ApplicationEvent) -> Void = { _ in },
                               progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in })
        throws(CaptureError) -> AnalysisResult {
        var (pipeline, analysis) = try Analysis.make(options)
        let end = pipeline.run(&set, unusual: { analysis.add(frame: $0, $1) },
                               event: { message($0); analysis.add($0) },
                               flow: { flow in
                                   analysis.add(flow)
                                   conversation?(FlowSummary(flow))
                               }, progress: progress)
        var report = analysis.report(pipeline, source: set.displayName, damage: set.damageDescription,
                                     interfaceDrops: set.interfaceDrops)
        if set.members.count > 1 { report.capture.files = set.paths }
        return AnalysisResult(report: report, end: end, counters: pipeline.counters, series: analysis.recorder?.series,
                              outcomes: analysis.diagnosis.outcomes())
    }
}

extension CaptureReader {
    /// The input as messages name it: its path, or "standard input" for `-`.
    public var displayName: String { inputName(path) }
}

extension CaptureReader.End {
    /// What stopped reading early, in words, or nil when every record was read.
    public var damage: String? {
        switch self {
        case .finished: nil
        case .damaged(let damage): damage.description
        case .rejected(let error): error.description
        }
    }
}

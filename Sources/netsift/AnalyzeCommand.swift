import ArgumentParser
import Foundation
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// `netsift analyze FILE`: what is wrong, bottom-up — the capture, then link, network, transport,
/// DNS, TLS and HTTP/2 findings, worst first, each with its evidence, likely cause and next step;
/// then the most likely problem and the conversations most worth a look.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Diagnose a capture: findings layer by layer with evidence, likely cause and next step.",
        discussion: "The JSON schema (--format json, jsonl) is documented in docs/analyze-json.md."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, jsonl }

    @Argument(help: "A capture file (pcap or pcapng); - for standard input.")
    var file: String

    @Option(help: "Output format: text (for a terminal), json (one document), jsonl (one finding or flow per line).")
    var format = Format.text

    @Option(help: "How many of the most troubled conversations to show.")
    var top = 10

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

    @OptionGroup var filter: FilterOption
    @OptionGroup var flowOptions: FlowOptions

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

    func run() throws {
        let packetFilter = try filter.compiled()
        var reader = try openCapture(file)
        let (report, exit) = analyze(&reader, filter: packetFilter)
        switch format {
        case .text:
            print(AnalysisText.render(report, colour: Terminal.colourOnStandardOutput), terminator: "")
        case .json:
            print(try FlowTable.json(report, pretty: true))
        case .jsonl:
            var output = BufferedOutput()
            output.write(try FlowTable.json(JSONLine(type: "capture", capture: report.capture), pretty: false))
            for finding in report.findings {
                output.write(try FlowTable.json(JSONLine(type: "finding", finding: finding), pretty: false))
            }
            for flow in report.topFlows { output.write(try FlowTable.json(JSONLine(type: "flow", flow: flow), pretty: false)) }
            output.flush()
        }
        if exit != .success { throw ExitCode(exit.rawValue) }
    }

    /// Runs the pipeline and the detectors over the capture.
    func analyze(_ reader: inout CaptureReader, filter: PacketFilter?) -> (AnalysisReport, ExitStatus) {
        var pipeline = Pipeline(options: flowOptions)
        var diagnosis = Diagnosis(thresholds: thresholds)
        var topFlows = TopFlows(limit: top)
        var states: [String: Int] = [:]
        var messages: [String: Int] = [:]
        var progress = Progress(file: file)
        let end = pipeline.run(&reader, filter: filter, packet: { frame, _, summary, _ in
            diagnosis.add(frame: frame, summary)
            progress.tick(summary)
        }, event: { event in
            messages[event.message.protocolName, default: 0] += 1
        }, flow: { flow in
            diagnosis.add(flow)
            let summary = FlowSummary(flow)
            if summary.transport == "tcp" { states[summary.state.rawValue, default: 0] += 1 }
            topFlows.add(summary)
        })
        progress.done()
        var damage: String?
        switch end {
        case .finished: break
        case .damaged(let d): damage = d.description
        case .rejected(let error): damage = error.description
        }
        let exit = status(of: end, file: file)
        let counters = pipeline.counters
        let findings = diagnosis.findings(start: pipeline.firstTime, end: pipeline.lastTime, counters: counters,
                                          damage: damage)
        let capture = AnalysisReport.Capture(file: file == "-" ? "standard input" : file, packets: pipeline.packets,
                                             firstPacket: pipeline.firstTime, lastPacket: pipeline.lastTime,
                                             damage: damage, counters: counters, tcpStates: states,
                                             applicationMessages: messages)
        return (AnalysisReport(capture: capture, findings: findings, topFlows: topFlows.top(), thresholds: thresholds), exit)
    }

    /// One line of `--format jsonl`: a capture, a finding or a flow, told apart by `type`.
    struct JSONLine: Encodable {
        var schema = AnalysisReport.schema
        var type: String
        var capture: AnalysisReport.Capture?
        var finding: Finding?
        var flow: FlowSummary?
    }
}

extension ApplicationMessage {
    var protocolName: String {
        switch self {
        case .streamGap(let proto): proto.rawValue
        }
    }
}

/// Terminal facts: colour only on a TTY and without NO_COLOR (no-color.org).
enum Terminal {
    static var colourOnStandardOutput: Bool {
        isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }
    static var standardErrorIsTerminal: Bool { isatty(2) == 1 }
}

/// A progress bar on standard error, for files large enough to wait for, on a terminal only. The
/// fraction is estimated from the bytes of the packets read over the file's size.
struct Progress {
    let size: Int
    let enabled: Bool
    var bytes = 0
    var packets = 0
    var shown = -1

    init(file: String) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: file)
        size = (attributes?[.size] as? Int) ?? 0
        enabled = Terminal.standardErrorIsTerminal && size > 64 << 20
    }

    mutating func tick(_ summary: PacketSummary) {
        guard enabled else { return }
        packets += 1
        bytes += summary.payload.upperBound + 24
        guard packets & 0xFFFF == 0 else { return }
        let percent = min(99, bytes * 100 / max(1, size))
        guard percent != shown else { return }
        shown = percent
        let filled = percent / 4
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 25 - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(percent)%  \(grouped(packets)) packets".utf8))
    }

    func done() {
        guard enabled, shown >= 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

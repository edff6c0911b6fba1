import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift

/// `netsift analyze FILE`: what is wrong, bottom-up — the capture, then link, network, transport,
/// DNS, TLS and HTTP/2 findings, worst first, each with its evidence, likely cause and next step;
/// then the most likely problem and the conversations most worth a look.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Diagnose a capture: findings layer by layer with evidence, likely cause and next step.",
        discussion: "The JSON schema (--format json, jsonl) is documented in docs/analyze-json.md."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, jsonl }

    @Argument(help: "Capture files (pcap or pcapng), folders of them or patterns, read as one capture merged by time (as mergecap merges them); - for standard input.")
    var files: [String]

    @Option(help: "Output format: text (for a terminal), json (one document), jsonl (one finding or flow per line).")
    var format = Format.text

    @Option(help: ArgumentHelp(
        "Write, for each finding, a small capture of its conversations (the first \(Evidence.defaultPacketsPerConversation) packets of each) and the frames it cites into this folder, in the input's format; the report names each file.",
        valueName: "dir"))
    var evidence: String?

    @Option(help: ArgumentHelp(
        "Also write the report as one self-contained HTML page to this file: findings with their evidence, the capture's timeline, time-sequence graphs of the conversations the findings name and the top ones, DNS, TLS and HTTP outcomes (docs/html.md). Analyses on one thread.",
        valueName: "file"))
    var html: String?

    @Flag(help: "Text: print every finding, not only the worst \(AnalysisText.findingsPerLayer) of each layer.")
    var all = false

    @Option(help: ArgumentHelp(
        "Analyse only the conversations of shard I of N (by the hash of their key) and print the shard's output for `netsift merge` instead of a report (docs/shards.md). Runs on one thread.",
        valueName: "I/N"))
    var shard: ShardNumber?

    @OptionGroup var diagnosisOptions: DiagnosisOptions
    @OptionGroup var filter: FilterOption
    @OptionGroup var flowOptions: FlowOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Missing expected argument '<files> ...': a capture file") }
        if evidence != nil && (files.count != 1 || files[0] == "-") {
            throw ValidationError("--evidence reads the capture a second time: it needs one file, not standard input or several")
        }
        if html == "-" { throw ValidationError("--html needs a file: standard output carries the report") }
        if shard != nil && (html != nil || evidence != nil) {
            throw ValidationError("--shard prints the shard's output for netsift merge: --html and --evidence go with the merge's report")
        }
    }

    func run() throws {
        _ = try filter.compiled()   // a bad -f is a usage error, said before anything is read
        var options = AnalysisOptions()
        options.filter = filter.filter
        flowOptions.apply(to: &options)
        diagnosisOptions.apply(to: &options)
        options.threads = threadOptions.threads
        if html != nil { options.series = SeriesLimits() }
        var set = try openCaptures(files)
        if evidence != nil && set.members.count > 1 {
            warn("--evidence reads the capture a second time: it needs one file, and \(files[0]) holds \(set.members.count)")
            throw ExitCode(ExitStatus.usage.rawValue)
        }
        var progress = Progress(files: set.paths)
        if let shard {
            var output = BufferedOutput()
            let end = try Analysis.shard(&set, shard: shard.flowShard, members: ShardNumber.members(set.paths),
                                         options: options, line: { output.write($0) },
                                         progress: { progress.show(packets: $0, bytes: $1) })
            output.flush()
            progress.done()
            let exit = status(of: set, end: end)
            if exit != .success { throw ExitCode(exit.rawValue) }
            return
        }
        let result = try Analysis.analyze(&set, options: options, progress: { progress.show(packets: $0, bytes: $1) })
        progress.done()
        let exit = status(of: set, end: result.end)
        // Not a capture at all: the one-line error said so; there is nothing to report.
        if exit == .unreadable { throw ExitCode(exit.rawValue) }
        var report = result.report
        if let evidence {
            do {
                report = try Evidence.write(report, capture: set.paths[0], options: options, into: evidence)
            } catch {
                warn("--evidence: \(error.description)")
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
        }
        if let html, !HTMLReport(report: report, series: result.series, outcomes: result.outcomes).write(to: html) {
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        try Self.print(report, format: format, all: all)
        if exit != .success { throw ExitCode(exit.rawValue) }
    }

    /// The report on standard output, in `format` (`merge` prints its report so too).
    static func print(_ report: AnalysisReport, format: Format, all: Bool) throws {
        switch format {
        case .text:
            Swift.print(AnalysisText.render(report, colour: Terminal.colourOnStandardOutput, all: all), terminator: "")
        case .json:
            Swift.print(try JSONOutput.encode(report, pretty: true))
        case .jsonl:
            var output = BufferedOutput()
            try JSONLine.write(report, to: &output)
            output.flush()
        }
    }

    /// One line of `--format jsonl`: a capture, a finding or a flow, told apart by `type` (and for
    /// `live`, an interval's progress, findings so far marked provisional, and the capture's statistics).
    struct JSONLine: Encodable {
        var schema = AnalysisReport.schema
        var type: String
        var capture: AnalysisReport.Capture?
        var finding: Finding?
        var flow: FlowSummary?
        var provisional: Bool?
        var interval: LiveInterval?
        var live: Live.Statistics?

        /// The report as lines: the capture, each finding, each top conversation.
        static func write(_ report: AnalysisReport, to output: inout BufferedOutput) throws {
            output.write(try JSONOutput.encode(JSONLine(type: "capture", capture: report.capture), pretty: false))
            for finding in report.findings {
                output.write(try JSONOutput.encode(JSONLine(type: "finding", finding: finding), pretty: false))
            }
            for flow in report.topFlows { output.write(try JSONOutput.encode(JSONLine(type: "flow", flow: flow), pretty: false)) }
        }
    }
}

extension ApplicationMessage {
    /// The message with every decoded field, as JSON.
    var encodedJSON: String? {
        switch self {
        case .streamGap: nil
        case .dns(let message): try? JSONOutput.encode(message, pretty: false)
        case .http2(let message): try? JSONOutput.encode(message, pretty: false)
        case .tls(let message): try? JSONOutput.encode(message, pretty: false)
        case .http1(let message): try? JSONOutput.encode(message, pretty: false)
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

/// A progress bar on standard error, for captures large enough to wait for, on a terminal only.
/// The fraction is the bytes of the packets read over the files' sizes together.
struct Progress {
    let size: Int
    let enabled: Bool
    var shown = -1

    init(files: [String]) {
        var total = 0
        for file in files {
            var information = stat()
            if stat(file, &information) == 0 { total += Int(information.st_size) }
        }
        size = total
        enabled = Terminal.standardErrorIsTerminal && size > 64 << 20
    }

    mutating func show(packets: Int, bytes: Int) {
        guard enabled else { return }
        let percent = min(99, bytes * 100 / max(1, size))
        guard percent != shown else { return }
        shown = percent
        let filled = percent / 4
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 25 - filled)
        writeStandardError("\r\(bar) \(percent)%  \(grouped(packets)) packets")
    }

    func done() {
        guard enabled, shown >= 0 else { return }
        writeStandardError("\r\u{1B}[K")
    }
}

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
import Synchronization

/// `netsift live -i IFACE`: the pipeline and diagnosis of `analyze`, on packets as they arrive from
/// an interface through libpcap (immediate mode). Every `--interval` seconds a summary of the
/// capture so far; at the end (`--duration`, `--count`, Ctrl-C or SIGTERM) the full report, and the
/// `--write` file flushed and closed.
struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Capture from an interface and diagnose as packets arrive; the full report when it stops.",
        discussion: """
        Stops after --duration seconds, --count packets, or at Ctrl-C / SIGTERM, and always ends with the \
        full report (and a complete --write file). Capturing needs root, or CAP_NET_RAW and CAP_NET_ADMIN.
        With --format jsonl, each interval prints an "interval" line and a provisional "finding" line for \
        every finding that is new or whose count grew; the final report follows (docs/live.md).
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, jsonl }

    @Option(name: [.customShort("i"), .long], help: "The interface to capture on (netsift interfaces lists them).")
    var interface: String

    @Option(help: "Bytes kept of each packet.")
    var snaplen = LiveCapture.Options().snaplen

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Stop after this many packets.")
    var count: Int?

    @Option(help: ArgumentHelp("Also write the packets to this pcap file (nanosecond timestamps).", valueName: "file"))
    var write: String?

    @Option(help: "Seconds between summaries of the capture so far (0: none).")
    var interval = 5.0

    @Option(name: .customLong("buffer-size"), help: ArgumentHelp(
        "The kernel's capture buffer, in MiB (libpcap's default when not given).", valueName: "MiB"))
    var bufferSize: Int?

    @Flag(name: .customLong("no-promiscuous"), help: "Do not put the interface in promiscuous mode.")
    var noPromiscuous = false

    @Option(help: ArgumentHelp(
        "When the capture stops, also write the report as one self-contained HTML page to this file (docs/html.md).",
        valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics of the capture at http://ADDR:PORT/metrics while it runs (PORT alone: on 127.0.0.1); docs/metrics.md.",
        valueName: "addr:port"))
    var metrics: String?

    @Option(help: "Output format: text (summaries on standard error, the report on standard output) or jsonl (everything on standard output, one JSON object per line).")
    var format = Format.text

    @OptionGroup var filter: FilterOption
    @OptionGroup var diagnosisOptions: DiagnosisOptions
    @OptionGroup var flowOptions: FlowOptions

    func validate() throws {
        guard snaplen > 0 && snaplen <= 262_144 else { throw ValidationError("--snaplen must be 1 to 262144") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        guard interval >= 0 && interval.isFinite else { throw ValidationError("--interval must be 0 or more") }
        if let bufferSize, bufferSize <= 0 || bufferSize > 1 << 14 {
            throw ValidationError("--buffer-size must be 1 to 16384 MiB")
        }
        if write == "-" { throw ValidationError("--write needs a file: standard output carries the report") }
        if html == "-" { throw ValidationError("--html needs a file: standard output carries the report") }
    }

    /// How the capture went (a `"type": "live"` line before the final report in JSON lines): the
    /// library's statistics, and what this command was asked to do.
    struct Statistics: Encodable {
        var capture: LiveStatistics
        var snaplen: Int
        var filter: String?
        var written: String?

        enum CodingKeys: String, CodingKey { case snaplen, filter, written }

        func encode(to encoder: any Encoder) throws {
            try capture.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(snaplen, forKey: .snaplen)
            try container.encodeIfPresent(filter, forKey: .filter)
            try container.encodeIfPresent(written, forKey: .written)
        }
    }

    func run() throws {
        // The metrics' address is checked first: a port in use or not allowed stops before any capture.
        var server: MetricsServer?
        let liveMetrics = metrics.map { _ in LiveMetrics() }
        if let metrics, let liveMetrics {
            do {
                server = try MetricsServer(listening: metrics, registry: liveMetrics.registry)
            } catch {
                warn(error.description)
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
        }
        var options = LiveCapture.Options()
        options.snaplen = snaplen
        options.promiscuous = !noPromiscuous
        options.immediate = true
        options.bufferSize = bufferSize.map { $0 << 20 }
        options.filter = filter.filter
        let capture: LiveCapture
        do {
            capture = try LiveCapture(interface: interface, options: options)
        } catch {
            warn(error.description)
            if case .badFilter = error.kind { throw ExitCode(ExitStatus.usage.rawValue) }
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        var writer: CaptureWriter?
        if let write {
            do {
                writer = try CaptureWriter(path: write, linkType: capture.linkType, snaplen: snaplen)
            } catch {
                warn(error.description)
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
        }
        if let server {
            do {
                try server.start()
            } catch {
                warn(error.description)
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
            warn("metrics at http://\(server.address)/metrics")
        }
        StopSignal.install()
        warn("listening on \(interface) (\(capture.linkType.name), snapshot length \(snaplen) bytes)"
             + (filter.filter.map { ", filter \"\($0)\"" } ?? "") + "; Ctrl-C stops and reports")

        var analysisOptions = AnalysisOptions()
        flowOptions.apply(to: &analysisOptions)
        diagnosisOptions.apply(to: &analysisOptions)
        if html != nil {
            analysisOptions.series = SeriesLimits()
        } else if liveMetrics != nil {
            analysisOptions.series = .totalsOnly
        }
        var live = LiveAnalysis(options: analysisOptions)
        if liveMetrics != nil { live.journalDNSResponseTimes() }
        let deadline = duration.map { Clock.monotonic + Int64($0 * 1e9) }
        let result = live.run(capture, interval: Int64(interval * 1e9), shouldStop: { packets in
            if let signal = StopSignal.received { return signal == SIGTERM ? .SIGTERM : .SIGINT }
            if let deadline, Clock.monotonic >= deadline { return .duration }
            if let count, packets >= count { return .count }
            return nil
        }, each: { writer?.write($0) }, observe: liveMetrics.map { metrics in { metrics.update(&$0, $1) } }) { event in
            show(event)
            writer?.flush()
        }
        server?.stop()
        StopSignal.restore()

        var exit = ExitStatus.success
        if let failure = result.statistics.error {
            warn("\(interface): capture failed after \(plural(result.statistics.packets, "packet")): \(failure)")
            exit = .damaged
        }
        if let writer {
            writer.close()
            if let problem = writer.failure {
                warn("\(writer.path): write failed: \(problem.reason); the file holds the packets before it")
                exit = max(exit, .unreadable)
            }
        }
        let statistics = Statistics(capture: result.statistics, snaplen: snaplen, filter: filter.filter, written: write)
        if let html, !HTMLReport(report: result.report, series: result.series, outcomes: result.outcomes).write(to: html) {
            exit = max(exit, .unreadable)
        }
        switch format {
        case .text:
            print(statistics.text + "\n" + AnalysisText.render(result.report, colour: Terminal.colourOnStandardOutput),
                  terminator: "")
        case .jsonl:
            var output = BufferedOutput()
            output.write(try JSONOutput.encode(Analyze.JSONLine(type: "live", live: statistics), pretty: false))
            try Analyze.JSONLine.write(result.report, to: &output)
            output.flush()
        }
        fflush(nil)   // all C streams: standard output's lines reach a pipe now
        if exit != .success { throw ExitCode(exit.rawValue) }
    }

    /// One interval's summary and the findings that are new or grew: on standard error as text, or
    /// as JSON lines on standard output.
    func show(_ event: LiveEvent) {
        switch format {
        case .text:
            var text = event.interval.text + "\n"
            for finding in event.findings {
                text += "  " + AnalysisText.Style(enabled: false).severity(finding.severity) + " " + finding.summary + "\n"
            }
            writeStandardError(text)
        case .jsonl:
            var output = BufferedOutput()
            let lines = [Analyze.JSONLine(type: "interval", interval: event.interval)]
                + event.findings.map { Analyze.JSONLine(type: "finding", finding: $0, provisional: true) }
            for line in lines {
                if let text = try? JSONOutput.encode(line, pretty: false) { output.write(text) }
            }
            output.flush()
            fflush(nil)   // all C streams: standard output's lines reach a pipe now
        }
    }
}

extension LiveInterval {
    /// "12 s  1,234 packets (102.8/s, 1.2 Mbit/s) · 15 conversations, 3 active · 2 findings · dropped 0"
    var text: String {
        var parts = ["\(fixed(seconds, 1)) s  \(grouped(packets)) packets (\(fixed(packetsPerSecond, 1))/s, "
                     + "\(fixed(bitsPerSecond / 1e6, 1)) Mbit/s)",
                     "\(grouped(tcpConversations + udpConversations)) conversations, \(grouped(activeConversations)) active",
                     plural(findings, "finding")]
        if let kernel = droppedByKernel, let interface = droppedByInterface {
            parts.append("dropped \(grouped(kernel)) by the kernel, \(grouped(interface)) by the interface")
        }
        return parts.joined(separator: " · ")
    }
}

extension Live.Statistics {
    var text: String {
        let stop = switch capture.stoppedBy {
        case .duration: "stopped after --duration"
        case .count: "stopped after --count"
        case .error: "capture failed"
        case .SIGINT, .SIGTERM: "stopped by \(capture.stoppedBy.rawValue)"
        }
        var out = "Live capture  \(capture.interface) (\(capture.linkTypeName)), \(fixed(capture.seconds, 1)) s, \(stop)\n"
        var facts = [plural(capture.packets, "packet") + " read"]
        if let dropped = capture.droppedByKernel { facts.append("\(grouped(dropped)) dropped by the kernel") }
        if let dropped = capture.droppedByInterface { facts.append("\(grouped(dropped)) by the interface") }
        out += "  " + facts.joined(separator: " · ") + "\n"
        if let filter { out += "  filter \"\(filter)\"\n" }
        if let written { out += "  written to \(written)\n" }
        return out
    }
}

/// SIGINT and SIGTERM during a live capture: the handler only records the signal; the capture loop
/// sees it within 100 ms (libpcap's timeout), stops, and reports. A second signal stops at once.
enum StopSignal {
    private static let signal = Atomic<Int32>(0)

    static var received: Int32? {
        let value = signal.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    static func install() {
        _ = signal.load(ordering: .relaxed)   // initialise the global before a handler can touch it
        // A parent may have started us with these blocked (the mask survives exec): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGINT, SIGTERM] {
            sigaddset(&set, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number) { number in
                // Async-signal-safe: an atomic store, and the default action back for a second signal.
                StopSignal.signal.store(number, ordering: .relaxed)
                Glibc.signal(number, SIG_DFL)
            }
        }
    }

    static func restore() {
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
    }
}

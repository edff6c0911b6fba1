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
import NetsiftCapture
import NetsiftFlows
import NetsiftReport
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

    @Option(help: "Output format: text (summaries on standard error, the report on standard output) or jsonl (everything on standard output, one JSON object per line).")
    var format = Format.text

    @OptionGroup var filter: FilterOption
    @OptionGroup var diagnosisOptions: DiagnosisOptions
    @OptionGroup var flowOptions: FlowOptions

    /// Conversations still active are judged in the interval summaries once they are this old, so
    /// a SYN sent a moment ago is not yet "unanswered" (the first SYN retry comes after 1 s).
    static let settleNanoseconds: Int64 = 1_000_000_000

    func validate() throws {
        guard snaplen > 0 && snaplen <= 262_144 else { throw ValidationError("--snaplen must be 1 to 262144") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        guard interval >= 0 && interval.isFinite else { throw ValidationError("--interval must be 0 or more") }
        if let bufferSize, bufferSize <= 0 || bufferSize > 1 << 14 {
            throw ValidationError("--buffer-size must be 1 to 16384 MiB")
        }
        if write == "-" { throw ValidationError("--write needs a file: standard output carries the report") }
    }

    /// One `--interval` summary (a `"type": "interval"` line in JSON lines).
    struct Interval: Encodable {
        /// Wall-clock time of the summary (ns since the epoch) and seconds since the capture began.
        var time: Int64
        var seconds: Double
        var packets: Int
        var bytes: Int
        /// Over the interval just ended.
        var packetsPerSecond: Double
        var bitsPerSecond: Double
        var tcpConversations: Int
        var udpConversations: Int
        var activeConversations: Int
        var findings: Int
        var droppedByKernel: Int?
        var droppedByInterface: Int?
    }

    /// How the capture went (a `"type": "live"` line before the final report in JSON lines).
    struct Statistics: Encodable {
        var interface: String
        var linkType: Int
        var linkTypeName: String
        var snaplen: Int
        var filter: String?
        var seconds: Double
        /// Packets netsift read; libpcap's received (after the filter) and dropped counts.
        var packets: Int
        var received: Int?
        var droppedByKernel: Int?
        var droppedByInterface: Int?
        /// "duration", "count", "SIGINT", "SIGTERM" or "error".
        var stoppedBy: String
        var error: String?
        var written: String?
    }

    func run() throws {
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
        var writer: PcapWriter?
        if let write {
            do {
                writer = try PcapWriter(path: write, linkType: capture.linkType, snaplen: snaplen)
            } catch {
                warn(error.description)
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
        }
        StopSignal.install()
        warn("listening on \(interface) (\(capture.linkType.name), snapshot length \(snaplen) bytes)"
             + (filter.filter.map { ", filter \"\($0)\"" } ?? "") + "; Ctrl-C stops and reports")

        var session = Session(command: self, capture: capture)
        var pipeline = Pipeline(options: flowOptions)
        var analysis = Analysis(thresholds: diagnosisOptions.thresholds, top: diagnosisOptions.top)
        let started = Clock.monotonic
        let deadline = duration.map { started + Int64($0 * 1e9) }
        var nextSummary = interval > 0 ? started + Int64(interval * 1e9) : .max
        var stoppedBy = "error"
        let failure = capture.forEachPacket(shouldStop: {
            let now = Clock.monotonic
            if now >= nextSummary {
                session.summarise(pipeline, analysis, elapsed: now - started)
                while nextSummary <= now { nextSummary += Int64(interval * 1e9) }
                writer?.flush()
            }
            if let signal = StopSignal.received {
                stoppedBy = signal == SIGTERM ? "SIGTERM" : "SIGINT"
            } else if let deadline, now >= deadline {
                stoppedBy = "duration"
            } else if let count, pipeline.packets >= count {
                stoppedBy = "count"
            } else {
                return false
            }
            return true
        }) { captured in
            writer?.write(captured)
            session.bytes += captured.originalLength
            pipeline.add(captured, filter: nil, unusual: { analysis.add(frame: $0, $1) },
                         event: { analysis.add($0) }, flow: { analysis.add($0) })
        }
        let elapsed = Clock.monotonic - started
        let counters = capture.statistics
        pipeline.tracker.finish { analysis.add($0) }
        StopSignal.restore()

        var exit = ExitStatus.success
        if let failure {
            warn("\(interface): capture failed after \(counted(pipeline.packets, "packet")): \(failure)")
            exit = .damaged
        }
        if let writer {
            writer.close()
            if let problem = writer.failure {
                warn("\(writer.path): write failed: \(problem.reason); the file holds the packets before it")
                exit = max(exit, .unreadable)
            }
        }
        let statistics = Statistics(
            interface: interface, linkType: Int(capture.linkType.rawValue), linkTypeName: capture.linkType.name,
            snaplen: snaplen, filter: filter.filter, seconds: Double(elapsed) / 1e9, packets: pipeline.packets,
            received: counters.map { Int($0.received) }, droppedByKernel: counters.map { Int($0.droppedByKernel) },
            droppedByInterface: counters.map { Int($0.droppedByInterface) },
            stoppedBy: failure == nil ? stoppedBy : "error", error: failure, written: write)
        let report = analysis.report(pipeline, source: "interface \(interface)",
                                     damage: failure.map { "capture failed: \($0)" }, extra: statistics.findings)
        switch format {
        case .text:
            print(statistics.text + "\n" + AnalysisText.render(report, colour: Terminal.colourOnStandardOutput),
                  terminator: "")
        case .jsonl:
            var output = BufferedOutput()
            output.write(try FlowTable.json(Analyze.JSONLine(type: "live", live: statistics), pretty: false))
            try Analyze.JSONLine.write(report, to: &output)
            output.flush()
        }
        fflush(nil)   // all C streams: standard output's lines reach a pipe now
        if exit != .success { throw ExitCode(exit.rawValue) }
    }

    /// What the interval summaries remember between two of them.
    struct Session {
        let format: Format
        let capture: LiveCapture
        var bytes = 0
        var lastPackets = 0
        var lastBytes = 0
        var lastElapsed: Int64 = 0
        /// The count last shown of each finding (by kind and endpoint), to show only what is new or grew.
        var shown: [String: Int] = [:]

        init(command: Live, capture: LiveCapture) {
            format = command.format
            self.capture = capture
        }

        mutating func summarise(_ pipeline: Pipeline, _ analysis: Analysis, elapsed: Int64) {
            let counters = capture.statistics
            let dropped = counters.flatMap {
                Finding.packetsDropped(byKernel: Int($0.droppedByKernel), byInterface: Int($0.droppedByInterface),
                                       received: Int($0.received))
            }
            let findings = analysis.findingsSoFar(pipeline, now: Clock.wall, settle: Live.settleNanoseconds,
                                                  extra: dropped.map { [$0] } ?? [])
            let seconds = Double(max(1, elapsed - lastElapsed)) / 1e9
            let tracker = pipeline.tracker
            let summary = Interval(
                time: Clock.wall, seconds: Double(elapsed) / 1e9, packets: pipeline.packets, bytes: bytes,
                packetsPerSecond: Double(pipeline.packets - lastPackets) / seconds,
                bitsPerSecond: Double(bytes - lastBytes) * 8 / seconds,
                tcpConversations: tracker.counters.tcpConversations, udpConversations: tracker.counters.udpConversations,
                activeConversations: tracker.activeTCP.count + tracker.activeUDP.count, findings: findings.count,
                droppedByKernel: counters.map { Int($0.droppedByKernel) },
                droppedByInterface: counters.map { Int($0.droppedByInterface) })
            lastPackets = pipeline.packets
            lastBytes = bytes
            lastElapsed = elapsed
            let fresh = findings.filter { finding in
                let key = "\(finding.kind.rawValue) \(finding.endpoint ?? "")"
                defer { shown[key] = max(shown[key] ?? 0, finding.count) }
                return finding.count > shown[key] ?? 0
            }
            switch format {
            case .text:
                var text = summary.text + "\n"
                for finding in fresh { text += "  " + AnalysisText.Style(enabled: false).severity(finding.severity) + " "
                    + finding.summary + "\n" }
                writeStandardError(text)
            case .jsonl:
                var output = BufferedOutput()
                let lines = [Analyze.JSONLine(type: "interval", interval: summary)]
                    + fresh.map { Analyze.JSONLine(type: "finding", finding: $0, provisional: true) }
                for line in lines {
                    if let text = try? FlowTable.json(line, pretty: false) { output.write(text) }
                }
                output.flush()
                fflush(nil)   // all C streams: standard output's lines reach a pipe now
            }
        }
    }
}

extension Live.Interval {
    /// "12 s  1,234 packets (102.8/s, 1.2 Mbit/s) · 15 conversations, 3 active · 2 findings · dropped 0"
    var text: String {
        var parts = ["\(fixed(seconds, 1)) s  \(grouped(packets)) packets (\(fixed(packetsPerSecond, 1))/s, "
                     + "\(fixed(bitsPerSecond / 1e6, 1)) Mbit/s)",
                     "\(grouped(tcpConversations + udpConversations)) conversations, \(grouped(activeConversations)) active",
                     counted(findings, "finding")]
        if let kernel = droppedByKernel, let interface = droppedByInterface {
            parts.append("dropped \(grouped(kernel)) by the kernel, \(grouped(interface)) by the interface")
        }
        return parts.joined(separator: " · ")
    }
}

extension Live.Statistics {
    /// The capture's own findings: what the kernel and the interface dropped.
    var findings: [Finding] {
        Finding.packetsDropped(byKernel: droppedByKernel ?? 0, byInterface: droppedByInterface ?? 0,
                               received: received ?? 0).map { [$0] } ?? []
    }

    var text: String {
        let stop = switch stoppedBy {
        case "duration": "stopped after --duration"
        case "count": "stopped after --count"
        case "error": "capture failed"
        default: "stopped by \(stoppedBy)"
        }
        var out = "Live capture  \(interface) (\(linkTypeName)), \(fixed(seconds, 1)) s, \(stop)\n"
        var facts = [counted(packets, "packet") + " read"]
        if let droppedByKernel { facts.append("\(grouped(droppedByKernel)) dropped by the kernel") }
        if let droppedByInterface { facts.append("\(grouped(droppedByInterface)) by the interface") }
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

/// Clock readings in nanoseconds.
enum Clock {
    static var monotonic: Int64 { read(CLOCK_MONOTONIC) }
    static var wall: Int64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

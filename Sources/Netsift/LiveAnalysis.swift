#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NetsiftCapture
import NetsiftFlows
import NetsiftReport

/// The pipeline and diagnosis of `Analysis.analyze`, on packets as they arrive from an interface:
/// every `interval` a summary of the capture so far with the findings that are new or grew
/// (`LiveEvent`), and when it stops the full report.
///
///     var live = LiveAnalysis(options: options)
///     let result = live.run(capture, interval: 5_000_000_000, shouldStop: { _ in stopReason() }) { event in
///         print(event.interval.packets, event.findings.count)
///     }
public struct LiveAnalysis {
    public private(set) var pipeline: Pipeline
    public private(set) var analysis: Analysis
    /// Bytes on the wire of the packets read so far.
    public private(set) var bytes = 0
    var lastPackets = 0
    var lastBytes = 0
    var lastElapsed: Int64 = 0
    /// The count last reported of each finding (by kind and endpoint), to report only what is new or grew.
    var shown: [String: Int] = [:]

    /// Conversations still active are judged in the interval summaries once they are this old, so
    /// a SYN sent a moment ago is not yet "unanswered" (the first SYN retry comes after 1 s).
    public static let settleNanoseconds: Int64 = 1_000_000_000
    /// How often `run` lets its observer look (metrics are this fresh).
    public static let observeInterval: Int64 = 1_000_000_000

    /// `options.filter` is not applied here: a live capture's filter runs in the kernel
    /// (`LiveCapture.Options.filter`).
    public init(options: AnalysisOptions) {
        var unfiltered = options
        unfiltered.filter = nil
        (pipeline, analysis) = try! Analysis.make(unfiltered)   // no filter: nothing to fail
    }

    /// Why a live capture stopped.
    public enum Stop: String, Sendable, Equatable, Encodable {
        case duration, count, SIGINT, SIGTERM, error
    }

    /// Reads `capture` until `shouldStop` (asked with the packets read so far, after every packet and
    /// at least every 100 ms) gives a reason or the
    /// capture fails; `each` sees every packet first (to write it out), `event` gets a summary
    /// every `interval` ns (none when 0). Then every conversation still active is over, and the
    /// result holds the capture's statistics and the full report. `observe`, when given, looks at
    /// the analysis so far every `observeInterval` ns (metrics), and once more when it has finished.
    public mutating func run(_ capture: LiveCapture, interval: Int64, shouldStop: (_ packets: Int) -> Stop?,
                             each: (borrowing CapturedPacket) -> Void = { _ in },
                             observe: ((inout LiveAnalysis, LiveCapture.Statistics?) -> Void)? = nil,
                             event: (LiveEvent) -> Void) -> LiveResult {
        let started = Clock.monotonic
        var nextSummary = interval > 0 ? started + interval : .max
        var nextObservation = observe == nil ? .max : started
        var stoppedBy = Stop.error
        let failure = capture.forEachPacket(shouldStop: {
            let now = Clock.monotonic
            if now >= nextSummary {
                event(summarise(capture.statistics, elapsed: now - started))
                while nextSummary <= now { nextSummary += interval }
            }
            if now >= nextObservation, let observe {
                observe(&self, capture.statistics)
                nextObservation = now + Self.observeInterval
            }
            // Asked after every packet: only the count is handed out (lending `self` would copy it).
            guard let reason = shouldStop(pipeline.packets) else { return false }
            stoppedBy = reason
            return true
        }) { captured in
            each(captured)
            add(captured)
        }
        let elapsed = Clock.monotonic - started
        let counters = capture.statistics
        pipeline.finish { analysis.add($0) }
        observe?(&self, counters)
        let statistics = LiveStatistics(
            interface: capture.interface, linkType: Int(capture.linkType.rawValue), linkTypeName: capture.linkType.name,
            seconds: Double(elapsed) / 1e9, packets: pipeline.packets,
            received: counters.map { Int($0.received) }, droppedByKernel: counters.map { Int($0.droppedByKernel) },
            droppedByInterface: counters.map { Int($0.droppedByInterface) },
            stoppedBy: failure == nil ? stoppedBy : .error, error: failure)
        let report = analysis.report(pipeline, source: "interface \(capture.interface)",
                                     damage: failure.map { "capture failed: \($0)" }, extra: statistics.findings)
        return LiveResult(statistics: statistics, report: report, series: analysis.recorder?.series,
                          outcomes: analysis.diagnosis.outcomes())
    }

    /// Keep each DNS answer's response time until `takeDNSResponseTimes` (metrics observe every one).
    public mutating func journalDNSResponseTimes() { analysis.journalDNSResponseTimes() }
    public mutating func takeDNSResponseTimes() -> [Double] { analysis.takeDNSResponseTimes() }

    /// One packet through the pipeline and the diagnosis.
    public mutating func add(_ captured: borrowing CapturedPacket) {
        bytes += captured.originalLength
        pipeline.add(captured, unusual: { analysis.add(frame: $0, $1) }, event: { analysis.add($0) },
                     flow: { analysis.add($0) })
    }

    /// The summary of the capture so far, `elapsed` ns after it began, with the kernel's counters,
    /// and the findings that are new or grew since the last one.
    public mutating func summarise(_ counters: LiveCapture.Statistics?, elapsed: Int64) -> LiveEvent {
        let dropped = counters.flatMap {
            Finding.packetsDropped(byKernel: Int($0.droppedByKernel), byInterface: Int($0.droppedByInterface),
                                   received: Int($0.received))
        }
        let findings = analysis.findingsSoFar(pipeline, now: Clock.wall, settle: Self.settleNanoseconds,
                                              extra: dropped.map { [$0] } ?? [])
        let seconds = Double(max(1, elapsed - lastElapsed)) / 1e9
        let tracker = pipeline.tracker
        let summary = LiveInterval(
            time: Clock.wall, seconds: Double(elapsed) / 1e9, packets: pipeline.packets, bytes: bytes,
            packetsPerSecond: Double(pipeline.packets - lastPackets) / seconds,
            bitsPerSecond: Double(bytes - lastBytes) * 8 / seconds,
            tcpConversations: tracker.counters.tcpConversations, udpConversations: tracker.counters.udpConversations,
            activeConversations: tracker.activeCount, findings: findings.count,
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
        return LiveEvent(interval: summary, findings: fresh)
    }
}

/// One interval of a live capture: its summary, and the findings (provisional: judged as if the
/// capture ended now) that are new or whose count grew since the last interval.
public struct LiveEvent: Sendable {
    public var interval: LiveInterval
    public var findings: [Finding]
}

/// A summary of a live capture so far.
public struct LiveInterval: Sendable, Encodable {
    /// Wall-clock time of the summary (ns since the epoch) and seconds since the capture began.
    public var time: Int64
    public var seconds: Double
    public var packets: Int
    public var bytes: Int
    /// Over the interval just ended.
    public var packetsPerSecond: Double
    public var bitsPerSecond: Double
    public var tcpConversations: Int
    public var udpConversations: Int
    public var activeConversations: Int
    public var findings: Int
    public var droppedByKernel: Int?
    public var droppedByInterface: Int?
}

/// How a live capture went.
public struct LiveStatistics: Sendable, Encodable {
    public var interface: String
    public var linkType: Int
    public var linkTypeName: String
    public var seconds: Double
    /// Packets netsift read; libpcap's received (after the filter) and dropped counts.
    public var packets: Int
    public var received: Int?
    public var droppedByKernel: Int?
    public var droppedByInterface: Int?
    public var stoppedBy: LiveAnalysis.Stop
    public var error: String?

    /// The capture's own findings: what the kernel and the interface dropped.
    public var findings: [Finding] {
        Finding.packetsDropped(byKernel: droppedByKernel ?? 0, byInterface: droppedByInterface ?? 0,
                               received: received ?? 0).map { [$0] } ?? []
    }
}

/// What a live capture gives when it stops.
public struct LiveResult: Sendable {
    public var statistics: LiveStatistics
    public var report: AnalysisReport
    /// What the HTML report draws: nil unless `AnalysisOptions.series` asked for it.
    public var series: CaptureSeries?
    public var outcomes: Outcomes
}

/// Clock readings in nanoseconds.
public enum Clock {
    public static var monotonic: Int64 { read(CLOCK_MONOTONIC) }
    public static var wall: Int64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

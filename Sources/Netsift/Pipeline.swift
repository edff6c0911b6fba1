import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

/// The plain loop through the pipeline: read, filter, dissect, follow flows. Each stage's output
/// goes to the caller: the unusual packets (malformed, ICMP errors), every application message,
/// every conversation once it is over (the rest when the capture ends).
///
/// With `AnalysisOptions.threads` above one and a capture file, `run` shares the conversations out by the
/// hash of their key among that many workers, each on its own thread with its own reader over one
/// shared mapping of the file, its own dissector and tracker. Every worker reads every record and
/// moves its idle-flow clock with every packet, but dissects and follows only its own
/// conversations (a plain TCP/UDP packet of another's is recognised at fixed offsets and skipped).
/// The calling thread is worker 0: it hands out what all found (unusual packets, messages,
/// conversations) in the order one tracker would have, numbered as one tracker numbers them
/// (`tcp.stream`). No queue or lock per packet: workers post every `Sharding.batch` packets. The
/// flow and reassembly limits are shared out evenly among the workers.
public struct Pipeline {
    public internal(set) var tracker: FlowTracker
    public internal(set) var dissector: Dissector
    /// Records read so far, whether the filter let them through or not (the last frame number).
    public internal(set) var frame = 0
    /// Packets the filter let through.
    public internal(set) var packets = 0
    public internal(set) var firstTime: Int64?
    public internal(set) var lastTime: Int64?
    /// What the trackers counted: with several threads, all of them together.
    public var counters: FlowCounters { shardedCounters ?? tracker.counters }
    var shardedCounters: FlowCounters?
    public let options: AnalysisOptions
    let filter: PacketFilter?
    /// Sees every packet the filter lets through, for the report's pictures (nil: none recorded).
    public var recorder: SeriesRecorder?

    /// How often (in packets) `run` reports its progress.
    public static let progressInterval = 1 << 16

    /// - Throws: when `options.filter` is not a BPF expression libpcap compiles.
    public init(options: AnalysisOptions) throws(CaptureError) {
        self.options = options
        filter = try options.compiledFilter()
        tracker = options.tracker()
        dissector = options.dissector()
    }

    /// Runs the capture through. `unusual` (each unusual packet, with its frame number and
    /// summary), `event` and `flow` are called on this thread, in the order of the packets that
    /// produced them; every conversation reaches `flow` by the time this returns. `progress` is
    /// told every `progressInterval` packets how many have been read, and how many bytes of the
    /// file that is (about: records' lengths).
    public mutating func run(_ reader: inout CaptureReader,
                             unusual: (_ frame: Int, PacketSummary) -> Void = { _, _ in },
                             event: (ApplicationEvent) -> Void = { _ in },
                             flow: (FinishedFlow) -> Void,
                             progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in }) -> CaptureReader.End {
        runSource(&reader, unusual: unusual, event: event, flow: flow, progress: progress)
    }

    /// `run` over several files read as one capture (`CaptureSet`): frames are numbered in the
    /// merged order, conversations go on from one file to the next, and `progress` counts bytes
    /// over the whole set. Damage in one file ends that file only: the end is the first damage,
    /// and `set.damages` names every damaged file.
    public mutating func run(_ set: inout CaptureSet,
                             unusual: (_ frame: Int, PacketSummary) -> Void = { _, _ in },
                             event: (ApplicationEvent) -> Void = { _ in },
                             flow: (FinishedFlow) -> Void,
                             progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in }) -> CaptureReader.End {
        runSource(&set, unusual: unusual, event: event, flow: flow, progress: progress)
    }

    mutating func runSource<Source: PacketSource & ~Copyable>(
        _ reader: inout Source, unusual: (_ frame: Int, PacketSummary) -> Void, event: (ApplicationEvent) -> Void,
        flow: (FinishedFlow) -> Void, progress: (_ packets: Int, _ bytes: Int) -> Void
    ) -> CaptureReader.End {
        let threads = options.threads
        if threads > 1, recorder == nil, reader.isMappedFile,
           var sharded = ShardedRun<Source>(sharing: reader, count: threads, filter: filter, options: options) {
            tracker = options.tracker(shard: FlowShard(index: 0, count: threads))
            defer { shardedCounters = sharded.counters(own: tracker.counters) }
            return sharded.run(&self, &reader, unusual: unusual, event: event, flow: flow, progress: progress)
        }
        var position = 0
        let end = reader.forEachPacket { captured, _ in
            add(captured, unusual: unusual, event: event, flow: flow)
            position += Pipeline.recordBytes(captured)
            if frame % Self.progressInterval == 0 { progress(frame, position) }
        }
        tracker.finish(flow)
        return end
    }

    /// One packet through the loop, from any source (`run` above; a live capture calls it for each
    /// packet and `finish` when it stops).
    public mutating func add(_ captured: borrowing CapturedPacket,
                             unusual: (_ frame: Int, PacketSummary) -> Void,
                             event: (ApplicationEvent) -> Void, flow: (FinishedFlow) -> Void) {
        frame += 1
        if let filter, !filter.matches(captured) { return }
        count(captured)
        let time = captured.timestamp, wire = captured.originalLength
        let number = frame
        let recorder = self.recorder
        recorder?.count(time: time, wireLength: wire)
        dissector.dissect(captured) { summary, bytes in
            let tracked = tracker.track(&summary, bytes: bytes, frame: number, time: time, wireLength: wire, events: event)
            recorder?.add(&summary, tracked: tracked, time: time)
            if summary.isUnusual { unusual(number, summary) }
        }
        tracker.drain(flow)
    }

    /// One packet through the loop, for a caller that looks at every packet (`netsift packets`):
    /// `body` gets the packet's summary, the bytes its ranges refer to, and what the tracker found
    /// (its conversation, TCP analysis, the application messages it completed). A packet the
    /// filter drops is counted as a frame and not shown; false when it was dropped.
    @discardableResult
    public mutating func decode(_ captured: borrowing CapturedPacket,
                                _ body: (inout PacketSummary, RawSpan, PacketDetails) -> Void) -> Bool {
        frame += 1
        if let filter, !filter.matches(captured) { return false }
        count(captured)
        let time = captured.timestamp, wire = captured.originalLength
        var details = PacketDetails(frame: frame, time: time, wireLength: wire, capturedLength: captured.capturedLength)
        dissector.dissect(captured) { summary, bytes in
            details.conversation = tracker.track(&summary, bytes: bytes, frame: details.frame, time: time, wireLength: wire) {
                details.messages.append($0)
            }
            body(&summary, bytes, details)
        }
        tracker.drain { _ in }
        return true
    }

    /// The capture ended (a live capture stopped): every conversation still active is over.
    public mutating func finish(_ flow: (FinishedFlow) -> Void) { tracker.finish(flow) }

    /// A packet the filter let through: counted, its time the last seen (and the first, if it is).
    mutating func count(_ captured: borrowing CapturedPacket) {
        packets += 1
        if firstTime == nil { firstTime = captured.timestamp }
        lastTime = captured.timestamp
    }

    /// About how many bytes of the file a packet's record takes (a pcap record: its bytes and a
    /// 16-byte header; pcapng's blocks are a little larger), for progress and for how far apart
    /// the workers of a sharded run are.
    static func recordBytes(_ captured: borrowing CapturedPacket) -> Int { captured.capturedLength + 16 }
}

/// What the pipeline found about one packet besides its summary (`Pipeline.decode`).
public struct PacketDetails: Sendable {
    /// The packet's number in the capture, from 1 (Wireshark's `frame.number`).
    public var frame: Int
    /// When it was captured, in ns since the epoch.
    public var time: Int64
    /// Its length on the wire (`frame.len`) and as captured (`frame.cap_len`).
    public var wireLength: Int
    public var capturedLength: Int
    /// The packet's conversation (`tcp.stream` / `udp.stream`) and, for TCP, Wireshark's analysis flags.
    public var conversation: TrackedPacket?
    /// The application messages this packet completed (DNS, TLS, HTTP/2), in order.
    public var messages: [ApplicationEvent] = []
}

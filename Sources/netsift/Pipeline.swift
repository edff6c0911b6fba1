import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

/// The options of every command that follows conversations.
struct FlowOptions: ParsableArguments {
    @Option(name: .customLong("decode-as"), help: ArgumentHelp(
        "Parse a port as a protocol whatever its content, as Wireshark's -d: tcp.port==8443,http2 (dns, tls, http2).",
        valueName: "rule"))
    var decodeAs: [String] = []

    @Option(help: "At most this many conversations (TCP and UDP each) followed at once; the idlest are ended early and counted.")
    var maxFlows = FlowLimits().maximumFlows

    @Option(help: "Seconds a TCP conversation may stay idle before it is over (established or midstream).")
    var tcpIdle = Double(FlowLimits().tcpIdle) / 1e9

    @Option(help: "Seconds a TCP conversation waiting for an answer to its SYN may stay idle.")
    var tcpAttemptIdle = Double(FlowLimits().tcpAttemptIdle) / 1e9

    @Option(help: "Seconds a closed or reset TCP conversation is kept for late packets.")
    var tcpClosedIdle = Double(FlowLimits().tcpClosedIdle) / 1e9

    @Option(help: "Seconds a UDP conversation may stay idle before it is over.")
    var udpIdle = Double(FlowLimits().udpIdle) / 1e9

    @Option(help: "Out-of-order bytes TCP reassembly may hold, in MiB per direction.")
    var reassemblyDirectionMiB = ReassemblyLimits().bytesPerDirection >> 20

    @Option(help: "Out-of-order bytes TCP reassembly may hold in all, in MiB.")
    var reassemblyTotalMiB = ReassemblyLimits().totalBytes >> 20

    @Option(help: "IP datagrams reassembled from fragments at once (64 KiB each); a new one past this drops the oldest, counted.")
    var maxFragmentedDatagrams = FragmentLimits().maximumDatagrams

    @Option(help: "Fragments one IP datagram may arrive in; more are dropped and counted.")
    var maxFragments = FragmentLimits().maximumFragments

    @Option(help: "Seconds an incomplete fragmented datagram waits for its next fragment (capture time).")
    var fragmentTimeout = Double(FragmentLimits().timeout) / 1e9

    func validate() throws {
        guard DecodeAs(rules: decodeAs) != nil else {
            throw ValidationError("--decode-as takes tcp.port==N,PROTOCOL or udp.port==N,PROTOCOL with PROTOCOL one of dns, tls, http2")
        }
        guard maxFlows > 0, reassemblyDirectionMiB >= 0, reassemblyTotalMiB >= 0 else {
            throw ValidationError("--max-flows must be positive and the reassembly limits zero or more")
        }
        guard [tcpIdle, tcpAttemptIdle, tcpClosedIdle, udpIdle, fragmentTimeout].allSatisfy({ $0 > 0 && $0 < 1e9 }) else {
            throw ValidationError("idle timeouts must be positive numbers of seconds")
        }
        // Each datagram in flight takes 64 KiB, and every fragment looks through them all; a datagram
        // of 65,535 bytes cannot have more than 8,192 fragments of 8 bytes.
        guard (1...4_096).contains(maxFragmentedDatagrams), (1...8_192).contains(maxFragments) else {
            throw ValidationError("--max-fragmented-datagrams must be between 1 and 4,096, --max-fragments between 1 and 8,192")
        }
    }

    /// The dissector, with the fragment limits (every worker of a sharded run reassembles every
    /// fragment: which conversation a fragment belongs to is known only once it is whole).
    func dissector() -> Dissector {
        var limits = FragmentLimits()
        limits.maximumDatagrams = maxFragmentedDatagrams
        limits.maximumFragments = maxFragments
        limits.timeout = Int64(fragmentTimeout * 1e9)
        return Dissector(fragmentLimits: limits)
    }

    /// The tracker for one shard of the conversations. With several, the flow and reassembly
    /// limits are shared out, so that together they hold what one tracker would.
    func tracker(shard: FlowShard = FlowShard()) -> FlowTracker {
        FlowTracker(decodeAs: DecodeAs(rules: decodeAs) ?? DecodeAs(),
                    reassemblyLimits: ReassemblyLimits(bytesPerDirection: reassemblyDirectionMiB << 20,
                                                       totalBytes: (reassemblyTotalMiB << 20) / shard.count),
                    flowLimits: FlowLimits(maximumFlows: (maxFlows + shard.count - 1) / shard.count,
                                           tcpIdle: Int64(tcpIdle * 1e9), tcpAttemptIdle: Int64(tcpAttemptIdle * 1e9),
                                           tcpClosedIdle: Int64(tcpClosedIdle * 1e9), udpIdle: Int64(udpIdle * 1e9)),
                    shard: shard)
    }
}

/// `--threads`, for the commands that read a capture file through `Pipeline.run` (`live` and
/// `packets` go packet by packet, on one thread).
struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Threads for a capture file (default: the cores available). Each reads the whole file and follows a share of the conversations; standard input and pipes are read on one.",
        valueName: "n"))
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }
}

/// Opens a capture, or says why not (one line naming the file) and exits 2.
func openCapture(_ file: String) throws -> CaptureReader {
    do {
        return try CaptureReader(path: file)
    } catch {
        warn(error.description)
        throw ExitCode(ExitStatus.unreadable.rawValue)
    }
}

/// What reading ended with, as an exit status: a damaged capture is reported in one line (what was
/// read before the damage has been analysed) and exits 3; an unreadable one exits 2.
func status(of end: CaptureReader.End, file: String) -> ExitStatus {
    switch end {
    case .finished:
        return .success
    case .damaged(let damage):
        warn("\(file == "-" ? "standard input" : file): \(damage.description)")
        return .damaged
    case .rejected(let error):
        warn(error.description)
        return .unreadable
    }
}

/// The plain loop through the pipeline: read, filter, dissect, follow flows. Each stage's output
/// goes to the caller: the unusual packets (malformed, ICMP errors), every application message,
/// every conversation once it is over (the rest when the capture ends).
///
/// With `threads` above one and a capture file, the conversations are shared out by the hash of
/// their key among that many workers, each on its own thread with its own reader over one shared
/// mapping of the file, its own dissector and tracker. Every worker reads every record and moves
/// its idle-flow clock with every packet, but dissects and follows only its own conversations
/// (a plain TCP/UDP packet of another's is recognised at fixed offsets and skipped). This thread
/// is worker 0: it hands out what all found (unusual packets, messages, conversations) in the
/// order one tracker would have, numbered as one tracker numbers them (`tcp.stream`). No queue or
/// lock per packet: workers post every `ShardedRun.batch` packets. The flow and reassembly limits
/// are shared out evenly among the workers.
struct Pipeline {
    var tracker: FlowTracker
    var dissector: Dissector
    var frame = 0
    var packets = 0
    var firstTime: Int64?
    var lastTime: Int64?
    /// What the trackers counted: with several threads, all of them together.
    var counters: FlowCounters { shardedCounters ?? tracker.counters }
    private var shardedCounters: FlowCounters?
    let options: FlowOptions
    /// Workers for a capture file (`run`).
    let threads: Int

    static let progressInterval = 1 << 16

    init(options: FlowOptions, threads: Int = 1) {
        self.options = options
        self.threads = threads
        tracker = options.tracker()
        dissector = options.dissector()
    }

    /// Runs the capture through. `unusual` (each unusual packet, with its frame number and
    /// summary), `event` and `flow` are called on this thread, in the order of the packets that
    /// produced them. `progress` is told every `progressInterval` packets how many have been read,
    /// and how many bytes of the file that is (about: records' lengths).
    mutating func run(_ reader: inout CaptureReader, filter: PacketFilter?,
                      unusual: (_ frame: Int, PacketSummary) -> Void = { _, _ in },
                      event: (ApplicationEvent) -> Void = { _ in },
                      flow: (FinishedFlow) -> Void,
                      progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in }) -> CaptureReader.End {
        if threads > 1, reader.isMappedFile,
           var sharded = ShardedRun(sharing: reader, count: threads, filter: filter, options: options) {
            tracker = options.tracker(shard: FlowShard(index: 0, count: threads))
            defer { shardedCounters = sharded.counters(own: tracker.counters) }
            return sharded.run(&self, &reader, filter: filter, unusual: unusual, event: event, flow: flow,
                               progress: progress)
        }
        var position = 0
        let end = reader.forEachPacket { captured in
            add(captured, filter: filter, unusual: unusual, event: event, flow: flow)
            position += Pipeline.recordBytes(captured)
            if frame % Self.progressInterval == 0 { progress(frame, position) }
        }
        tracker.finish(flow)
        return end
    }

    /// One packet through the loop, from any source (a file above, a live capture in `netsift live`,
    /// which calls `tracker.finish` itself when it stops).
    mutating func add(_ captured: CapturedPacket, filter: PacketFilter?,
                      unusual: (_ frame: Int, PacketSummary) -> Void,
                      event: (ApplicationEvent) -> Void, flow: (FinishedFlow) -> Void) {
        frame += 1
        if let filter, !filter.matches(captured) { return }
        count(captured)
        let time = captured.timestamp, wire = captured.originalLength
        let number = frame
        dissector.dissect(captured) { summary, bytes in
            _ = tracker.track(&summary, bytes: bytes, frame: number, time: time, wireLength: wire, events: event)
            if summary.isUnusual { unusual(number, summary) }
        }
        tracker.drain(flow)
    }

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

/// What a worker found, with the frame it was found at: a conversation it started (so that the
/// conversations can be numbered as one tracker numbers them), an application message, an unusual
/// packet, a conversation that is over (`Int.max`: still open when the capture ended).
enum ShardOutput {
    case started(frame: Int, transport: Transport, stream: Int)
    case event(frame: Int, ApplicationEvent)
    case unusual(frame: Int, PacketSummary)
    case finished(frame: Int, FinishedFlow)

    var frame: Int {
        switch self {
        case .started(let frame, _, _), .event(let frame, _), .unusual(let frame, _), .finished(let frame, _): frame
        }
    }
}

/// What the workers of a sharded run share, under `lock`: what each found that the calling thread
/// has not taken yet, how far each is. Only ever touched under the lock, which is what makes the
/// unchecked `Sendable` sound.
final class ShardBoard: @unchecked Sendable {
    let lock = Condition()
    /// Whether the workers may read: nil until the run starts, false when it was given up.
    var go: Bool?
    /// Per worker (0 is the calling thread, which keeps its own findings): findings in frame order.
    var outboxes: [[ShardOutput]]
    /// Per worker: the last frame whose findings are all posted (`Int.max`: through).
    var progress: [Int]
    /// Per worker: about how many bytes of the file it has read (`Int.max`: through). The same
    /// estimate for all (record lengths), so that the lead of one over the others can be bounded.
    var positions: [Int]

    init(count: Int) {
        outboxes = Array(repeating: [], count: count)
        progress = Array(repeating: 0, count: count)
        positions = Array(repeating: 0, count: count)
    }

    /// The last frame every worker is past.
    var through: Int { progress.min() ?? .max }

    var allThrough: Bool { progress.allSatisfy { $0 == .max } }

    /// Whether `worker` is so far ahead of the slowest other that the file's pages between them
    /// (which stay mapped until the slowest is past them) would weigh on memory.
    func isAhead(_ worker: Int) -> Bool {
        let slowest = positions.indices.lazy.filter { $0 != worker }.map { self.positions[$0] }.min() ?? .max
        return positions[worker] != .max && slowest != .max && positions[worker] - slowest > ShardedRun.maximumLead
    }
}

/// One worker of a sharded run on a thread of its own, with its own reader (over the shared
/// mapping), dissector and tracker. It posts what it finds every `ShardedRun.batch` packets.
final class ShardWorker: @unchecked Sendable {
    let index: Int
    var reader: CaptureReader
    let filter: PacketFilter?
    let dissector: Dissector
    var tracker: FlowTracker
    let board: ShardBoard

    init(index: Int, reader: consuming CaptureReader, filter: PacketFilter?, dissector: Dissector, tracker: FlowTracker,
         board: ShardBoard) {
        self.index = index
        self.reader = reader
        self.filter = filter
        self.dissector = dissector
        self.tracker = tracker
        self.board = board
    }

    /// Reads the whole capture, following its own conversations.
    func run() {
        board.lock.lock()
        while board.go == nil { board.lock.wait() }
        let go = board.go!
        board.lock.unlock()
        guard go else { return }
        var found: [ShardOutput] = []
        var frame = 0, position = 0
        // Locals for the walk: every use of a class's stored property is checked for exclusive
        // access at run time.
        var dissector = self.dissector, tracker = self.tracker
        _ = reader.forEachPacket { captured in
            frame += 1
            if frame % ShardedRun.batch == 0 { post(&found, through: frame - 1, position: position) }
            position += Pipeline.recordBytes(captured)
            if let filter, !filter.matches(captured) { return }
            ShardedRun.track(captured, frame: frame, worker: index, dissector: &dissector, tracker: &tracker,
                             into: &found)
        }
        tracker.finish { found.append(.finished(frame: .max, $0)) }
        self.tracker = tracker   // before posting the end: the calling thread then reads its counters
        post(&found, through: .max, position: .max)
    }

    /// Moves what was found to the board (waiting while the outbox is full), says how far the
    /// worker is, and waits while it is too far ahead of the others.
    func post(_ found: inout [ShardOutput], through frame: Int, position: Int) {
        board.lock.lock()
        while board.outboxes[index].count >= ShardedRun.outboxLimit && !found.isEmpty { board.lock.wait() }
        board.outboxes[index] += found
        board.progress[index] = frame
        board.positions[index] = position
        board.lock.broadcast()
        while board.isAhead(index) { board.lock.wait() }
        board.lock.unlock()
        found.removeAll(keepingCapacity: true)
    }
}

/// A run shared out among threads (see `Pipeline`). The calling thread is worker 0: it follows its
/// own conversations as the others do, and every `batch` packets takes what all workers found up
/// to the frame every one of them has passed, and hands it out in frame order.
struct ShardedRun {
    /// Packets between two posts (workers) or two collections (the calling thread).
    static let batch = 1024
    /// Findings a worker may hold before it waits for the calling thread (a finished TCP
    /// conversation is about 1.5 kB).
    static let outboxLimit = 4096
    /// How far (bytes of the file) a worker may get ahead of the slowest.
    static let maximumLead = 4 << 20

    let board: ShardBoard
    var workers: [ShardWorker] = []
    /// Stream numbers as one tracker gives them: per worker and transport, local to global.
    var numbers: [[Transport: [Int: Int]]]
    var nextStream: [Transport: Int] = [.tcp: 0, .udp: 0]
    /// Conversations active at once over all workers, for `peakActive`.
    var active = 0
    var peakActive = 0

    /// The other workers, with readers over `reader`'s mapping, on threads of their own that wait
    /// for `run`; nil when there cannot be (the caller then runs on one thread).
    init?(sharing reader: borrowing CaptureReader, count: Int, filter: PacketFilter?, options: FlowOptions) {
        board = ShardBoard(count: count)
        numbers = Array(repeating: [.tcp: [:], .udp: [:]], count: count)
        for index in 1..<count {
            guard let shared = CaptureReader(sharingMappingOf: reader) else { return nil }
            var copy: PacketFilter?
            if let filter {
                guard let compiled = try? PacketFilter(expression: filter.expression) else { return nil }
                copy = compiled
            }
            workers.append(ShardWorker(index: index, reader: shared, filter: copy, dissector: options.dissector(),
                                       tracker: options.tracker(shard: FlowShard(index: index, count: count)),
                                       board: board))
        }
        // Not joined: a worker is through once it posts so, and its thread then ends.
        for worker in workers where !startThread(stackSize: 8 << 20, { worker.run() }) {
            start(false)
            return nil
        }
    }

    /// Lets the workers' threads read (`go`), or end at once.
    func start(_ go: Bool) {
        board.lock.lock()
        board.go = go
        board.lock.broadcast()
        board.lock.unlock()
    }

    /// One packet for a worker; what it finds goes to `found`. A plain packet of another worker's
    /// conversation is not dissected at all: only the clock of idle flows moves. Every other
    /// packet is dissected by every worker (whose conversation it is shows only then: a fragment,
    /// an ICMP error); the tracker follows it in the worker it belongs to. An unusual packet is
    /// reported once: by the worker of its plain conversation, or else by worker 0.
    static func track(_ captured: borrowing CapturedPacket, frame: Int, worker: Int, dissector: inout Dissector,
                      tracker: inout FlowTracker, into found: inout [ShardOutput]) {
        let plain = Dissector.plainFlow(captured)
        if let plain, !tracker.shard.owns(FlowKey(plain)) {
            tracker.advance(to: captured.timestamp)
            tracker.drain { found.append(.finished(frame: frame, $0)) }
            return
        }
        let reportsUnusual = plain != nil || worker == 0
        let time = captured.timestamp, wire = captured.originalLength
        let tcpBefore = tracker.counters.tcpConversations, udpBefore = tracker.counters.udpConversations
        let mark = found.count
        dissector.dissect(captured) { summary, bytes in
            _ = tracker.track(&summary, bytes: bytes, frame: frame, time: time, wireLength: wire) {
                found.append(.event(frame: frame, $0))
            }
            if reportsUnusual && summary.isUnusual { found.append(.unusual(frame: frame, summary)) }
        }
        // A conversation is started before its first packet's messages.
        if tracker.counters.tcpConversations > tcpBefore {
            found.insert(.started(frame: frame, transport: .tcp, stream: tcpBefore), at: mark)
        } else if tracker.counters.udpConversations > udpBefore {
            found.insert(.started(frame: frame, transport: .udp, stream: udpBefore), at: mark)
        }
        tracker.drain { found.append(.finished(frame: frame, $0)) }
    }

    mutating func run(_ pipeline: inout Pipeline, _ reader: inout CaptureReader, filter: PacketFilter?,
                      unusual: (Int, PacketSummary) -> Void, event: (ApplicationEvent) -> Void,
                      flow: (FinishedFlow) -> Void, progress: (Int, Int) -> Void) -> CaptureReader.End {
        start(true)
        var own: [ShardOutput] = []
        var position = 0
        let end = reader.forEachPacket { captured in
            pipeline.frame += 1
            let number = pipeline.frame
            if number % Self.batch == 0 {
                collect(&own, through: number - 1, position: position, unusual: unusual, event: event, flow: flow)
            }
            position += Pipeline.recordBytes(captured)
            if number % Pipeline.progressInterval == 0 { progress(number, position) }
            if let filter, !filter.matches(captured) { return }
            pipeline.count(captured)
            Self.track(captured, frame: number, worker: 0, dissector: &pipeline.dissector,
                       tracker: &pipeline.tracker, into: &own)
        }
        pipeline.tracker.finish { own.append(.finished(frame: .max, $0)) }
        collect(&own, through: .max, position: .max, unusual: unusual, event: event, flow: flow)
        return end
    }

    /// Posts this thread's progress, takes what every worker found up to the frame all have
    /// passed, and hands it out with this thread's own findings. Waits while this thread is too
    /// far ahead of the others, and at the end (`through` is `Int.max`) until all are through.
    mutating func collect(_ own: inout [ShardOutput], through ownThrough: Int, position: Int,
                          unusual: (Int, PacketSummary) -> Void, event: (ApplicationEvent) -> Void,
                          flow: (FinishedFlow) -> Void) {
        while true {
            board.lock.lock()
            board.progress[0] = ownThrough
            board.positions[0] = position
            let through = board.through
            var taken = board.outboxes.map { outbox in Array(outbox.prefix { $0.frame <= through }) }
            for worker in taken.indices.dropFirst() { board.outboxes[worker].removeFirst(taken[worker].count) }
            let done = board.allThrough && board.outboxes.allSatisfy(\.isEmpty)
            board.lock.broadcast()
            // Wait for the others (there is nothing to hand out until one posts), then take again.
            let wait = !done && (ownThrough == .max ? taken.dropFirst().allSatisfy(\.isEmpty) : board.isAhead(0))
            if wait { board.lock.wait() }
            board.lock.unlock()
            let mine = own.prefix { $0.frame <= through }.count
            taken[0] = Array(own.prefix(mine))
            own.removeFirst(mine)
            handOut(taken, unusual: unusual, event: event, flow: flow)
            if done || (!wait && ownThrough != .max) { return }
        }
    }

    /// Hands out the workers' findings frame by frame: conversations started, messages and unusual
    /// packets, then the conversations that ended at that frame (as one tracker's `drain` orders
    /// them), with stream numbers as one tracker gives them.
    mutating func handOut(_ lists: [[ShardOutput]], unusual: (Int, PacketSummary) -> Void,
                          event: (ApplicationEvent) -> Void, flow: (FinishedFlow) -> Void) {
        var heads = Array(repeating: 0, count: lists.count)
        while true {
            var frame = Int.max, any = false
            for (worker, list) in lists.enumerated() where heads[worker] < list.count {
                frame = min(frame, list[heads[worker]].frame)
                any = true
            }
            guard any else { return }
            var ended: [FinishedFlow] = []
            var started = 0
            for (worker, list) in lists.enumerated() {
                while heads[worker] < list.count, list[heads[worker]].frame == frame {
                    switch list[heads[worker]] {
                    case .started(_, let transport, let stream):
                        numbers[worker][transport]![stream] = nextStream[transport]!
                        nextStream[transport]! += 1
                        started += 1
                    case .event(_, var found):
                        found.context.stream = numbers[worker][found.context.transport]![found.context.stream]!
                        event(found)
                    case .unusual(let frame, let summary):
                        unusual(frame, summary)
                    case .finished(_, let found):
                        ended.append(renumbered(found, worker: worker))
                    }
                    heads[worker] += 1
                }
            }
            // Active conversations as one tracker counts them: those that ended at this frame were
            // removed before the one it started was added.
            active -= ended.count
            if started > 0 {
                active += started
                peakActive = max(peakActive, active)
            }
            ended.sort { $0.order < $1.order }
            for found in ended { flow(found) }
        }
    }

    /// A worker's finished conversation with its number as one tracker gives it.
    mutating func renumbered(_ found: FinishedFlow, worker: Int) -> FinishedFlow {
        switch found {
        case .tcp(var conversation):
            conversation.stream = numbers[worker][.tcp]!.removeValue(forKey: conversation.stream)!
            return .tcp(conversation)
        case .udp(var conversation):
            conversation.stream = numbers[worker][.udp]!.removeValue(forKey: conversation.stream)!
            return .udp(conversation)
        }
    }

    /// The counters of all workers (`own` is worker 0's).
    func counters(own: FlowCounters) -> FlowCounters {
        var total = own
        board.lock.lock()
        defer { board.lock.unlock() }
        for worker in workers {
            total.tcpConversations += worker.tracker.counters.tcpConversations
            total.udpConversations += worker.tracker.counters.udpConversations
            total.evicted += worker.tracker.counters.evicted
            total.reassemblyOverflows += worker.tracker.counters.reassemblyOverflows
        }
        total.peakActive = peakActive
        return total
    }
}

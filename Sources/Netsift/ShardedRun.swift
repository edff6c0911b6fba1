import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

/// What a worker found, with the frame it was found at: a conversation it started (so that the
/// conversations can be numbered as one tracker numbers them), an application message, an unusual
/// packet, a conversation that is over. (Those still open when the capture ended go through
/// `ShardBoard.endboxes` instead, a few at a time; a shard output writes them as over at `Int.max`.)
enum ShardOutput: Decodable {
    case started(frame: Int, transport: Transport, stream: Int)
    case event(frame: Int, ApplicationEvent)
    case unusual(frame: Int, PacketSummary)
    /// Boxed: a finished conversation is some 2 kB, and every other case (one `started` per new
    /// conversation of a flood) would take as much room in the outboxes.
    indirect case finished(frame: Int, FinishedFlow)

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
    /// Per worker (0 hands out its own directly): the conversations still open when the capture
    /// ended, in the order its tracker's `finish` gives them, a batch at a time; and whether the
    /// last batch is posted. A flood leaves `maximumFlows` of them, some 2 kB each once finished:
    /// posted all at once they would take hundreds of megabytes.
    var endboxes: [[FinishedFlow]]
    var ended: [Bool]

    init(count: Int) {
        outboxes = Array(repeating: [], count: count)
        progress = Array(repeating: 0, count: count)
        positions = Array(repeating: 0, count: count)
        endboxes = Array(repeating: [], count: count)
        ended = Array(repeating: false, count: count)
    }

    /// The last frame every worker is past.
    var through: Int { progress.min() ?? .max }

    var allThrough: Bool { progress.allSatisfy { $0 == .max } }

    /// Takes a worker's findings up to `frame` out of its outbox.
    func take(from worker: Int, through frame: Int) -> [ShardOutput] {
        Sharding.split(&outboxes[worker], through: frame)
    }

    /// Whether `worker` is so far ahead of the slowest other that the file's pages between them
    /// (which stay mapped until the slowest is past them) would weigh on memory.
    func isAhead(_ worker: Int) -> Bool {
        let slowest = positions.indices.lazy.filter { $0 != worker }.map { self.positions[$0] }.min() ?? .max
        return positions[worker] != .max && slowest != .max && positions[worker] - slowest > Sharding.maximumLead
    }
}

/// One worker of a sharded run on a thread of its own, with its own reader (over the shared
/// mapping), dissector and tracker. It posts what it finds every `Sharding.batch` packets.
final class ShardWorker<Source: PacketSource & ~Copyable>: @unchecked Sendable {
    let index: Int
    var reader: Source
    let filter: PacketFilter?
    let dissector: Dissector
    var tracker: FlowTracker
    let board: ShardBoard

    init(index: Int, reader: consuming Source, filter: PacketFilter?, dissector: Dissector, tracker: FlowTracker,
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
        _ = reader.forEachPacket { captured, _ in
            frame += 1
            // Every batch, and sooner when a flood ends a conversation at nearly every packet.
            if frame % Sharding.batch == 0 || found.count >= Sharding.outboxLimit {
                post(&found, through: frame - 1, position: position)
            }
            position += Pipeline.recordBytes(captured)
            if let filter, !filter.matches(captured) { return }
            Sharding.track(captured, frame: frame, worker: index, dissector: &dissector, tracker: &tracker,
                             into: &found)
        }
        post(&found, through: .max, position: .max)
        var ending: [FinishedFlow] = []
        ending.reserveCapacity(Sharding.endBatch)
        tracker.finish { flow in
            ending.append(flow)
            if ending.count == Sharding.endBatch { postEnd(&ending, last: false) }
        }
        self.tracker = tracker   // before posting the last batch: the calling thread then reads its counters
        postEnd(&ending, last: true)
    }

    /// Moves a batch of the conversations still open at the end to the board, once the calling
    /// thread has taken the previous one (so at most two batches are held: this one and that one).
    func postEnd(_ ending: inout [FinishedFlow], last: Bool) {
        board.lock.lock()
        while !board.endboxes[index].isEmpty { board.lock.wait() }
        swap(&board.endboxes[index], &ending)
        board.ended[index] = last
        board.lock.broadcast()
        board.lock.unlock()
    }

    /// Moves what was found to the board (waiting while the outbox is full), says how far the
    /// worker is, and waits while it is too far ahead of the others.
    func post(_ found: inout [ShardOutput], through frame: Int, position: Int) {
        board.lock.lock()
        while board.outboxes[index].count >= Sharding.outboxLimit && !found.isEmpty { board.lock.wait() }
        if board.outboxes[index].isEmpty {
            swap(&board.outboxes[index], &found)   // moved, not copied: `+=` retained every message in it
        } else {
            board.outboxes[index] += found
        }
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
struct ShardedRun<Source: PacketSource & ~Copyable> {
    let board: ShardBoard
    var workers: [ShardWorker<Source>] = []
    /// Numbers conversations and hands out what the workers found in the order of one tracker.
    var handing: ShardHandOut
    /// Per worker (0 unused): the batch of its conversations still open at the end being handed
    /// out, and the next one's place in it.
    var ending: [[FinishedFlow]] = []
    var nextEnding: [Int] = []

    /// The other workers, with readers over `reader`'s mapping, on threads of their own that wait
    /// for `run`; nil when there cannot be (the caller then runs on one thread).
    init?(sharing reader: borrowing Source, count: Int, filter: PacketFilter?, options: AnalysisOptions) {
        board = ShardBoard(count: count)
        handing = ShardHandOut(workers: count)
        for index in 1..<count {
            guard let shared = Source(sharingMappingOf: reader) else { return nil }
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

    mutating func run(_ pipeline: inout Pipeline, _ reader: inout Source,
                      unusual: (Int, PacketSummary) -> Void, event: (ApplicationEvent) -> Void,
                      flow: (FinishedFlow) -> Void, progress: (Int, Int) -> Void) -> CaptureReader.End {
        start(true)
        var own: [ShardOutput] = []
        var position = 0
        let end = reader.forEachPacket { captured, _ in
            pipeline.frame += 1
            let number = pipeline.frame
            if number % Sharding.batch == 0 || own.count >= Sharding.outboxLimit {
                collect(&own, through: number - 1, position: position, unusual: unusual, event: event, flow: flow)
            }
            position += Pipeline.recordBytes(captured)
            if number % Pipeline.progressInterval == 0 { progress(number, position) }
            if let filter = pipeline.filter, !filter.matches(captured) { return }
            pipeline.count(captured)
            Sharding.track(captured, frame: number, worker: 0, dissector: &pipeline.dissector,
                       tracker: &pipeline.tracker, into: &own)
        }
        collect(&own, through: .max, position: .max, unusual: unusual, event: event, flow: flow)
        // The conversations still open, one at a time: this thread's own as its tracker gives
        // them, each after the others' that come before it, as one tracker would order them all.
        // Within a worker the order is already right: its stream numbers grow as the global ones do.
        // Sized from `workers`, not from the board: the workers write `board.ended` under its lock
        // meanwhile, and an unlocked read of it raced with that write (a crash, seen under load).
        ending = Array(repeating: [], count: workers.count + 1)
        nextEnding = Array(repeating: 0, count: workers.count + 1)
        pipeline.tracker.finish { mine in
            handOutEnding(before: handing.order(mine, worker: 0), flow: flow)
            flow(handing.renumbered(mine, worker: 0))
        }
        handOutEnding(before: nil, flow: flow)
        return end
    }

    /// Hands out the other workers' conversations still open at the end that come before `bound`
    /// (all of them: nil), in order: a merge of the workers' sorted batches, taken from the board
    /// as they come.
    mutating func handOutEnding(before bound: (Int, Int)?, flow: (FinishedFlow) -> Void) {
        while true {
            var best: (worker: Int, order: (Int, Int))?
            for worker in ending.indices.dropFirst() where hasEnding(worker) {
                let next = handing.order(ending[worker][nextEnding[worker]], worker: worker)
                if let bound, !(next < bound) { continue }
                if best == nil || next < best!.order { best = (worker, next) }
            }
            guard let worker = best?.worker else { return }
            let found = ending[worker][nextEnding[worker]]
            nextEnding[worker] += 1
            flow(handing.renumbered(found, worker: worker))
        }
    }

    /// Whether `worker` has a conversation still open at the end not yet handed out: takes its next
    /// batch from the board when the last one is through, waiting for it if need be.
    mutating func hasEnding(_ worker: Int) -> Bool {
        if nextEnding[worker] < ending[worker].count { return true }
        board.lock.lock()
        defer { board.lock.unlock() }
        while board.endboxes[worker].isEmpty && !board.ended[worker] { board.lock.wait() }
        ending[worker].removeAll(keepingCapacity: true)
        swap(&ending[worker], &board.endboxes[worker])
        nextEnding[worker] = 0
        board.lock.broadcast()
        return !ending[worker].isEmpty
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
            var taken = board.outboxes.indices.map { $0 == 0 ? [] : board.take(from: $0, through: through) }
            let done = board.allThrough && board.outboxes.allSatisfy(\.isEmpty)
            board.lock.broadcast()
            let mine = own.prefix { $0.frame <= through }.count
            // Wait for the others (there is nothing to hand out until one posts), then take again;
            // also while this thread holds more of its own than a worker's outbox may (a flood ends
            // a 2 kB conversation at nearly every packet, and the lead allowed in bytes of the file
            // is tens of thousands of its packets).
            let wait = !done && (ownThrough == .max ? taken.dropFirst().allSatisfy(\.isEmpty)
                                                    : board.isAhead(0) || own.count - mine > Sharding.outboxLimit)
            if wait { board.lock.wait() }
            board.lock.unlock()
            taken[0] = Sharding.split(&own, through: through)
            handing.handOut(&taken, unusual: unusual, event: event, flow: flow)
            if done || (!wait && ownThrough != .max) { return }
        }
    }

    /// The counters of all workers (`own` is worker 0's).
    func counters(own: FlowCounters) -> FlowCounters {
        var total = own
        board.lock.lock()
        defer { board.lock.unlock() }
        for worker in workers {
            total.add(worker.tracker.counters)
        }
        total.peakActive = handing.peakActive
        return total
    }
}

/// Hands out what the workers of a sharded run (threads, or the shard outputs `netsift merge`
/// reads) found, in the order one tracker would have, numbered as one tracker numbers them.
struct ShardHandOut {
    /// Stream numbers as one tracker gives them: per worker and transport, local to global.
    var numbers: [[Transport: [Int: Int]]]
    var nextStream: [Transport: Int] = [.tcp: 0, .udp: 0]
    /// Conversations active at once over all workers, for `peakActive`.
    var active = 0
    var peakActive = 0

    init(workers: Int) { numbers = Array(repeating: [.tcp: [:], .udp: [:]], count: workers) }

    /// Hands out the workers' findings frame by frame: conversations started, messages and unusual
    /// packets, then the conversations that ended at that frame (as one tracker's `drain` orders
    /// them), with stream numbers as one tracker gives them.
    mutating func handOut(_ lists: inout [[ShardOutput]], unusual: (Int, PacketSummary) -> Void,
                          event: (ApplicationEvent) -> Void, flow: (FinishedFlow) -> Void) {
        var heads = Array(repeating: 0, count: lists.count)
        while true {
            var frame = Int.max, any = false
            for worker in lists.indices where heads[worker] < lists[worker].count {
                frame = min(frame, lists[worker][heads[worker]].frame)
                any = true
            }
            guard any else { return }
            var ended: [FinishedFlow] = []
            var started = 0
            for worker in lists.indices {
                while heads[worker] < lists[worker].count, lists[worker][heads[worker]].frame == frame {
                    // Moved out of the list (swapped with a placeholder that owns nothing): reading
                    // it copied the message, retaining every buffer in it.
                    var next = ShardOutput.started(frame: 0, transport: .tcp, stream: 0)
                    swap(&next, &lists[worker][heads[worker]])
                    switch consume next {
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

    /// Where a worker's conversation comes in the order one tracker's `finish` gives: TCP, then
    /// UDP, by global stream number.
    func order(_ found: FinishedFlow, worker: Int) -> (Int, Int) {
        switch found {
        case .tcp(let c): (0, numbers[worker][.tcp]![c.stream]!)
        case .udp(let c): (1, numbers[worker][.udp]![c.stream]!)
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
}

/// What every sharded run shares: its pace, and how one worker follows one packet.
enum Sharding {
    /// Removes and returns the findings up to `frame` from the front of `list`. When that is all of
    /// them (the usual case) the list is moved out whole, not copied.
    static func split(_ list: inout [ShardOutput], through frame: Int) -> [ShardOutput] {
        let count = list.prefix { $0.frame <= frame }.count
        guard count < list.count else {
            var all: [ShardOutput] = []
            swap(&all, &list)
            return all
        }
        defer { list.removeFirst(count) }
        return Array(list[..<count])
    }

    /// Packets between two posts (workers) or two collections (the calling thread).
    static let batch = 1024
    /// Findings a worker may hold before it posts them, and have posted before it waits for the
    /// calling thread (a finished TCP conversation is about 2 kB, and a flood ends one at nearly
    /// every packet).
    static let outboxLimit = 256
    /// Conversations still open at the end that a worker posts at once.
    static let endBatch = 64
    /// How far (bytes of the file) a worker may get ahead of the slowest: the file's pages between
    /// them stay resident. More than a batch of full-sized frames (1.5 MB), so that workers on
    /// bulk traffic do not wait for each other at every batch.
    static let maximumLead = 2 << 20

    /// One packet for a worker; what it finds goes to `found`. A plain packet of another worker's
    /// conversation is not dissected at all: only the clock of idle flows moves. Every other
    /// packet is dissected by every worker (whose conversation it is shows only then: a fragment,
    /// an ICMP error); the tracker follows it in the worker it belongs to. An unusual packet is
    /// reported once: by the worker of its plain conversation, or else by worker 0.
    static func track(_ captured: borrowing CapturedPacket, frame: Int, worker: Int, dissector: inout Dissector,
                      tracker: inout FlowTracker, into found: inout [ShardOutput]) {
        let plain = dissector.plainFlow(captured)
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
}

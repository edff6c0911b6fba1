/// One interval of a side's transfer over time: the payload it sent (retransmissions included, and
/// those alone: goodput is the difference) and the round trips measured for its data.
public struct TransferInterval: BucketValue, Decodable, Equatable {
    public var payload = 0
    public var retransmitted = 0
    public var rtt = RTTSamples()
    public init() {}

    public mutating func merge(_ other: TransferInterval) {
        payload += other.payload
        retransmitted += other.retransmitted
        rtt.merge(other.rtt)
    }

    /// Intervals per side: they start 10 ms wide and double (merged in pairs) whenever the
    /// conversation outgrows 32 of them. 32 × 48 bytes per side, at most.
    public static let capacity = 32
    public static let initialWidth: Int64 = 10_000_000
}

/// The sender's congestion window, estimated the way a time-sequence graph is read: a round starts
/// with a data segment and ends when the ACK covering that segment comes, one round trip later; by
/// then the sender has sent all its window let it, so the most bytes in flight during the round
/// (`tcp.analysis.bytes_in_flight`) is the window it had. A round counts only when that window, not
/// something else, set the flight: none of its segments met the receiver's window (that is the
/// receiver window's limit), all had their bytes in flight measured (no hole before them), and the
/// sender went on sending without first going idle (an application that ran out of data sent less
/// than the window allowed). What is measured is the flight at the capture point: at the
/// receiver's end of a long path, segments still on their way are not counted yet.
public struct FlightRounds: Decodable, Sendable {
    /// The counted rounds' smallest and largest flight (bytes), and how many rounds carried less
    /// than half the round before (the sender cut its window: a loss, in Reno and CUBIC).
    public private(set) var minimum = 0
    public private(set) var maximum = 0
    public private(set) var reductions = 0
    /// The rounds' flights thinned evenly over the transfer (at most 32): their median is read from them.
    public private(set) var kept = Thinned<Int>(capacity: 32)
    /// Rounds counted: every one is offered to `kept`.
    public var rounds: Int { kept.offered }
    /// The open round: the sequence number its ACK must reach, its largest flight, and whether a
    /// segment in it rules it out.
    var open = false
    var end: UInt32 = 0
    var flight = 0
    var excluded = false
    /// The flight of the round just closed, counted once the sender is seen to go on.
    var closed: Int?
    var lastCounted = 0

    public init() {}

    /// A data segment ending at `end` with `inFlight` bytes in flight (nil: not measured), sent
    /// when everything before had been acknowledged or not (`afterIdle`).
    mutating func data(end: UInt32, inFlight: Int?, windowLimited: Bool, afterIdle: Bool) {
        if let closed, !afterIdle { count(closed) }
        closed = nil
        if afterIdle { open = false }
        if !open {
            open = true
            self.end = end
            flight = 0
            excluded = false
        }
        flight = max(flight, inFlight ?? 0)
        if inFlight == nil || windowLimited { excluded = true }
    }

    /// The receiver acknowledged up to `ack`: the open round ends if that covers its first segment.
    mutating func acknowledged(_ ack: UInt32) {
        guard open, !seqLess(ack, end) else { return }
        open = false
        closed = excluded ? nil : flight
    }

    mutating func count(_ bytes: Int) {
        if rounds == 0 || bytes < minimum { minimum = bytes }
        maximum = max(maximum, bytes)
        if rounds > 0 && bytes * 2 < lastCounted { reductions += 1 }
        lastCounted = bytes
        kept.add(bytes)   // counts the round
    }

    /// The median of the kept rounds' flights; nil before any round.
    public var median: Int? {
        guard rounds > 0 else { return nil }
        let sorted = kept.elements.sorted()
        return sorted[(sorted.count - 1) / 2]
    }
}

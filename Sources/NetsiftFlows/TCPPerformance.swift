import NetsiftDissect

/// Latency samples in bounded memory: exact count, minimum and maximum, and a log-linear histogram
/// (below 16 µs one bucket per microsecond, then four per doubling: a percentile read from it is
/// within about 12% of the exact one) allocated at the first sample, never per sample.
public struct LatencyHistogram: Decodable, Sendable, Equatable {
    public private(set) var count = 0
    /// Nanoseconds; meaningful once `count > 0`.
    public private(set) var minimum: Int64 = .max
    public private(set) var maximum: Int64 = 0
    var buckets: [UInt32] = []
    /// 16 one-microsecond buckets, then 4 per doubling up to 2^36 µs (19 hours).
    static let bucketCount = 16 + 32 * 4

    public init() {}

    public mutating func add(_ nanoseconds: Int64) {
        let value = max(0, nanoseconds)
        if buckets.isEmpty { buckets = Array(repeating: 0, count: Self.bucketCount) }
        buckets[Self.bucket(microseconds: value / 1_000)] &+= 1
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
    }

    /// Adds another histogram's samples (a service's conversations together).
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        if buckets.isEmpty { buckets = Array(repeating: 0, count: Self.bucketCount) }
        for index in buckets.indices { buckets[index] &+= other.buckets[index] }
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    static func bucket(microseconds v: Int64) -> Int {
        if v < 16 { return Int(v) }
        let octave = Int64.bitWidth - 1 - v.leadingZeroBitCount   // 4 or more
        let sub = Int((v >> (octave - 2)) & 3)
        return min(bucketCount - 1, 16 + (octave - 4) * 4 + sub)
    }

    /// A bucket's middle, in nanoseconds.
    static func middle(of index: Int) -> Int64 {
        if index < 16 { return Int64(index) * 1_000 + 500 }
        let octave = 4 + (index - 16) / 4, sub = Int64((index - 16) % 4)
        let width = Int64(1) << (octave - 2)
        return ((4 + sub) * width + width / 2) * 1_000
    }

    /// The sample at `fraction` (0.5: the median) by nearest rank, read from its bucket and kept
    /// within the exact minimum and maximum; nil without samples.
    public func percentile(_ fraction: Double) -> Int64? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += Int(n)
            if seen >= rank { return min(maximum, max(minimum, Self.middle(of: index))) }
        }
        return maximum
    }
}

/// What one side's data went through, for telling what limited it (T-RAT's classes: the
/// application, the receiver's window, congestion, the path's bandwidth) and why exchanges were
/// slow: round-trip times, bytes in flight against the peer's window, idle periods, Nagle stalls.
/// Updated per segment with plain arithmetic; the only storage is the RTT histogram, allocated once.
public struct TCPTransferStatistics: Sendable {
    /// Round trips of this side's data: from a segment to the ACK that ends exactly at its end
    /// (Karn's rule: never when the ACK covers a retransmission) and from a TCP timestamp this
    /// side sent to the peer's first echo of it.
    public var rtt = LatencyHistogram()
    public var ackRTTSamples = 0
    public var timestampRTTSamples = 0
    /// The first and last data segment this side sent (ns).
    public var firstDataTime: Int64?
    public var lastDataTime: Int64 = 0
    /// The largest data segment it sent.
    public var largestSegment = 0
    /// Bytes in flight (`tcp.analysis.bytes_in_flight`) at its data segments: largest and sum.
    public var bytesInFlightMax = 0
    public var bytesInFlightTotal = 0
    public var bytesInFlightSamples = 0
    /// The peer's window (bytes, scaled) at those same segments, summed: bytes in flight against it.
    public var peerWindowTotal = 0
    /// Data segments that left no room in the peer's window for another of its largest segments,
    /// and those that went beyond the window as the capture reads it by more than a segment (the
    /// sender reads the window differently: window scaling it saw and the capture did not).
    public var windowLimitedSegments = 0
    public var segmentsBeyondWindow = 0
    /// The receive window this side announced after the handshake (bytes, scaled).
    public var announcedWindowMin: Int64?
    public var announcedWindowMax: Int64 = 0
    /// Time this side had sent everything and had it acknowledged before it sent more (its
    /// application had nothing to send), and how many such pauses lasted 10 ms or more.
    public var idleTime: Int64 = 0
    public var idlePauses = 0
    /// When the peer last acknowledged everything this side had sent.
    var allAckedTime: Int64?
    /// Nagle stalls: a small segment held until the peer's delayed ACK of the previous small one
    /// came; how many, and the ACK delays they waited (ns).
    public var nagleStalls = 0
    public var nagleDelayTotal: Int64 = 0
    public var nagleDelayMax: Int64 = 0
    /// The last data segment: when, and whether it was smaller than a full segment and left room
    /// in the peer's window (a small segment that fills the window waits for the window, not for
    /// Nagle's algorithm).
    var lastDataSegmentTime: Int64 = 0
    var lastDataSegmentSmall = false
    /// The peer's pure ACK that covered all of this side's data, delayed after a small segment:
    /// when it came and how long it had been held. The next data segment, if it follows at once,
    /// was waiting for it.
    var pendingDelayedAck: (time: Int64, delay: Int64)?
    /// The last 8 TCP timestamps this side sent with data, and when each was first seen (a ring,
    /// allocated at the first): the peer's echo of one times a round trip.
    var sentTimestamps: [(value: UInt32, time: Int64)] = []
    var sentTimestampCount = 0
    /// The last timestamp echo this side received a sample from (each echo counts once).
    var lastEchoSampled: UInt32?
    /// This side's payload (retransmitted and not) and its data's round trips over time, in
    /// intervals from the conversation's start (nil until its first data segment; at most
    /// `TransferInterval.capacity` intervals, so bounded however long the conversation).
    public var overTime: TimeBuckets<TransferInterval>?
    /// Its congestion window, estimated from its bytes in flight per round trip.
    public var flights = FlightRounds()

    public init() {}

    /// An ACK delay this long, after a small segment, is a delayed ACK (Linux holds them 40 ms,
    /// others 200 ms).
    public static let delayedAckThreshold: Int64 = 20_000_000
    /// A pause counted as one.
    public static let pauseThreshold: Int64 = 10_000_000

    /// The mean bytes in flight at its data segments.
    public var bytesInFlightMean: Int? {
        bytesInFlightSamples > 0 ? bytesInFlightTotal / bytesInFlightSamples : nil
    }

    /// From the first data segment to the last (ns).
    public var dataDuration: Int64 {
        firstDataTime.map { lastDataTime &- $0 } ?? 0
    }

    mutating func noteTimestampSent(_ value: UInt32, at time: Int64) {
        if sentTimestampCount > 0 && sentTimestamps[(sentTimestampCount - 1) % 8].value == value { return }
        if sentTimestamps.count < 8 {
            if sentTimestamps.isEmpty { sentTimestamps.reserveCapacity(8) }
            sentTimestamps.append((value, time))
        } else {
            sentTimestamps[sentTimestampCount % 8] = (value, time)
        }
        sentTimestampCount += 1
    }

    /// When this side first sent timestamp `value` with data, if it is still remembered.
    func timeSent(timestamp value: UInt32) -> Int64? {
        sentTimestamps.first { $0.value == value }?.time
    }
}

extension TCPConversation {
    /// The conversation's round trip: the handshake's (SYN to the ACK of the SYN/ACK, wherever the
    /// capture was taken), else the two halves' smallest samples added (from the capture point to
    /// each end and back); nil when neither is known.
    public var pathRTT: Int64? {
        if handshakeCompleted { return handshakeRTT }
        let halves = (sides.0.transfer.rtt, sides.1.transfer.rtt)
        guard halves.0.count > 0 || halves.1.count > 0 else { return nil }
        return (halves.0.count > 0 ? halves.0.minimum : 0) &+ (halves.1.count > 0 ? halves.1.minimum : 0)
    }

    /// One segment's measurements, after Wireshark's analysis of it: RTT samples, bytes in flight
    /// against the window, pauses, Nagle stalls, the announced window, response times.
    static func measure(_ s: inout PacketSummary, _ analysis: TCPSegmentAnalysis, time: Int64, start: Int64, handshakeRTT: Int64,
                        wasIdle: Bool, fromClient: Bool, sender: inout TCPSide, receiver: inout TCPSide,
                        responses: inout ResponseTimes) {
        let length = s.payloadWireLength
        let flags = s.tcpFlags
        // The peer's data round trip, from this ACK (Karn's rule) and this echo.
        if analysis.ackRTT > 0 && analysis.ackRTTUnambiguous {
            receiver.transfer.addRTT(analysis.ackRTT, at: time, start: start)
            receiver.transfer.ackRTTSamples += 1
        }
        if flags.contains(.ack), let echo = s.tcpOptions.timestampEcho, echo != sender.transfer.lastEchoSampled {
            if let sent = receiver.transfer.timeSent(timestamp: echo) {
                receiver.transfer.addRTT(time &- sent, at: time, start: start)
                receiver.transfer.timestampRTTSamples += 1
            }
            sender.transfer.lastEchoSampled = echo
        }
        // An ACK may end the round trip of the peer's flight.
        if flags.contains(.ack) { receiver.transfer.flights.acknowledged(s.acknowledgmentNumber) }
        if !flags.contains(.syn) {
            let window = sender.analysis.scaledWindow
            sender.transfer.announcedWindowMin = min(sender.transfer.announcedWindowMin ?? window, window)
            sender.transfer.announcedWindowMax = max(sender.transfer.announcedWindowMax, window)
        }
        guard length > 0 else {
            // A pure ACK covering everything the peer sent, long after the peer's small segment:
            // a delayed ACK the peer may be waiting for (Nagle).
            if analysis.ackRTT > 0 && !flags.contains(.syn) && receiver.analysis.hasNextSeq
                && s.acknowledgmentNumber == receiver.analysis.nextSeq && receiver.transfer.lastDataSegmentSmall {
                let delay = time &- receiver.transfer.lastDataSegmentTime
                receiver.transfer.pendingDelayedAck = delay >= TCPTransferStatistics.delayedAckThreshold ? (time, delay) : nil
            }
            return
        }
        // Changed in place (a copy would share the histogram and timestamp arrays, and the next
        // write to one would copy it: an allocation per segment).
        let small = length < Int(receiver.synMSS ?? 536)
        let peerWindow = receiver.analysis.hasWindow ? Int(receiver.analysis.scaledWindow) : nil
        // Fast and spurious retransmissions carry `.retransmission` too (as the tracker's byte count reads it).
        let retransmitted = analysis.flags.contains(.retransmission)
        sender.transfer.noteData(length: length, small: small, at: time, start: start, handshakeRTT: handshakeRTT,
                                 wasIdle: wasIdle, retransmitted: retransmitted,
                                 end: s.sequenceNumber &+ UInt32(truncatingIfNeeded: length),
                                 timestamp: s.tcpOptions.timestampValue, inFlight: analysis.bytesInFlight,
                                 peerWindow: peerWindow)
        receiver.transfer.pendingDelayedAck = nil   // the peer got data: its next segment answers it
        // A keep-alive's or a zero-window probe's byte asks nothing and answers nothing.
        if analysis.flags.isDisjoint(with: [.keepAlive, .zeroWindowProbe]) {
            responses.data(fromClient: fromClient, at: time)
        }
    }
}

/// A request/response protocol's response times over one conversation: from the first byte of a
/// request (the client's first data after the server's last) to the first byte of the answer; and
/// the client's think times: from the last byte of an answer to the first byte of its next request.
public struct ResponseTimes: Decodable, Sendable {
    public var samples = LatencyHistogram()
    public var thinkTimes = LatencyHistogram()
    /// The think times added up (ns): how much of the server's idle time the client spent.
    public var thinkTotal: Int64 = 0
    var requestStart: Int64?
    /// The server's last data segment of the answer it is sending, if it is answering.
    var answerEnd: Int64?

    public init() {}

    mutating func data(fromClient: Bool, at time: Int64) {
        if fromClient {
            guard requestStart == nil else { return }
            requestStart = time
            if let end = answerEnd {
                thinkTimes.add(time &- end)
                thinkTotal &+= max(0, time &- end)
                answerEnd = nil
            }
        } else if let start = requestStart {
            samples.add(time &- start)
            requestStart = nil
            answerEnd = time
        } else if answerEnd != nil {
            answerEnd = time
        }
    }
}

/// What limited one direction of a transfer, in the classes of T-RAT (Zhang, Breslau, Paxson,
/// Shenker, "On the characteristics and origins of Internet flow rates", SIGCOMM 2002): the
/// sending application, the receiver's window, congestion on the path (losses, queues), or the
/// path's bandwidth (none of the others: the transfer went as fast as the path allows).
public enum TransferLimit: String, Sendable, Codable, CaseIterable {
    case application
    case receiverWindow = "receiver_window"
    case congestion
    case bandwidth

    /// Directions carrying less than this many payload bytes, or data segments, are not classified.
    public static let minimumBytes = 64 * 1024
    public static let minimumSegments = 32

    /// The class of `sender`'s data to `receiver`, or nil for a direction too small to tell.
    public static func of(_ sender: TCPSide, to receiver: TCPSide) -> TransferLimit? {
        let t = sender.transfer
        guard sender.payloadBytes >= minimumBytes, sender.dataSegments >= minimumSegments else { return nil }
        // Data sent past the window as the capture reads it: the ends scale windows the capture
        // does not (a middlebox rewrote a SYN, or the handshake was missed): no class can be told.
        if t.segmentsBeyondWindow >= 3 { return nil }
        if t.windowBound { return .receiverWindow }
        // Losses in 1% of the data segments; or fewer, but the estimated congestion window was cut
        // to under half, round after round (the sender slowed down for them); or queues that grew.
        let lossy = sender.retransmissions >= 2 && sender.retransmissions * 100 >= sender.dataSegments
        let cut = sender.retransmissions >= 2 && t.flights.reductions >= 2
        if lossy || cut || t.rttInflated { return .congestion }
        if t.idlePauses >= 3 && t.dataDuration > 0 && Double(t.idleTime) >= 0.3 * Double(t.dataDuration) {
            return .application
        }
        return .bandwidth
    }
}

extension TCPTransferStatistics {
    /// A data segment of `length` bytes this side sent at `time`: a Nagle stall if it follows the
    /// peer's delayed ACK at once, a pause if everything had been acknowledged, its timestamp, and
    /// its bytes in flight against the peer's window.
    mutating func noteData(length: Int, small: Bool, at time: Int64, start: Int64, handshakeRTT: Int64, wasIdle: Bool,
                           retransmitted: Bool, end: UInt32, timestamp: UInt32?, inFlight: Int?, peerWindow: Int?) {
        if let pending = pendingDelayedAck, small, time &- pending.time <= handshakeRTT &+ 5_000_000 {
            nagleStalls += 1
            nagleDelayTotal &+= pending.delay
            nagleDelayMax = max(nagleDelayMax, pending.delay)
        }
        pendingDelayedAck = nil
        if firstDataTime == nil { firstDataTime = time }
        if wasIdle, let acked = allAckedTime, time > acked {
            idleTime &+= time &- acked
            if time &- acked >= Self.pauseThreshold { idlePauses += 1 }
        }
        lastDataTime = time
        lastDataSegmentTime = time
        lastDataSegmentSmall = small
        largestSegment = max(largestSegment, length)
        if let timestamp { noteTimestampSent(timestamp, at: time) }
        withInterval(at: time, start: start) {
            $0.payload += length
            if retransmitted { $0.retransmitted += length }
        }
        guard let inFlight else {
            flights.data(end: end, inFlight: nil, windowLimited: false, afterIdle: wasIdle)
            return
        }
        bytesInFlightMax = max(bytesInFlightMax, inFlight)
        bytesInFlightTotal += inFlight
        bytesInFlightSamples += 1
        var windowLimited = false
        if let window = peerWindow {
            peerWindowTotal += window
            if inFlight + largestSegment > window {
                windowLimitedSegments += 1
                lastDataSegmentSmall = false
                windowLimited = true
            }
            if inFlight > window + largestSegment { segmentsBeyondWindow += 1 }
        }
        flights.data(end: end, inFlight: inFlight, windowLimited: windowLimited, afterIdle: wasIdle)
    }

    /// A round trip of this side's data, measured at `time`.
    mutating func addRTT(_ sample: Int64, at time: Int64, start: Int64) {
        rtt.add(sample)
        // In the series once this side has sent data: a handshake alone starts none (half-open
        // conversations, and those rebuilt from their compact form, allocate nothing for it).
        if overTime != nil { withInterval(at: time, start: start) { $0.rtt.add(sample) } }
    }

    /// The interval of `overTime` holding `time`, created at the first figure.
    mutating func withInterval(at time: Int64, start: Int64, _ body: (inout TransferInterval) -> Void) {
        if overTime == nil {
            overTime = TimeBuckets(start: start, width: TransferInterval.initialWidth, capacity: TransferInterval.capacity)
        }
        overTime!.withValue(at: time, body)
    }

    /// The peer's window held the data back: on average the bytes in flight filled at least 60% of
    /// it, or half the data segments left no room for another. (Seen where the sender's segments
    /// and the receiver's ACKs meet: a capture at the sender, or on its side of the path.)
    public var windowBound: Bool {
        guard bytesInFlightSamples > 0 else { return false }
        return Double(bytesInFlightTotal) >= 0.6 * Double(peerWindowTotal) || windowLimitedSegments * 2 >= bytesInFlightSamples
    }

    /// Bytes in flight against the peer's window, on average, in percent.
    public var windowFillPercent: Double? {
        guard peerWindowTotal > 0 else { return nil }
        return (Double(bytesInFlightTotal) * 1000 / Double(peerWindowTotal)).rounded() / 10
    }

    /// Queueing under load (bufferbloat): enough samples, the 95th percentile at least three times
    /// the minimum and 20 ms above it.
    public var rttInflated: Bool {
        guard rtt.count >= 20, let p95 = rtt.percentile(0.95) else { return false }
        return Double(p95) >= 3 * Double(rtt.minimum) && p95 - rtt.minimum >= 20_000_000
    }

    /// Payload bytes per second from the first data segment to the last; nil for less than a
    /// millisecond of data.
    public func rate(_ bytes: Int) -> Int? {
        let duration = dataDuration
        guard duration >= 1_000_000 else { return nil }
        return Int(Double(bytes) * 1e9 / Double(duration))
    }
}

/// What `capinfos` tells about a capture, gathered in one pass: counts, sizes, time span, and how
/// many packets each interface carried. Fixed-size per packet; the per-interface array grows only
/// when a new interface appears.
public struct CaptureSummary: Sendable, Equatable {
    public private(set) var packets = 0
    /// Sum of captured lengths (what the file holds).
    public private(set) var capturedBytes = 0
    /// Sum of original lengths (what was on the wire).
    public private(set) var wireBytes = 0
    /// Packets the snaplen cut (captured length below original length).
    public private(set) var cutPackets = 0
    public private(set) var smallestCapturedLength = Int.max
    public private(set) var largestCapturedLength = 0
    /// Earliest and latest timestamps, in ns since the epoch (`nil` until a packet is seen).
    public private(set) var earliest: Int64?
    public private(set) var latest: Int64?
    /// Packets that arrived with a timestamp earlier than the one before them.
    public private(set) var outOfOrderTimestamps = 0
    public private(set) var packetsPerInterface: [Int] = []
    var previousTimestamp = Int64.min

    public init() {}

    public mutating func add(_ packet: CapturedPacket) {
        packets += 1
        let captured = packet.capturedLength
        capturedBytes += captured
        wireBytes += packet.originalLength
        if packet.isCut { cutPackets += 1 }
        smallestCapturedLength = min(smallestCapturedLength, captured)
        largestCapturedLength = max(largestCapturedLength, captured)
        if packet.hasTimestamp { addTime(packet.timestamp) }
        let interface = packet.interface
        if interface >= packetsPerInterface.count {
            packetsPerInterface.append(contentsOf: repeatElement(0, count: interface + 1 - packetsPerInterface.count))
        }
        packetsPerInterface[interface] += 1
    }

    mutating func addTime(_ time: Int64) {
        if time < previousTimestamp { outOfOrderTimestamps += 1 }
        previousTimestamp = time
        earliest = min(earliest ?? time, time)
        latest = max(latest ?? time, time)
    }

    /// Latest minus earliest timestamp, in ns.
    public var duration: Int64 {
        guard let earliest, let latest else { return 0 }
        return latest &- earliest
    }
}

import NetsiftCapture

/// The bounds of IP fragment reassembly. Memory is at most `maximumDatagrams` ×
/// `maximumDatagramLength` bytes (4 MiB with the defaults), allocated as datagrams arrive.
public struct FragmentLimits: Decodable, Sendable {
    /// Datagrams being reassembled at once; a new one beyond this evicts the oldest.
    public var maximumDatagrams = 64
    /// The largest datagram rebuilt (IPv4's limit; IPv6 jumbograms are not reassembled).
    public var maximumDatagramLength = 65_535
    /// Fragments one datagram may arrive in.
    public var maximumFragments = 64
    /// A datagram still incomplete this long after its last fragment (capture time) is dropped;
    /// Linux waits 30 s (net.ipv4.ipfrag_time).
    public var timeout: Int64 = 30_000_000_000
    public init() {}
}

/// What reassembly did, so a report can say when a limit was reached: nothing is lost silently.
public struct FragmentStatistics: Decodable, Sendable, Equatable {
    public var datagramsReassembled = 0
    /// Incomplete datagrams dropped after `timeout`.
    public var datagramsExpired = 0
    /// Incomplete datagrams dropped to make room (more than `maximumDatagrams` in flight).
    public var datagramsEvicted = 0
    /// Fragments dropped because their datagram would exceed `maximumDatagramLength` or
    /// `maximumFragments`.
    public var fragmentsRefused = 0
    /// Fragments that overlapped data already received (RFC 5722 forbids this for IPv6; it is
    /// also how some evasion attacks work).
    public var overlappingFragments = 0
    public init() {}
}

/// Rebuilds IPv4 and IPv6 datagrams from their fragments. Each datagram in flight has a slot with
/// a buffer for its payload (after the IP header) and the list of byte ranges received; it is
/// complete when the ranges cover 0 up to the end given by the fragment without "more fragments".
public struct FragmentReassembler {
    public let limits: FragmentLimits
    public private(set) var statistics = FragmentStatistics()
    @usableFromInline let store: Store

    public init(limits: FragmentLimits = FragmentLimits()) {
        self.limits = limits
        store = Store()
    }

    /// Identifies a datagram: RFC 791 / RFC 8200 (source, destination, identification, protocol).
    @usableFromInline struct Key: Equatable {
        var source: IPAddress
        var destination: IPAddress
        var identification: UInt32
        var ipProtocol: UInt8
    }

    @usableFromInline struct Slot {
        var key: Key
        var lastSeen: Int64
        var received: [Range<Int>] = []   // sorted, merged
        var end: Int?                      // known once the last fragment arrived
        var fragments = 0
        var buffer: UnsafeMutableRawBufferPointer
    }

    /// Owns the slots' buffers (one allocation per slot, reused), freed with the reassembler.
    @usableFromInline final class Store {
        var slots: [Slot?] = []
        deinit { for case let slot? in slots { slot.buffer.deallocate() } }
    }

    public enum Outcome: Equatable {
        /// Kept; the datagram is still missing pieces.
        case stored
        /// The datagram is whole: read it with `withDatagram(slot)`, then `release(slot)`.
        case complete(slot: Int, length: Int)
        /// Not kept (a limit was reached); counted in `statistics`.
        case refused
    }

    /// Adds one fragment's payload (the bytes after the IP header, or after IPv6's Fragment header).
    @usableFromInline
    mutating func add(source: IPAddress, destination: IPAddress, identification: UInt32, ipProtocol: UInt8,
                      offset: Int, moreFragments: Bool, payload: RawSpan, time: Int64) -> Outcome {
        let key = Key(source: source, destination: destination, identification: identification, ipProtocol: ipProtocol)
        expire(before: time)
        let end = offset + payload.byteCount
        guard end <= limits.maximumDatagramLength else {
            statistics.fragmentsRefused += 1
            return .refused
        }
        let index = slotIndex(for: key, time: time)
        guard var slot = store.slots[index] else { return .refused }
        store.slots[index] = nil  // taken out while changed, so the array is not copied
        defer { store.slots[index] = slot }
        slot.fragments += 1
        slot.lastSeen = time
        guard slot.fragments <= limits.maximumFragments else {
            statistics.fragmentsRefused += 1
            return .refused
        }
        if !moreFragments { slot.end = end }
        if slot.received.contains(where: { $0.overlaps(offset..<end) }) { statistics.overlappingFragments += 1 }
        payload.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress, bytes.count > 0 {
                (slot.buffer.baseAddress! + offset).copyMemory(from: base, byteCount: bytes.count)
            }
        }
        slot.received = Self.merged(slot.received, with: offset..<end)
        // Complete once 0..<end is covered; bytes an overlapping fragment put past the end are not
        // part of the datagram.
        if let total = slot.end, let first = slot.received.first, first.lowerBound == 0, first.upperBound >= total {
            statistics.datagramsReassembled += 1
            return .complete(slot: index, length: total)
        }
        return .stored
    }

    /// Calls `body` with the reassembled datagram of a complete slot.
    public func withDatagram<R>(_ slot: Int, length: Int, _ body: (RawSpan) -> R) -> R {
        let buffer = UnsafeRawBufferPointer(start: store.slots[slot]!.buffer.baseAddress, count: length)
        return body(buffer.bytes)
    }

    /// Frees a slot for the next datagram (its buffer is kept for reuse).
    public mutating func release(_ slot: Int) {
        store.slots[slot]?.received = []
        store.slots[slot]?.end = nil
        store.slots[slot]?.fragments = 0
        store.slots[slot]?.key.identification = 0
        store.slots[slot]?.lastSeen = Int64.min
    }

    /// The slot holding `key`, else a free one, else the least recently used one (evicted).
    mutating func slotIndex(for key: Key, time: Int64) -> Int {
        if let index = store.slots.firstIndex(where: { $0?.key == key && $0?.lastSeen != Int64.min }) {
            return index
        }
        if let index = store.slots.firstIndex(where: { $0?.lastSeen == Int64.min }) {
            store.slots[index]!.key = key
            return index
        }
        if store.slots.count < limits.maximumDatagrams {
            store.slots.append(Slot(key: key, lastSeen: time,
                                    buffer: .allocate(byteCount: limits.maximumDatagramLength, alignment: 8)))
            return store.slots.count - 1
        }
        let oldest = store.slots.indices.min { store.slots[$0]!.lastSeen < store.slots[$1]!.lastSeen }!
        statistics.datagramsEvicted += 1
        release(oldest)
        store.slots[oldest]!.key = key
        return oldest
    }

    mutating func expire(before time: Int64) {
        for index in store.slots.indices {
            guard let slot = store.slots[index], slot.lastSeen != Int64.min,
                  time &- slot.lastSeen > limits.timeout else { continue }
            statistics.datagramsExpired += 1
            release(index)
        }
    }

    /// Inserts `range` into sorted, non-overlapping `ranges`, merging what touches it.
    static func merged(_ ranges: [Range<Int>], with range: Range<Int>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var current = range
        for existing in ranges {
            if existing.upperBound < current.lowerBound || existing.lowerBound > current.upperBound {
                result.append(existing)
            } else {
                current = min(existing.lowerBound, current.lowerBound)..<max(existing.upperBound, current.upperBound)
            }
        }
        result.append(current)
        return result.sorted { $0.lowerBound < $1.lowerBound }
    }
}

/// Where the dissector's walk puts IP fragments: the reassembler, or `NoReassembly`.
@usableFromInline protocol FragmentStore {
    mutating func add(source: IPAddress, destination: IPAddress, identification: UInt32, ipProtocol: UInt8,
                      offset: Int, moreFragments: Bool, payload: RawSpan, time: Int64) -> FragmentReassembler.Outcome
}

extension FragmentReassembler: FragmentStore {}

/// For the walk through a datagram the reassembler is lending out (a tunnel's inner packet after
/// its outer fragments were put together): fragments found there are described, not kept.
@usableFromInline struct NoReassembly: FragmentStore {
    @inlinable init() {}
    @inlinable func add(source: IPAddress, destination: IPAddress, identification: UInt32, ipProtocol: UInt8,
                        offset: Int, moreFragments: Bool, payload: RawSpan, time: Int64) -> FragmentReassembler.Outcome {
        .stored
    }
}

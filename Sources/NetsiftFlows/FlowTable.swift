/// An open-addressing hash index from flow keys to slots in a caller's contiguous storage: linear
/// probing over a power-of-two array of 32-bit slot numbers, at most half full, with backward-shift
/// deletion (no tombstones, so lookups never slow down after evictions). It stores no keys itself:
/// `keyAt` reads them from the caller's storage.
public struct FlowIndex: Sendable {
    @usableFromInline var slots: [Int32]
    @usableFromInline var mask: Int
    public private(set) var count = 0

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// The entry for `key`, or nil.
    @inlinable @inline(__always)
    public func find(_ key: FlowKey, keyAt: (Int32) -> FlowKey) -> Int32? {
        var i = Int(truncatingIfNeeded: key.hashValue64) & mask
        while true {
            let entry = slots[i]
            if entry < 0 { return nil }
            if keyAt(entry) == key { return entry }
            i = (i + 1) & mask
        }
    }

    /// Points `key` at `entry` (replacing what it pointed at, if anything).
    public mutating func insert(_ key: FlowKey, entry: Int32, keyAt: (Int32) -> FlowKey) {
        if (count + 1) * 2 > slots.count { grow(keyAt: keyAt) }
        var i = Int(truncatingIfNeeded: key.hashValue64) & mask
        while slots[i] >= 0 {
            if keyAt(slots[i]) == key {
                slots[i] = entry
                return
            }
            i = (i + 1) & mask
        }
        slots[i] = entry
        count += 1
    }

    /// Removes `key`, shifting back the entries after it that probed past its slot.
    public mutating func remove(_ key: FlowKey, keyAt: (Int32) -> FlowKey) {
        var i = Int(truncatingIfNeeded: key.hashValue64) & mask
        while slots[i] >= 0 && keyAt(slots[i]) != key { i = (i + 1) & mask }
        guard slots[i] >= 0 else { return }
        slots[i] = -1
        count -= 1
        var j = (i + 1) & mask
        while slots[j] >= 0 {
            let home = Int(truncatingIfNeeded: keyAt(slots[j]).hashValue64) & mask
            // Move slots[j] into the hole if its home is not between the hole and j (cyclically).
            let between = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !between {
                slots[i] = slots[j]
                slots[j] = -1
                i = j
            }
            j = (j + 1) & mask
        }
    }

    /// Changes the entry number stored for `key` (when the caller moves an entry).
    public mutating func renumber(_ key: FlowKey, to entry: Int32, keyAt: (Int32) -> FlowKey) {
        var i = Int(truncatingIfNeeded: key.hashValue64) & mask
        while slots[i] >= 0 {
            if keyAt(slots[i]) == key {
                slots[i] = entry
                return
            }
            i = (i + 1) & mask
        }
    }

    mutating func grow(keyAt: (Int32) -> FlowKey) {
        let old = slots
        slots = Array(repeating: -1, count: old.count * 2)
        mask = slots.count - 1
        for entry in old where entry >= 0 {
            var i = Int(truncatingIfNeeded: keyAt(entry).hashValue64) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = entry
        }
    }
}

/// What the flow table needs of an entry: its key and when it was last active.
public protocol FlowEntry {
    var key: FlowKey { get }
    /// Capture time (ns) of the entry's last packet.
    var last: Int64 { get }
    /// How long (ns) the entry may stay idle in its present state before it is over.
    func idleLimit(_ limits: FlowLimits) -> Int64
}

/// Flow lifetimes and the bound on how many flows are followed at once. Memory grows with the
/// flows active together, never with the packets or the flows seen over a whole capture.
public struct FlowLimits: Sendable, Equatable {
    /// At most this many conversations (TCP and UDP each) are followed at once; when a new one
    /// comes, the idlest of a sample of the others is ended early (counted as evicted).
    public var maximumFlows: Int
    /// Idle time (ns) before a TCP conversation is over: established or in the middle…
    public var tcpIdle: Int64
    /// …waiting for an answer to its SYN (SYN retries back off to 32 s and more)…
    public var tcpAttemptIdle: Int64
    /// …closed by both sides or reset (late retransmissions and ACKs still join it).
    public var tcpClosedIdle: Int64
    /// Idle time (ns) before a UDP conversation is over.
    public var udpIdle: Int64

    public init(maximumFlows: Int = 100_000, tcpIdle: Int64 = 300_000_000_000,
                tcpAttemptIdle: Int64 = 120_000_000_000, tcpClosedIdle: Int64 = 60_000_000_000,
                udpIdle: Int64 = 60_000_000_000) {
        self.maximumFlows = maximumFlows
        self.tcpIdle = tcpIdle
        self.tcpAttemptIdle = tcpAttemptIdle
        self.tcpClosedIdle = tcpClosedIdle
        self.udpIdle = udpIdle
    }
}

/// Active flows in contiguous storage, found through a `FlowIndex`. Removal moves the last entry
/// into the hole, so storage stays dense and a sweep touches only live entries.
struct FlowTable<Entry: FlowEntry> {
    var entries: [Entry] = []
    var index = FlowIndex()
    /// Where the next eviction sample starts, so samples rotate through the table.
    var sampleCursor = 0
    /// Entries reserved once the table outgrows `reserveAfter`: the most it will hold
    /// (`maximumFlows`), so that a filling table never doubles its storage (old and new copies at
    /// once: reserving only at half full made a peak of twice the table's final size, 2 × 64 Ki of
    /// 65 Ki requests). Pages of the reservation not yet written cost no memory.
    var reservation = 0
    static var reserveAfter: Int { 1024 }

    init(reservation: Int = 0) { self.reservation = reservation }

    var count: Int { entries.count }

    @inline(__always)   // every packet: inlined, the key's words stay in registers for the hash
    func find(_ key: FlowKey) -> Int? {
        index.find(key) { entries[Int($0)].key }.map(Int.init)
    }

    /// Adds `entry` (whose key must not be in the table) and returns its position.
    mutating func insert(_ entry: Entry) -> Int {
        if entries.count == entries.capacity && entries.count >= Self.reserveAfter && entries.capacity < reservation {
            entries.reserveCapacity(reservation)
        }
        entries.append(entry)
        let position = entries.count - 1
        index.insert(entry.key, entry: Int32(position)) { entries[Int($0)].key }
        return position
    }

    /// Removes the entry at `position` and returns it.
    @discardableResult
    mutating func remove(at position: Int) -> Entry {
        let entry = entries[position]
        if index.find(entry.key, keyAt: { entries[Int($0)].key }) == Int32(position) {
            index.remove(entry.key) { entries[Int($0)].key }
        }
        let lastPosition = entries.count - 1
        if position != lastPosition {
            let moved = entries[lastPosition]
            entries[position] = moved
            if index.find(moved.key, keyAt: { entries[Int($0)].key }) == Int32(lastPosition) {
                index.renumber(moved.key, to: Int32(position)) { entries[Int($0)].key }
            }
        }
        entries.removeLast()
        return entry
    }

    /// Ends every entry idle past its limit at `now`.
    mutating func expire(now: Int64, limits: FlowLimits, _ ended: (Entry) -> Void) {
        var position = 0
        while position < entries.count {
            // Wrapping: a hostile timestamp makes a wrong idle time, never a trap.
            if now &- entries[position].last > entries[position].idleLimit(limits) {
                ended(remove(at: position))   // the last entry moved here: look at it next
            } else {
                position += 1
            }
        }
    }

    /// Ends the idlest of up to 16 entries, taken in turn through the table (approximate LRU: no
    /// per-packet bookkeeping, and a flow just seen is never the one chosen over an idle one).
    mutating func evictIdlest(_ ended: (Entry) -> Void) {
        guard !entries.isEmpty else { return }
        var idlest = sampleCursor % entries.count
        for step in 0..<min(16, entries.count) {
            let position = (sampleCursor + step) % entries.count
            if entries[position].last < entries[idlest].last { idlest = position }
        }
        sampleCursor = (sampleCursor + 16) % max(1, entries.count)
        ended(remove(at: idlest))
    }
}

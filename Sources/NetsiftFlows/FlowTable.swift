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
    @inlinable
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

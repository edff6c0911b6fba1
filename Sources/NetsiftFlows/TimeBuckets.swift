/// Counts over time in a fixed number of intervals: when a value comes past the last interval,
/// neighbouring intervals are merged in pairs and their width doubles. The whole span is then
/// always covered by at most `capacity` intervals, whatever its length, from the one pass. (The
/// HTML report's timeline and conversations, and each TCP side's transfer over time.)
public struct TimeBuckets<Value: BucketValue>: Sendable {
    // Stored as usable-from-inline names, read through the public properties below: `withValue`
    // is inlined into other modules (specialised for their values, on the per-packet path).
    @usableFromInline var first: Int64
    @usableFromInline var intervalWidth: Int64
    @usableFromInline var intervals: [Value] = []
    public let capacity: Int

    /// Start of the first interval (ns since the epoch) and each one's width (ns).
    public var start: Int64 { first }
    public var width: Int64 { intervalWidth }
    public var values: [Value] { intervals }

    public init(start: Int64, width: Int64 = 100_000, capacity: Int = 240) {
        first = start
        intervalWidth = max(1, width)
        self.capacity = max(2, capacity)
    }

    /// The interval holding `time`; times before the start (a capture's timestamps may go back) count in the first.
    @inlinable
    public mutating func withValue(at time: Int64, _ body: (inout Value) -> Void) {
        var position = max(0, time &- first) / intervalWidth
        // Halving the intervals halves the index (⌊⌊o/w⌋/2⌋ = ⌊o/2w⌋): no second division.
        while position >= Int64(capacity) { halve(); position >>= 1 }
        let index = Int(position)
        if index >= intervals.count { intervals.append(contentsOf: repeatElement(Value(), count: index - intervals.count + 1)) }
        body(&intervals[index])
    }

    /// Widens the intervals to twice their width, each new one the two it covers merged.
    @usableFromInline
    mutating func halve() {
        // In place: interval i takes 2i and 2i+1, which lie at or after it.
        var kept = 0, index = 0
        while index < intervals.count {
            var value = intervals[index]
            if index + 1 < intervals.count { value.merge(intervals[index + 1]) }
            intervals[kept] = value
            kept += 1
            index += 2
        }
        intervals.removeLast(intervals.count - kept)
        intervalWidth = intervalWidth &* 2
    }

    /// The same intervals merged until each is at least `width` wide (two series that began at one
    /// start, widened apart, line up again).
    public func widened(to width: Int64) -> TimeBuckets {
        var copy = self
        while copy.intervalWidth < width && copy.intervalWidth < Int64.max / 2 { copy.halve() }
        return copy
    }

    /// The start time of interval `index` (wrapping: a capture's timestamps may span anything).
    public func time(of index: Int) -> Int64 { first &+ Int64(index) &* intervalWidth }
}

/// What one interval of a `TimeBuckets` holds: a zero value and how two neighbours merge.
public protocol BucketValue: Sendable {
    init()
    mutating func merge(_ other: Self)
}

/// Round-trip samples summed: their count, total, least and most (ns).
public struct RTTSamples: Decodable, Sendable, Equatable {
    public var count = 0
    public var total: Int64 = 0
    public var least: Int64 = .max
    public var most: Int64 = 0
    public init() {}
    @inlinable
    public mutating func add(_ sample: Int64) {
        count += 1
        total &+= sample
        least = min(least, sample)
        most = max(most, sample)
    }
    @inlinable
    public mutating func merge(_ other: RTTSamples) {
        count += other.count
        total &+= other.total
        least = min(least, other.least)
        most = max(most, other.most)
    }
    public var mean: Int64? { count == 0 ? nil : total / Int64(count) }
}

/// Every `stride`-th value offered, at most `capacity`: when full, every other one is dropped and
/// the stride doubles. What is kept stays spread evenly over the whole series, in bounded memory.
public struct Thinned<Element: Sendable>: Sendable {
    @usableFromInline var kept: [Element] = []
    @usableFromInline var every = 1
    @usableFromInline var count = 0
    public let capacity: Int

    public var elements: [Element] { kept }
    public var stride: Int { every }
    public var offered: Int { count }

    public init(capacity: Int) { self.capacity = max(2, capacity) }

    @inlinable
    public mutating func add(_ element: Element) {
        defer { count += 1 }
        guard count % every == 0 else { return }
        if kept.count == capacity {
            thin()
            guard count % every == 0 else { return }
        }
        kept.append(element)
    }

    /// Every other element kept, in place (no new array), and the stride doubled.
    @usableFromInline
    mutating func thin() {
        var next = 0
        for index in Swift.stride(from: 0, to: kept.count, by: 2) {
            kept[next] = kept[index]
            next += 1
        }
        kept.removeLast(kept.count - next)
        every *= 2
    }
}

// Read back from shard outputs (`ReplayJSON`), as the rest of a finished conversation is.
extension TimeBuckets: Decodable where Value: Decodable {}
extension Thinned: Decodable where Element: Decodable {}

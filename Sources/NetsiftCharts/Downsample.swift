/// A point of a series, in data units.
public struct Point: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// At most four points per column of the x range split in `columns`: the first, lowest, highest
/// and last of the points falling in it, in their order (the M4 reduction). A line through them
/// draws the same pixels as a line through all points at that width, peaks included, so a long
/// series costs the page a few thousand points at most. `points` are in x order.
public func downsample(_ points: [Point], columns: Int) -> [Point] {
    guard columns > 0, points.count > 4 * columns, let first = points.first, let last = points.last,
          last.x > first.x else { return points }
    let width = (last.x - first.x) / Double(columns)
    var out: [Point] = []
    out.reserveCapacity(4 * columns)
    var start = 0
    while start < points.count {
        let column = min(columns - 1, Int((points[start].x - first.x) / width))
        var end = start, low = start, high = start
        while end + 1 < points.count && min(columns - 1, Int((points[end + 1].x - first.x) / width)) == column {
            end += 1
            if points[end].y < points[low].y { low = end }
            if points[end].y > points[high].y { high = end }
        }
        for index in Set([start, low, high, end]).sorted() { out.append(points[index]) }
        start = end + 1
    }
    return out
}

import NetsiftDissect

/// A linear map from data values (a domain) to pixels (a range), as d3-scale's `scaleLinear`: a
/// small value, so a chart's axes are two of them.
public struct LinearScale: Sendable, Equatable {
    public let domain: ClosedRange<Double>
    public let range: ClosedRange<Double>
    /// The range runs downwards (SVG's y grows down): the domain's lower bound maps to `range.upperBound`.
    public let flipped: Bool

    /// An empty domain (one value) is widened so that the value sits in the middle, not at infinity.
    public init(domain: ClosedRange<Double>, range: ClosedRange<Double>, flipped: Bool = false) {
        let lower = domain.lowerBound.isFinite ? domain.lowerBound : 0
        let upper = domain.upperBound.isFinite ? max(lower, domain.upperBound) : lower
        if upper > lower {
            self.domain = lower...upper
        } else {
            let pad = lower == 0 ? 1 : abs(lower) / 2
            self.domain = (lower - pad)...(lower + pad)
        }
        self.range = range
        self.flipped = flipped
    }

    public func callAsFunction(_ value: Double) -> Double {
        let fraction = (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        let span = range.upperBound - range.lowerBound
        return flipped ? range.upperBound - fraction * span : range.lowerBound + fraction * span
    }

    /// About `count` round values inside the domain (1, 2 or 5 times a power of ten apart).
    public func ticks(_ count: Int = 5) -> [Double] { niceTicks(domain, count: count) }
}

/// About `count` values within `domain`, evenly spaced by 1, 2 or 5 times a power of ten, the way
/// axes are labelled (d3's `ticks`): 0…1 in 5 gives 0, 0.2, 0.4, 0.6, 0.8, 1.
public func niceTicks(_ domain: ClosedRange<Double>, count: Int) -> [Double] {
    let span = domain.upperBound - domain.lowerBound
    guard span > 0, span.isFinite, count > 0 else { return [domain.lowerBound] }
    let step = niceStep(span / Double(count))
    let first = (domain.lowerBound / step).rounded(.up)
    let last = (domain.upperBound / step).rounded(.down)
    guard last >= first else { return [] }
    // Multiplying the index (rather than adding the step) keeps 0.1 * 3 from drifting to 0.30000000000000004 twice.
    return (0...Int(last - first)).map { ((first + Double($0)) * step * 1e12).rounded() / 1e12 }
}

/// The round step (1, 2 or 5 times a power of ten) nearest above `raw`.
func niceStep(_ raw: Double) -> Double {
    var power = 1.0
    while power * 10 <= raw { power *= 10 }
    while power > raw { power /= 10 }
    let mantissa = raw / power
    return power * (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10)
}

/// How an axis writes its values.
public enum AxisFormat: Sendable {
    /// 1,500 and 2.5
    case number
    /// Seconds: "250 ms", "1.5 s"
    case seconds
    /// Bytes in powers of 1000: "1.5 kB", "20 MB"
    case bytes
    /// Milliseconds as given: "12 ms", "0.5 ms"
    case milliseconds
    /// Bits per second in powers of 1000: "1.5 Mbit/s"
    case bitsPerSecond
    /// A name per whole value (a histogram's buckets): value `i` is `names[i]`.
    case labels([String])

    public func text(_ value: Double) -> String {
        switch self {
        case .number:
            return compact(value)
        case .seconds:
            return abs(value) < 1 && value != 0 ? compact(value * 1000) + " ms" : compact(value) + " s"
        case .milliseconds:
            return compact(value) + " ms"
        case .bytes:
            return scaled(value, ["B", "kB", "MB", "GB", "TB"])
        case .bitsPerSecond:
            return scaled(value, ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"])
        case .labels(let names):
            let index = Int(value.rounded())
            return Double(index) == value && names.indices.contains(index) ? names[index] : ""
        }
    }

    func scaled(_ value: Double, _ units: [String]) -> String {
        var scaled = value, unit = 0
        while abs(scaled) >= 1000 && unit < units.count - 1 {
            scaled /= 1000
            unit += 1
        }
        return compact(scaled) + " " + units[unit]
    }
}

/// A number with at most three significant decimals and grouped thousands: 1,500 · 2.5 · 0.125.
public func compact(_ value: Double) -> String {
    guard value.isFinite else { return "–" }
    let rounded = (value * 1000).rounded() / 1000
    let negative = rounded < 0
    let magnitude = abs(rounded)
    let whole = Int(magnitude)
    var text = grouped(whole)
    let fraction = Int(((magnitude - Double(whole)) * 1000).rounded())
    if fraction > 0 {
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        text += "." + digits
    }
    return negative ? "-" + text : text
}

/// A coordinate as SVG path data writes it: at most one decimal, no trailing ".0".
func coordinate(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    let sign = tenths < 0 ? "-" : ""
    let magnitude = abs(tenths)
    return magnitude % 10 == 0 ? sign + String(magnitude / 10) : sign + String(magnitude / 10) + "." + String(magnitude % 10)
}

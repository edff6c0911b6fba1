/// Turns a file's timestamp ticks into nanoseconds since the epoch. pcapng's `if_tsresol` gives
/// ticks as 10^-n or 2^-n seconds; classic pcap is 10^-6 (µs) or 10^-9 (ns). Arithmetic wraps rather
/// than traps: a hostile timestamp gives a wrong time, never a crash.
@usableFromInline
struct TimestampScale: Sendable, Equatable {
    @usableFromInline enum Rule: Sendable, Equatable {
        case multiply(Int64)       // 10^-n with n <= 9
        case divide(Int64)         // 10^-n with 9 < n <= 18
        case binary(shift: Int)    // 2^-n
    }
    @usableFromInline let rule: Rule
    @usableFromInline let offsetNanoseconds: Int64
    @usableFromInline let ticksPerSecond: UInt64

    /// From pcapng's `if_tsresol` byte (default 6) and `if_tsoffset` seconds.
    init(resolution: UInt8, offsetSeconds: Int64) {
        let exponent = Int(resolution & 0x7F)
        if resolution & 0x80 != 0 {
            let shift = min(exponent, 63)
            rule = .binary(shift: shift)
            ticksPerSecond = 1 << UInt64(shift)
        } else {
            let n = min(exponent, 18)
            var power: Int64 = 1
            for _ in 0..<(n <= 9 ? 9 - n : n - 9) { power *= 10 }
            rule = n <= 9 ? .multiply(power) : .divide(power)
            var perSecond: UInt64 = 1
            for _ in 0..<n { perSecond *= 10 }
            ticksPerSecond = perSecond
        }
        offsetNanoseconds = offsetSeconds &* 1_000_000_000
    }

    static let microseconds = TimestampScale(resolution: 6, offsetSeconds: 0)
    static let nanoseconds = TimestampScale(resolution: 9, offsetSeconds: 0)

    /// A 64-bit tick count (pcapng's high and low words) in nanoseconds since the epoch.
    @inlinable func nanoseconds(ticks: UInt64) -> Int64 {
        let t = Int64(bitPattern: ticks)
        switch rule {
        case .multiply(let factor): return t &* factor &+ offsetNanoseconds
        case .divide(let divisor): return Int64(ticks / UInt64(divisor)) &+ offsetNanoseconds
        case .binary(let shift):
            let seconds = ticks >> UInt64(shift)
            let fraction = ticks & ((1 << UInt64(shift)) &- 1)
            let scaled = fraction.multipliedFullWidth(by: 1_000_000_000)
            // (fraction * 1e9) >> shift, taken from the 128-bit product.
            let nanos = shift == 0 ? 0 : (scaled.low >> UInt64(shift)) | (scaled.high << UInt64(64 - shift))
            return Int64(bitPattern: seconds) &* 1_000_000_000 &+ Int64(bitPattern: nanos) &+ offsetNanoseconds
        }
    }

    /// Classic pcap's seconds and fraction words.
    @inlinable func nanoseconds(seconds: UInt32, fraction: UInt32) -> Int64 {
        switch rule {
        case .multiply(let factor): return Int64(seconds) &* 1_000_000_000 &+ Int64(fraction) &* factor
        default: return nanoseconds(ticks: UInt64(seconds) &* ticksPerSecond &+ UInt64(fraction))
        }
    }
}

// The way back, for the writer: nanoseconds to the ticks of an interface, so that a packet written
// with its input interface's resolution and offset reads back with exactly the time it had.
extension TimestampScale {
    /// The scale of an interface as the parser described it. `ticksPerSecond` is a power of ten or
    /// of two (all `if_tsresol` can say); anything else is taken as nanoseconds.
    init(_ interface: InterfaceDescription) {
        self.init(resolution: Self.resolution(ticksPerSecond: interface.ticksPerSecond) ?? 9,
                  offsetSeconds: interface.timestampOffset)
    }

    /// The `if_tsresol` byte for `ticksPerSecond`: n for 10^n, 0x80 | n for 2^n; nil for neither.
    static func resolution(ticksPerSecond: UInt64) -> UInt8? {
        var power: UInt64 = 1
        for exponent in 0...19 {
            if power == ticksPerSecond { return UInt8(exponent) }
            let (next, overflow) = power.multipliedReportingOverflow(by: 10)
            if overflow { break }
            power = next
        }
        guard ticksPerSecond != 0, ticksPerSecond & (ticksPerSecond - 1) == 0 else { return nil }
        return 0x80 | UInt8(ticksPerSecond.trailingZeroBitCount)
    }

    /// This scale's `if_tsresol` byte.
    var resolution: UInt8 { Self.resolution(ticksPerSecond: ticksPerSecond) ?? 9 }

    /// The tick count whose time `nanoseconds(ticks:)` gives as `nanoseconds`, when there is one: always
    /// for a time read from an interface of this scale. A time between two ticks gets the tick
    /// before it (decimal) or after it (binary). Wraps rather than traps, as reading does.
    func ticks(nanoseconds: Int64) -> UInt64 {
        let sinceOffset = nanoseconds &- offsetNanoseconds
        switch rule {
        case .multiply(let factor):
            return UInt64(bitPattern: Self.floorDivide(sinceOffset, by: factor).quotient)
        case .divide(let divisor):
            return UInt64(bitPattern: sinceOffset) &* UInt64(divisor)
        case .binary(let shift):
            // Reading rounds (fraction * 1e9) >> shift down, so the fraction wanted is the
            // smallest one at or above remainder * 2^shift / 1e9.
            let (seconds, remainder) = Self.floorDivide(sinceOffset, by: 1_000_000_000)
            let scaled = UInt64(remainder).multipliedFullWidth(by: 1 << UInt64(shift))
            let (quotient, rest) = UInt64(1_000_000_000).dividingFullWidth((scaled.high, scaled.low))
            let fraction = quotient + (rest == 0 ? 0 : 1)
            return UInt64(bitPattern: seconds) &<< UInt64(shift) &+ fraction
        }
    }

    /// Division rounding towards minus infinity, and the remainder that goes with it (never negative).
    static func floorDivide(_ value: Int64, by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}

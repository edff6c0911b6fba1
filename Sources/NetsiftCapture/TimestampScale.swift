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

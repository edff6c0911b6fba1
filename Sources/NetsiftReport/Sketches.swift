import NetsiftDissect

/// How many distinct values were seen, in fixed memory: HyperLogLog (Flajolet et al. 2007) over
/// 2,048 one-byte registers, with its linear-counting correction for small counts (exact in
/// practice below a few hundred, about 2% off above). A flood from a million spoofed addresses
/// costs the same 2 KB as one from ten.
struct DistinctCounter: Sendable {
    static let bits = 11
    var registers = [UInt8](repeating: 0, count: 1 << DistinctCounter.bits)
    /// Values added (repeats included): no estimate may exceed it (HyperLogLog's error can, on
    /// counts where every value is distinct, and "5,184 sources" for 5,000 SYNs reads as a bug).
    var added = 0

    mutating func add(_ address: IPAddress) { add(hash: Self.mix(address.high ^ Self.mix(address.low))) }

    mutating func add(hash: UInt64) {
        added += 1
        let index = Int(hash >> UInt64(64 - Self.bits))
        let rank = UInt8(min((hash << UInt64(Self.bits)).leadingZeroBitCount, 64 - Self.bits) + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    var estimate: Int {
        let m = Double(registers.count)
        var sum = 0.0, zeros = 0
        for r in registers {
            sum += 1 / Double(UInt64(1) << UInt64(r))
            if r == 0 { zeros += 1 }
        }
        let raw = 0.7213 / (1 + 1.079 / m) * m * m / sum
        if raw <= 2.5 * m && zeros > 0 { return min(added, Int((m * log(m / Double(zeros))).rounded())) }
        return min(added, Int(raw.rounded()))
    }

    /// SplitMix64's finaliser: every input bit reaches every output bit.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The addresses seen most often, in fixed memory: the Space-Saving algorithm (Metwally et al.
/// 2005) with `capacity` counters. An address that takes a displaced one's counter inherits its
/// count as possible error, so `count - error` is what it surely sent: any address sending more
/// than 1/capacity of all is kept, and one-off spoofed sources show as nothing certain.
struct TopAddresses: Sendable {
    static let capacity = 32
    /// The counters, in no order: a list searched end to end (32 comparisons cost less than hashing
    /// the address, and a flood brings a new address with nearly every attempt).
    var counters: [(address: IPAddress, count: Int, error: Int)] = []

    /// `address` sent `weight` more (attempts, datagrams).
    mutating func add(_ address: IPAddress, weight: Int = 1) {
        if let known = counters.firstIndex(where: { $0.address == address }) {
            counters[known].count += weight
        } else if counters.count < Self.capacity {
            counters.append((address, weight, 0))
        } else {
            // The least counted (of equals, the highest address) gives up its counter.
            var least = 0
            for i in counters.indices.dropFirst() {
                let a = counters[i], b = counters[least]
                if a.count != b.count ? a.count < b.count : a.address > b.address { least = i }
            }
            let displaced = counters[least].count
            counters[least] = (address, displaced + weight, displaced)
        }
    }

    /// Up to `limit` addresses that surely sent at least `minimum`, most first, with what they
    /// surely sent.
    func top(_ limit: Int, minimum: Int = 2) -> [(address: IPAddress, count: Int)] {
        counters.map { ($0.address, $0.count - $0.error) }.filter { $0.1 >= minimum }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit).map { ($0.0, $0.1) }
    }
}

/// Natural logarithm without Foundation (the report module does not import it): ln x by the
/// series of atanh on the mantissa, after taking out powers of two.
func log(_ x: Double) -> Double {
    guard x > 0, x.isFinite else { return x == 0 ? -.infinity : .nan }
    let exponent = Double(x.exponent)
    let mantissa = x.significand   // in [1, 2)
    let y = (mantissa - 1) / (mantissa + 1), y2 = y * y
    var term = y, sum = 0.0
    for n in stride(from: 1, through: 41, by: 2) {
        sum += term / Double(n)
        term *= y2
    }
    return 2 * sum + exponent * 0.693_147_180_559_945_3
}

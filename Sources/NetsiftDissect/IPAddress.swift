import NetsiftCapture

/// An IPv4 or IPv6 address in 16 bytes, plain data (a flow key is built from two of these).
/// IPv4 is kept as the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so one comparison serves both.
public struct IPAddress: Decodable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    @inlinable public init(ipv4 value: UInt32) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    @inlinable public static var zero: IPAddress { IPAddress(high: 0, low: 0) }

    @inlinable public var isIPv4: Bool { high == 0 && low >> 32 == 0x0000_FFFF }
    @inlinable public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    @inlinable public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    // Written out, so that other modules inline it (a flow table compares keys on every packet).
    @inlinable public static func == (a: IPAddress, b: IPAddress) -> Bool { a.high == b.high && a.low == b.low }

    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (lower case, longest zero run as ::).
    public var description: String {
        if isIPv4 {
            let v = ipv4
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift))) }
        // The longest run of two or more zero groups becomes "::" (the first such run on a tie).
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength && i - runStart >= 2 { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        func text(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return text(0..<8) }
        return text(0..<bestStart) + "::" + text(bestStart + bestLength..<8)
    }
}

extension RawSpan {
    /// A 16-byte IPv6 address at `offset`.
    @inlinable func ipv6Address(_ offset: Int) -> IPAddress {
        IPAddress(high: be64(offset), low: be64(offset + 8))
    }
}

/// Encoded as its text ("192.0.2.1", "2001:db8::1"), as reports show it.
extension IPAddress: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

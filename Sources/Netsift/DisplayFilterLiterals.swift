import NetsiftDissect

// Reading the literals of a display filter, whose meaning depends on the field they are compared
// with (`10.0.0.0/8` is a network for ip.addr, `0x12` a number for tcp.flags).

enum FilterLiteral {
    /// Decimal, `0x` hexadecimal, `0b` binary, or octal with a leading 0 (as Wireshark reads them).
    static func integer(_ text: String) -> Int64? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") { return Int64(lower.dropFirst(2), radix: 16) }
        if lower.hasPrefix("0b") { return Int64(lower.dropFirst(2), radix: 2) }
        if lower.count > 1, lower.hasPrefix("0") { return Int64(lower.dropFirst(), radix: 8) }
        return Int64(lower, radix: 10)
    }

    /// `1`, `0`, any other number (true), `true`, `false` in any case. Wireshark 4.0 accepts only
    /// the numbers for flag fields; the words are accepted as later versions do.
    static func boolean(_ text: String) -> Int64? {
        switch text.lowercased() {
        case "true": return 1
        case "false": return 0
        default: return integer(text).map { $0 == 0 ? 0 : 1 }
        }
    }

    /// Seconds with an optional fraction (`1.5`, `1700000000.000001`), as nanoseconds.
    static func seconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]), whole >= 0, whole < Int64.max / 1_000_000_000 else { return nil }
        var nanoseconds = whole * 1_000_000_000
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy(\.isASCII), let digits = Int64(fraction) else { return nil }
            var scale: Int64 = 1
            for _ in fraction.count..<9 { scale *= 10 }
            nanoseconds += digits * scale
        }
        return nanoseconds
    }

    /// Six bytes in hex separated by `:`, `-` or `.`, as a 48-bit number.
    static func ethernet(_ text: String) -> Int64? {
        let bytes = text.split(whereSeparator: { $0 == ":" || $0 == "-" || $0 == "." })
        guard bytes.count == 6, text.count == 17 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte.count == 2, let b = UInt8(byte, radix: 16) else { return nil }
            value = value << 8 | Int64(b)
        }
        return value
    }

    /// A dotted quad, as the IPv4-mapped address Netsift stores.
    static func ipv4(_ text: some StringProtocol) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return IPAddress(ipv4: value)
    }

    /// RFC 4291 text: hex groups, one `::`, and an optional dotted quad at the end.
    static func ipv6(_ text: some StringProtocol) -> IPAddress? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map { String($0) }
        guard halves.count <= 2 else { return nil }
        func groupsOf(_ part: String, last: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if last, i == pieces.count - 1, piece.contains("."), let v4 = ipv4(piece) {
                    result.append(UInt16(truncatingIfNeeded: v4.ipv4 >> 16))
                    result.append(UInt16(truncatingIfNeeded: v4.ipv4))
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    result.append(group)
                }
            }
            return result
        }
        guard let head = groupsOf(halves[0], last: halves.count == 1) else { return nil }
        groups = head
        if halves.count == 2 {
            guard let rest = groupsOf(halves[1], last: true) else { return nil }
            tail = rest
            guard groups.count + tail.count < 8 else { return nil }
            groups += Array(repeating: 0, count: 8 - groups.count - tail.count) + tail
        }
        guard groups.count == 8 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for group in groups[0..<4] { high = high << 16 | UInt64(group) }
        for group in groups[4..<8] { low = low << 16 | UInt64(group) }
        return IPAddress(high: high, low: low)
    }

    /// An address with an optional `/prefix`, as a network: the address masked to the prefix,
    /// the prefix counted over all 128 bits (an IPv4 /8 is /104 of its mapped address).
    static func network(_ text: String, ipv6 isIPv6: Bool) -> FilterNetwork? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = isIPv6 ? ipv6(parts[0]) : ipv4(parts[0]) else { return nil }
        let width = isIPv6 ? 128 : 32
        var bits = width
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...width).contains(prefix) else { return nil }
            bits = prefix
        }
        return FilterNetwork(address, prefix: bits + (128 - width))
    }
}

/// An address and how many of its leading bits (of 128) a value must share to equal it.
struct FilterNetwork: Sendable, Equatable {
    let address: IPAddress
    let prefix: Int

    init(_ address: IPAddress, prefix: Int) {
        self.prefix = prefix
        self.address = FilterNetwork.mask(address, prefix)
    }

    func contains(_ value: IPAddress) -> Bool { FilterNetwork.mask(value, prefix) == address }

    static func mask(_ a: IPAddress, _ prefix: Int) -> IPAddress {
        func keep(_ word: UInt64, _ bits: Int) -> UInt64 {
            bits >= 64 ? word : bits <= 0 ? 0 : word & ~(UInt64.max >> UInt64(bits))
        }
        return IPAddress(high: keep(a.high, prefix), low: keep(a.low, prefix - 64))
    }
}

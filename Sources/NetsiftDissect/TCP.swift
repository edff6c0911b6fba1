import NetsiftCapture

/// TCP header (RFC 9293 §3.1): validated once for its data offset (at least 20 bytes, within the
/// packet on the wire); accessors then read fixed offsets. Options are walked by `TCPOptions`.
/// When the snaplen cut the options, the fixed header and the options captured are still read, as
/// Wireshark does (`isCut` says so), since the ports and flags are what later stages need most.
public struct TCPHeader: ~Escapable {
    public static let minimumLength = 20
    /// The header as captured, options included (shorter than `dataOffset` when cut).
    @usableFromInline let bytes: RawSpan
    /// The header's length, as its data offset field says.
    public let dataOffset: Int

    @inlinable @_lifetime(copy segment)
    public init(_ segment: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.minimumLength, captured: segment.byteCount, wire: wire, layer: .tcp)
        let length = Int(segment.u8(12) >> 4) * 4
        guard length >= Self.minimumLength else {
            throw DissectError(.tcp, .lengthBelowMinimum(field: .dataOffset, value: length, minimum: 20))
        }
        try require(length, captured: wire, wire: wire, layer: .tcp)
        bytes = segment.extracting(first: min(length, segment.byteCount))
        dataOffset = length
    }

    /// The snaplen cut the header's options.
    @inlinable public var isCut: Bool { bytes.byteCount < dataOffset }

    @inlinable public var sourcePort: UInt16 { bytes.be16(0) }
    @inlinable public var destinationPort: UInt16 { bytes.be16(2) }
    @inlinable public var sequenceNumber: UInt32 { bytes.be32(4) }
    @inlinable public var acknowledgmentNumber: UInt32 { bytes.be32(8) }
    @inlinable public var flags: TCPFlags { TCPFlags(rawValue: bytes.be16(12) & 0x01FF) }
    @inlinable public var windowSize: UInt16 { bytes.be16(14) }
    @inlinable public var checksum: UInt16 { bytes.be16(16) }
    @inlinable public var urgentPointer: UInt16 { bytes.be16(18) }
    @inlinable public var options: TCPOptions {
        @_lifetime(copy self) get { TCPOptions(bytes.extracting(droppingFirst: Self.minimumLength)) }
    }
}

/// Walks TCP options (RFC 9293 §3.2): End of Option List (0) and No-Operation (1) are one byte,
/// every other option is kind, length, data. Stops at End of Option List and at the first option
/// whose length is below 2 or runs past the header, which it reports.
public struct TCPOptions: ~Escapable {
    @usableFromInline let bytes: RawSpan
    @usableFromInline var offset = 0

    @inlinable @_lifetime(copy bytes)
    public init(_ bytes: RawSpan) { self.bytes = bytes }

    public enum Kind {
        public static let end: UInt8 = 0
        public static let noOperation: UInt8 = 1
        public static let maximumSegmentSize: UInt8 = 2
        public static let windowScale: UInt8 = 3
        public static let sackPermitted: UInt8 = 4
        public static let sack: UInt8 = 5
        public static let timestamps: UInt8 = 8
        public static let multipath: UInt8 = 30
        public static let fastOpen: UInt8 = 34
    }

    public struct Option: Sendable, Equatable {
        public var kind: UInt8
        /// The whole option (kind and length included) within the options area.
        public var range: Range<Int>
        @usableFromInline init(kind: UInt8, range: Range<Int>) {
            self.kind = kind
            self.range = range
        }
        public var name: String {
            switch kind {
            case 0: "eol"
            case 1: "nop"
            case 2: "mss"
            case 3: "wscale"
            case 4: "sackOK"
            case 5: "sack"
            case 8: "TS"
            case 19: "md5"
            case 28: "uto"
            case 29: "tcp-ao"
            case 30: "mptcp"
            case 34: "tfo"
            default: "opt-\(kind)"
            }
        }
    }

    @inlinable
    public mutating func next() throws(DissectError) -> Option? {
        guard offset < bytes.byteCount else { return nil }
        let kind = bytes.u8(offset)
        if kind == Kind.end {
            defer { offset = bytes.byteCount }
            return Option(kind: kind, range: offset..<offset + 1)
        }
        if kind == Kind.noOperation {
            defer { offset += 1 }
            return Option(kind: kind, range: offset..<offset + 1)
        }
        guard offset + 1 < bytes.byteCount else { throw DissectError(.tcpOptions, .badOption(kind: Int(kind), length: 0)) }
        let length = Int(bytes.u8(offset + 1))
        guard length >= 2, offset + length <= bytes.byteCount else {
            throw DissectError(.tcpOptions, .badOption(kind: Int(kind), length: length))
        }
        defer { offset += length }
        return Option(kind: kind, range: offset..<offset + length)
    }

    /// Decodes every option into `summary`, the ones later stages use by value. A malformed option
    /// stops the walk; the options before it are kept.
    @inlinable
    public mutating func decode(into summary: inout TCPOptionSummary) throws(DissectError) {
        // What Linux puts on every segment once timestamps are on (RFC 7323 Appendix A): NOP,
        // NOP, timestamps. Read at once; the walk below reads the same.
        if offset == 0 && bytes.byteCount == 12 && bytes.be32(0) == 0x0101_080A {
            summary.optionCount &+= 3
            summary.timestampValue = bytes.be32(4)
            summary.timestampEcho = bytes.be32(8)
            offset = 12
            return
        }
        while let option = try next() {
            summary.optionCount &+= 1
            let start = option.range.lowerBound
            let length = option.range.count
            switch option.kind {
            case Kind.end, Kind.noOperation:
                break
            case Kind.maximumSegmentSize where length == 4:
                summary.mss = bytes.be16(start + 2)
            case Kind.windowScale where length == 3:
                summary.windowScale = bytes.u8(start + 2)
            case Kind.sackPermitted where length == 2:
                summary.sackPermitted = true
            case Kind.sack where length == 2:
                // RFC 2018: 8n+2 bytes with n >= 1; an empty SACK is malformed (as Wireshark says).
                throw DissectError(.tcpOptions, .badOption(kind: Int(option.kind), length: length))
            case Kind.sack where (length - 2) % 8 == 0:
                var edge = start + 2
                while edge + 8 <= option.range.upperBound {
                    summary.addSACK(left: bytes.be32(edge), right: bytes.be32(edge + 4))
                    edge += 8
                }
            case Kind.timestamps where length == 10:
                summary.timestampValue = bytes.be32(start + 2)
                summary.timestampEcho = bytes.be32(start + 6)
            case Kind.fastOpen:
                summary.fastOpenCookieLength = UInt8(length - 2)
            case Kind.multipath where length >= 3:
                if summary.mptcpSubtype == nil { summary.mptcpSubtype = bytes.u8(start + 2) >> 4 }
            default:
                summary.unknownCount &+= 1
            }
        }
    }
}

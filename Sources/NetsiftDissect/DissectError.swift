/// The protocol layers Netsift dissects, used to say where a problem is and which layers a
/// packet has.
public enum Layer: UInt8, Decodable, Sendable, CaseIterable, CustomStringConvertible {
    case link, ethernet, llc, vlan, linuxSLL, linuxSLL2, loopback, ipv4, ipv4Options, ipv6, ipv6Extension,
         tcp, tcpOptions, udp, icmp, icmpv6, gre, vxlan, geneve, erspan, mpls, gtpU

    public var description: String {
        switch self {
        case .link: "link"
        case .ethernet: "Ethernet"
        case .llc: "802.3 LLC"
        case .vlan: "802.1Q"
        case .linuxSLL: "Linux SLL"
        case .linuxSLL2: "Linux SLL2"
        case .loopback: "loopback"
        case .ipv4: "IPv4"
        case .ipv4Options: "IPv4 options"
        case .ipv6: "IPv6"
        case .ipv6Extension: "IPv6 extension"
        case .tcp: "TCP"
        case .tcpOptions: "TCP options"
        case .udp: "UDP"
        case .icmp: "ICMP"
        case .icmpv6: "ICMPv6"
        case .gre: "GRE"
        case .vxlan: "VXLAN"
        case .geneve: "Geneve"
        case .erspan: "ERSPAN"
        case .mpls: "MPLS"
        case .gtpU: "GTP-U"
        }
    }
}

/// What is wrong with a layer, as plain data (no String, so a malformed packet costs no
/// allocation); the text is made only when a report shows it.
public struct DissectError: Decodable, Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Decodable, Sendable, Equatable {
        /// The snaplen cut the header: `needed` bytes, `captured` present. The packet on the wire was
        /// fine; the capture kept too little of it. Wireshark does not call this malformed.
        case cut(needed: Int, captured: Int)
        /// The header needs more bytes than the packet had even on the wire.
        case tooShort(needed: Int, available: Int)
        /// A length field below its minimum, e.g. an IPv4 header length of 4 < 20.
        case lengthBelowMinimum(field: Field, value: Int, minimum: Int)
        /// A length field that runs past what contains it.
        case lengthPastEnd(field: Field, value: Int, available: Int)
        /// An option whose length runs past its header, or that cannot hold what its kind needs.
        case badOption(kind: Int, length: Int)
        /// An IP header whose version nibble is not what its link layer announced.
        case wrongVersion(Int)
        /// A chain (extension headers, VLAN tags) longer than we follow.
        case chainTooLong(limit: Int)
        /// A link type Netsift has no dissector for.
        case unsupportedLinkType(Int)
    }

    public enum Field: UInt8, Decodable, Sendable {
        case headerLength, totalLength, payloadLength, dataOffset, udpLength, optionLength, extensionLength,
             optionsLength
        public var name: String {
            switch self {
            case .headerLength: "header length"
            case .totalLength: "total length"
            case .payloadLength: "payload length"
            case .dataOffset: "data offset"
            case .udpLength: "length"
            case .optionLength: "option length"
            case .extensionLength: "extension header length"
            case .optionsLength: "options length"
            }
        }
    }

    public var layer: Layer
    public var kind: Kind

    public init(_ layer: Layer, _ kind: Kind) {
        self.layer = layer
        self.kind = kind
    }

    /// True when the packet ends before its headers say it does: a header, option or length that
    /// runs past the bytes the packet had on the wire. This is what Wireshark marks "Malformed
    /// Packet" (an exception while dissecting). A snaplen cut is not malformed, and neither is a
    /// field with an impossible value that still fits (an IPv4 header length of 4): those are
    /// reported as problems all the same.
    public var isMalformed: Bool {
        switch kind {
        case .tooShort, .lengthPastEnd, .badOption: true
        case .cut, .lengthBelowMinimum, .wrongVersion, .chainTooLong, .unsupportedLinkType: false
        }
    }

    public var description: String {
        switch kind {
        case .cut(let needed, let captured):
            "\(layer) header cut by the snaplen (\(captured) of \(needed) bytes captured)"
        case .tooShort(let needed, let available):
            "\(layer) header needs \(needed) bytes, the packet has \(available)"
        case .lengthBelowMinimum(let field, let value, let minimum):
            "\(layer) \(field.name) \(value) < \(minimum)"
        case .lengthPastEnd(let field, let value, let available):
            "\(layer) \(field.name) \(value) runs past the \(available) bytes available"
        case .badOption(let kind, let length):
            "\(layer): option \(kind) has an impossible length \(length)"
        case .wrongVersion(let version):
            "\(layer): version field is \(version)"
        case .chainTooLong(let limit):
            "\(layer): more than \(limit) in a chain, stopped following it"
        case .unsupportedLinkType(let type):
            "unsupported link type \(type)"
        }
    }
}

/// Checks that `needed` bytes are there, telling a snaplen cut from a packet that is too short.
/// `captured` is what the capture holds from the header on, `wire` what the packet had there.
@inlinable
func require(_ needed: Int, captured: Int, wire: Int, layer: Layer) throws(DissectError) {
    if captured >= needed { return }
    if wire >= needed { throw DissectError(layer, .cut(needed: needed, captured: captured)) }
    throw DissectError(layer, .tooShort(needed: needed, available: wire))
}

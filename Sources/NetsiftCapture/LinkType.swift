/// A capture's link-layer header type: the `LINKTYPE_*` number that pcap and pcapng files store
/// (tcpdump.org/linktypes.html). Unknown values are kept as they are so a report can name them.
public struct LinkType: Decodable, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Constants, not `static let`: a stored static of another module is reached through an
    // accessor that checks its lazy initialisation on every use; these fold into the caller.
    @inlinable public static var null: LinkType { LinkType(rawValue: 0) }           // BSD loopback, host byte order family
    @inlinable public static var ethernet: LinkType { LinkType(rawValue: 1) }
    @inlinable public static var raw: LinkType { LinkType(rawValue: 101) }          // raw IPv4 or IPv6, by version nibble
    @inlinable public static var loop: LinkType { LinkType(rawValue: 108) }         // OpenBSD loopback, network byte order family
    @inlinable public static var linuxSLL: LinkType { LinkType(rawValue: 113) }
    @inlinable public static var ipv4: LinkType { LinkType(rawValue: 228) }
    @inlinable public static var ipv6: LinkType { LinkType(rawValue: 229) }
    @inlinable public static var linuxSLL2: LinkType { LinkType(rawValue: 276) }

    /// The short name tcpdump and capinfos use, or `linktype-N` for the ones we do not know.
    public var name: String {
        switch rawValue {
        case 0: "null"
        case 1: "ether"
        case 101: "rawip"
        case 105: "ieee-802-11"
        case 108: "loop"
        case 113: "linux-sll"
        case 127: "ieee-802-11-radiotap"
        case 228: "rawip4"
        case 229: "rawip6"
        case 276: "linux-sll2"
        default: "linktype-\(rawValue)"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}

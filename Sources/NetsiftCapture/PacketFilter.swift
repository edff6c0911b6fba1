import CPcap

/// A BPF filter ("tcp port 443") compiled by libpcap, tested against packets from any source. The
/// expression is compiled once per link type it meets, because a pcapng file may mix link types
/// and BPF code depends on the link-layer header. The language is libpcap's, not ours.
public final class PacketFilter {
    public let expression: String
    /// Compiled programs by link type; nil where the expression does not apply to that link type.
    private var programs: [LinkType: bpf_program?] = [:]
    private var header = pcap_pkthdr()

    /// Compiles `expression` for `linkType` now, so a syntax error is reported before any packet.
    public init(expression: String, checkingWith linkType: LinkType = .ethernet) throws(CaptureError) {
        self.expression = expression
        switch Self.compile(expression, for: linkType) {
        case .success(let program): programs[linkType] = program
        case .failure(let error): throw error
        }
    }

    deinit {
        for case var program? in programs.values { pcap_freecode(&program) }
    }

    /// True when the packet passes the filter. A link type the expression cannot apply to (a
    /// filter on IP fields over a link type libpcap cannot parse) lets no packet through.
    public func matches(_ packet: CapturedPacket) -> Bool {
        let program: bpf_program?
        if let known = programs[packet.linkType] {
            program = known
        } else {
            program = try? Self.compile(expression, for: packet.linkType).get()
            programs[packet.linkType] = program
        }
        guard var program else { return false }
        header.caplen = bpf_u_int32(packet.capturedLength)
        header.len = bpf_u_int32(clamping: packet.originalLength)
        return packet.bytes.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return false }
            return pcap_offline_filter(&program, &header, base.assumingMemoryBound(to: u_char.self)) != 0
        }
    }

    static func compile(_ expression: String, for linkType: LinkType) -> Result<bpf_program?, CaptureError> {
        guard let dead = pcap_open_dead(Int32(linkType.dataLinkType), 262_144) else {
            return .failure(CaptureError(path: "filter", kind: .badFilter(expression: expression, reason: "libpcap refused")))
        }
        defer { pcap_close(dead) }
        var program = bpf_program()
        guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let reason = String(cString: pcap_geterr(dead))
            return .failure(CaptureError(path: "filter", kind: .badFilter(expression: expression, reason: reason)))
        }
        return .success(program)
    }
}

extension LinkType {
    /// libpcap's DLT_ number for this LINKTYPE_ value (they differ only for a few historical ones).
    var dataLinkType: UInt16 {
        switch rawValue {
        case 101: 12        // LINKTYPE_RAW is DLT_RAW
        default: rawValue
        }
    }

    init(dataLinkType: Int32) {
        self.init(rawValue: dataLinkType == 12 || dataLinkType == 14 ? 101 : UInt16(truncatingIfNeeded: dataLinkType))
    }
}

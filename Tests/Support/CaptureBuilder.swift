import Foundation
import NetsiftDissect

/// Frames and capture files built byte by byte from the RFC layouts, for tests of what hostile or
/// enormous captures do (no binary capture needs committing). Checksums are left 0: nothing in
/// Netsift verifies them. Every multi-byte field is big-endian (network order) except the pcap and
/// pcapng headers, which are written little-endian.
public enum Build {
    /// Bytes written as hex digits; anything else (spaces, comments' separators) is ignored.
    public static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter(\.isHexDigit))
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    public static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    public static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }
    public static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    public static func le32(_ value: UInt32) -> [UInt8] { le16(UInt16(value & 0xFFFF)) + le16(UInt16(value >> 16)) }
    public static func le64(_ value: UInt64) -> [UInt8] { le32(UInt32(value & 0xFFFF_FFFF)) + le32(UInt32(value >> 32)) }

    // MARK: Frames

    /// Ethernet II (IEEE 802.3 §3.2.6): destination 02:00:00:00:00:02, source 02:00:00:00:00:01, EtherType.
    public static func ethernet(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01] + be16(type) + payload
    }

    /// IPv4 (RFC 791 §3.1): version 4 and IHL 5, TOS 0, total length, identification, flags (MF)
    /// and fragment offset in 8-byte units (`offset` is in bytes), TTL 64, protocol, checksum 0.
    public static func ipv4(_ source: UInt32, _ destination: UInt32, protocol number: UInt8, identification: UInt16 = 0,
                            offset: Int = 0, moreFragments: Bool = false, _ payload: [UInt8]) -> [UInt8] {
        let flagsAndOffset = UInt16(offset / 8) | (moreFragments ? 0x2000 : 0)
        return [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(identification) + be16(flagsAndOffset)
            + [64, number, 0, 0] + be32(source) + be32(destination) + payload
    }

    /// IPv6 (RFC 8200 §3): version 6, traffic class and flow label 0, payload length, next header,
    /// hop limit 64; addresses 2001:db8::`source` and 2001:db8::`destination`.
    public static func ipv6(_ source: UInt16, _ destination: UInt16, nextHeader: UInt8, _ payload: [UInt8]) -> [UInt8] {
        func address(_ last: UInt16) -> [UInt8] { [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 10) + be16(last) }
        return [0x60, 0, 0, 0] + be16(UInt16(payload.count)) + [nextHeader, 64] + address(source) + address(destination)
            + payload
    }

    /// TCP flags (RFC 9293 §3.1).
    public static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    /// TCP (RFC 9293 §3.1): ports, sequence and acknowledgment numbers, data offset 5 (no
    /// options), flags, window, checksum 0, urgent pointer 0, payload.
    public static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, seq: UInt32, ack: UInt32 = 0, flags: UInt8,
                           window: UInt16 = 65_535, _ payload: [UInt8] = []) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be32(seq) + be32(ack) + [0x50, flags] + be16(window) + [0, 0, 0, 0]
            + payload
    }

    /// UDP (RFC 768): ports, length, checksum 0, payload.
    public static func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
    }

    // MARK: Capture files

    /// A classic pcap file header (pcap-savefile(5)), little-endian, microsecond timestamps:
    /// magic a1b2c3d4, version 2.4, zone 0, sigfigs 0, snaplen 262144, link type.
    public static func pcapHeader(linkType: UInt32 = 1) -> [UInt8] {
        le32(0xA1B2_C3D4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(262_144) + le32(linkType)
    }

    /// One pcap record: seconds, microseconds, captured length, original length, the frame.
    public static func pcapRecord(_ frame: [UInt8], seconds: UInt32, microseconds: UInt32 = 0) -> [UInt8] {
        le32(seconds) + le32(microseconds) + le32(UInt32(frame.count)) + le32(UInt32(frame.count)) + frame
    }

    /// A pcapng Section Header Block (draft-ietf-opsawg-pcapng §4.1), little-endian: type
    /// 0a0d0d0a, length, byte-order magic 1a2b3c4d, version 1.0, section length -1 (unknown), and
    /// `comments` as opt_comment options (code 1, each padded to 4 bytes) then opt_endofopt.
    public static func pcapngSection(comments: [[UInt8]] = []) -> [UInt8] {
        var options: [UInt8] = []
        for comment in comments {
            options += le16(1) + le16(UInt16(comment.count)) + comment + [UInt8](repeating: 0, count: (4 - comment.count % 4) % 4)
        }
        if !comments.isEmpty { options += le16(0) + le16(0) }
        let length = UInt32(28 + options.count)
        return le32(0x0A0D_0D0A) + le32(length) + le32(0x1A2B_3C4D) + le16(1) + le16(0) + le64(UInt64.max) + options
            + le32(length)
    }

    /// An Interface Description Block (§4.2): link type, reserved, snaplen 0, and when given the
    /// `if_tsoffset` option (code 14, 8 bytes: seconds added to every timestamp) and opt_endofopt.
    public static func pcapngInterface(linkType: UInt16 = 1, timestampOffsetSeconds: Int64? = nil) -> [UInt8] {
        var options: [UInt8] = []
        if let offset = timestampOffsetSeconds {
            options = le16(14) + le16(8) + le64(UInt64(bitPattern: offset)) + le16(0) + le16(0)
        }
        let length = UInt32(20 + options.count)
        return le32(1) + le32(length) + le16(linkType) + le16(0) + le32(0) + options + le32(length)
    }

    /// An Interface Statistics Block (§4.6) for interface 0, timestamp 0, with the recorder's drop
    /// counters `isb_ifdrop` (code 5) and `isb_osdrop` (code 7), and opt_endofopt.
    public static func pcapngStatistics(droppedByInterface: UInt64, droppedByOS: UInt64) -> [UInt8] {
        let options = le16(5) + le16(8) + le64(droppedByInterface) + le16(7) + le16(8) + le64(droppedByOS)
            + le16(0) + le16(0)
        let length = UInt32(24 + options.count)
        return le32(5) + le32(length) + le32(0) + le32(0) + le32(0) + options + le32(length)
    }

    /// An Enhanced Packet Block (§4.3): interface, timestamp high and low words (microseconds by
    /// default), captured and original length, the frame padded to 4 bytes.
    public static func pcapngPacket(_ frame: [UInt8], interface: UInt32 = 0, ticks: UInt64) -> [UInt8] {
        let padding = (4 - frame.count % 4) % 4
        let length = UInt32(32 + frame.count + padding)
        return le32(6) + le32(length) + le32(interface) + le32(UInt32(ticks >> 32)) + le32(UInt32(ticks & 0xFFFF_FFFF))
            + le32(UInt32(frame.count)) + le32(UInt32(frame.count)) + frame + [UInt8](repeating: 0, count: padding)
            + le32(length)
    }

    /// Writes a classic pcap of `count` frames to a temporary file through a buffer, so that
    /// millions of packets never sit in memory at once; returns its path (the caller removes it).
    public static func pcapFile(count: Int, linkType: UInt32 = 1,
                                _ frame: (Int) -> (frame: [UInt8], seconds: UInt32, microseconds: UInt32)) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(UUID().uuidString).pcap")
        try Data().write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = pcapHeader(linkType: linkType)
        for index in 0..<count {
            let record = frame(index)
            buffer += pcapRecord(record.frame, seconds: record.seconds, microseconds: record.microseconds)
            if buffer.count >= 1 << 20 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
        return url
    }

    /// Writes `bytes` to a temporary file; returns its path (the caller removes it).
    public static func file(_ bytes: [UInt8], suffix: String = "pcap") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(UUID().uuidString).\(suffix)")
        try Data(bytes).write(to: url)
        return url
    }
}

extension Build {
    /// The frames of one TCP conversation over IPv4 between 10.0.0.1:`clientPort` and
    /// 10.0.0.2:`serverPort`: the three-way handshake (initial sequence numbers 1000 and 5000),
    /// then each segment with its sequence and acknowledgment numbers following the bytes sent.
    public static func tcpConversation(clientPort: UInt16, serverPort: UInt16,
                                       _ segments: [(fromClient: Bool, payload: [UInt8])]) -> [[UInt8]] {
        let client: UInt32 = 0x0A00_0001, server: UInt32 = 0x0A00_0002
        var clientSeq: UInt32 = 1000, serverSeq: UInt32 = 5000
        func frame(_ fromClient: Bool, _ flags: UInt8, _ payload: [UInt8] = []) -> [UInt8] {
            let segment = fromClient
                ? tcp(clientPort, serverPort, seq: clientSeq, ack: serverSeq, flags: flags, payload)
                : tcp(serverPort, clientPort, seq: serverSeq, ack: clientSeq, flags: flags, payload)
            return ethernet(0x0800, fromClient ? ipv4(client, server, protocol: 6, segment)
                                               : ipv4(server, client, protocol: 6, segment))
        }
        var frames = [frame(true, syn)]
        clientSeq += 1
        frames.append(frame(false, syn | ack))
        serverSeq += 1
        frames.append(frame(true, ack))
        for (fromClient, payload) in segments {
            frames.append(frame(fromClient, psh | ack, payload))
            if fromClient { clientSeq &+= UInt32(payload.count) } else { serverSeq &+= UInt32(payload.count) }
        }
        return frames
    }
}

/// A DNS message parsed from hex (`Build.hex`), as the dissector parses one from a packet.
public func dnsMessage(_ hex: String, flavor: DNSFlavor = .dns, wire: Int? = nil) -> DNSMessage {
    Build.hex(hex).withUnsafeBytes { DNSMessage($0.bytes, wireLength: wire, flavor: flavor) }
}

import Foundation
import Testing
import NetsiftTestSupport
@testable import NetsiftCapture

/// One packet as the tests see it: copied out of the reader's view.
struct ReadPacket: Equatable {
    var bytes: [UInt8]
    var originalLength: Int
    var timestamp: Int64
    var hasTimestamp = true
    var interface = 0
    var linkType = LinkType.ethernet
}

func hex(_ text: String) -> [UInt8] {
    Build.hex(text)   // NetsiftTestSupport's, with its check for an odd digit count
}

func copy(_ packet: CapturedPacket) -> ReadPacket {
    var bytes: [UInt8] = []
    for i in 0..<packet.bytes.byteCount { bytes.append(packet.bytes.u8(i)) }
    return ReadPacket(bytes: bytes, originalLength: packet.originalLength, timestamp: packet.timestamp,
                      hasTimestamp: packet.hasTimestamp, interface: packet.interface, linkType: packet.linkType)
}

/// Reads `bytes` through the real reader over a temporary file (the mmap path).
func readFile(_ bytes: [UInt8]) throws -> (packets: [ReadPacket], end: CaptureReader.End, parser: CaptureParser) {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(UUID().uuidString).pcap")
    try Data(bytes).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    var reader = try CaptureReader(path: url.path)
    var packets: [ReadPacket] = []
    let end = reader.forEachPacket { packets.append(copy($0)) }
    return (packets, end, reader.parser)
}

/// Feeds `bytes` to the parser the way a stream arrives: in chunks of the given sizes (cycled),
/// honouring `needMore` exactly as the stream buffer does.
func readChunked(_ bytes: [UInt8], chunks: [Int]) -> (packets: [ReadPacket], outcome: CaptureParser.Outcome) {
    var parser = CaptureParser()
    var packets: [ReadPacket] = []
    var available = 0          // bytes of `bytes` that have "arrived"
    var chunk = 0
    while true {
        let isFinal = available == bytes.count
        let outcome = bytes.withUnsafeBytes { raw in
            let window = UnsafeRawBufferPointer(rebasing: raw[parser.bytesConsumed..<available])
            return parser.parse(window.bytes, isFinal: isFinal) { packets.append(copy($0)) }
        }
        guard case .needMore = outcome else { return (packets, outcome) }
        available = min(bytes.count, available + chunks[chunk % chunks.count])
        chunk += 1
    }
}

// MARK: - Classic pcap

// File header, little-endian µs: magic d4c3b2a1 (a1b2c3d4 stored LE), version 2.4, thiszone 0,
// sigfigs 0, snaplen 0x0000ffff = 65535, link type 1 (Ethernet).
let pcapLEHeader = "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"
// Record: seconds 0x5f5e1000 = 1_600_000_000, µs 0x0001e240 = 123_456, captured 4, original 60 (cut).
let pcapLERecord1 = "00105e5f 40e20100 04000000 3c000000 deadbeef"
// Record: seconds 1_600_000_001 (0x5f5e1001), µs 0, captured 2, original 2.
let pcapLERecord2 = "01105e5f 00000000 02000000 02000000 0102"

@Test func pcapLittleEndianMicroseconds() throws {
    let (packets, end, parser) = try readFile(hex(pcapLEHeader + pcapLERecord1 + pcapLERecord2))
    #expect(end == .finished)
    #expect(parser.format == .pcap(nanosecond: false, modified: false))
    #expect(parser.interfaces == [InterfaceDescription(linkType: .ethernet, snaplen: 65535)])
    #expect(packets == [
        ReadPacket(bytes: [0xde, 0xad, 0xbe, 0xef], originalLength: 60, timestamp: 1_600_000_000_123_456_000),
        ReadPacket(bytes: [1, 2], originalLength: 2, timestamp: 1_600_000_001_000_000_000),
    ])
}

@Test func pcapBigEndianNanoseconds() throws {
    // magic a1b23c4d stored big-endian = nanosecond pcap; snaplen 262144 (0x00040000); link type 113
    // (Linux SLL) with the FCS bits set: 0x24000071 = FCS length 2 words (bits 28-31 = 2), P bit 26.
    let header = "a1b23c4d 0002 0004 00000000 00000000 00040000 24000071"
    // seconds 0x00000001, ns 0x000001f4 = 500, captured 1, original 1
    let record = "00000001 000001f4 00000001 00000001 ff"
    let (packets, end, parser) = try readFile(hex(header + record))
    #expect(end == .finished)
    #expect(parser.format == .pcap(nanosecond: true, modified: false))
    #expect(parser.sections.first?.bigEndian == true)
    #expect(parser.interfaces.first?.linkType == .linuxSLL)
    #expect(parser.interfaces.first?.fcsLength == 4)
    #expect(packets == [ReadPacket(bytes: [0xff], originalLength: 1, timestamp: 1_000_000_500, linkType: .linuxSLL)])
}

@Test func modifiedPcapRecordsHaveEightMoreBytes() throws {
    // magic a1b2cd34 stored LE; records carry ifindex(4) protocol(2) pkt_type(1) pad(1) after the usual 16.
    let header = "34cdb2a1 0200 0400 00000000 00000000 ffff0000 01000000"
    let record = "02000000 05000000 01000000 01000000 03000000 0008 00 00 aa"
    let (packets, end, _) = try readFile(hex(header + record))
    #expect(end == .finished)
    #expect(packets == [ReadPacket(bytes: [0xaa], originalLength: 1, timestamp: 2_000_005_000)])
}

@Test func headerOnlyPcapIsAnEmptyCapture() throws {
    let (packets, end, parser) = try readFile(hex(pcapLEHeader))
    #expect(end == .finished)
    #expect(packets.isEmpty)
    #expect(parser.interfaces.count == 1)
}

@Test func pcapRecordCutAtEndOfFileKeepsEarlierPackets() throws {
    // The second record announces 2 bytes but the file ends after 1.
    let bytes = hex(pcapLEHeader + pcapLERecord1 + pcapLERecord2).dropLast(1)
    let (packets, end, _) = try readFile(Array(bytes))
    #expect(packets.count == 1)
    // Record 2 starts at 24 + 16 + 4 = 44 and needs 18 bytes; 17 are left.
    #expect(end == .damaged(CaptureDamage(kind: .cutShort(needed: 18, available: 17), offset: 44, packetsRead: 1)))
}

@Test func pcapRecordHeaderCutAtEndOfFile() throws {
    let bytes = hex(pcapLEHeader + pcapLERecord1 + "01105e5f 0000")
    let (packets, end, _) = try readFile(bytes)
    #expect(packets.count == 1)
    #expect(end == .damaged(CaptureDamage(kind: .cutShort(needed: 16, available: 6), offset: 44, packetsRead: 1)))
}

@Test func pcapImpossibleRecordLengthStopsThere() throws {
    // captured length 0x00ff0000 = 16_711_680, beyond the 262_144 limit for a 65535 snaplen.
    let bytes = hex(pcapLEHeader + pcapLERecord1 + "01105e5f 00000000 0000ff00 0000ff00 0102")
    let (packets, end, _) = try readFile(bytes)
    #expect(packets.count == 1)
    #expect(end == .damaged(CaptureDamage(kind: .impossibleRecordLength(16_711_680, limit: 262_144),
                                          offset: 44, packetsRead: 1)))
}

// MARK: - Rejected inputs

@Test(arguments: [
    ("", "it is empty"),
    ("d4c3", "starts with d4 c3 (only 2 bytes)"),
    ("1f8b0800 00000000", "starts with 1f 8b 08 00 00 00 00 00: gzip-compressed data (gunzip it first)"),
    ("47455420 2f204854 5450", "starts with 47 45 54 20 2f 20 48 54: text (\"GET / HT\")"),
])
func notACaptureSaysWhatItIs(bytes: String, what: String) throws {
    let (packets, end, _) = try readFile(hex(bytes))
    #expect(packets.isEmpty)
    guard case .rejected(let error) = end else { Issue.record("expected a rejection, got \(end)"); return }
    #expect(error.kind == .notACapture(what: what))
    #expect(error.description.contains("not a pcap or pcapng capture"))
}

@Test func unknownPcapMajorVersionIsUnsupported() throws {
    let (_, end, _) = try readFile(hex("d4c3b2a1 0300 0000 00000000 00000000 ffff0000 01000000"))
    guard case .rejected(let error) = end else { Issue.record("expected a rejection"); return }
    #expect(error.kind == .unsupported("pcap version 3.0 (only 2.x exists)"))
}

@Test func missingFileThrowsWithTheReason() {
    #expect(throws: CaptureError(path: "/nonexistent/x.pcap",
                                 kind: .cannotOpen(errno: ENOENT, reason: "No such file or directory"))) {
        _ = try CaptureReader(path: "/nonexistent/x.pcap")
    }
}

// MARK: - pcapng

// Section Header Block, little-endian: type 0a0d0d0a, length 28, byte-order magic 4d3c2b1a
// (1a2b3c4d stored LE), version 1.0, section length -1, no options, trailing length 28.
let shbLE = "0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000"
// Interface Description Block: type 1, length 20, link type 1, reserved, snaplen 0 (not set), length 20.
let idbLEEthernet = "01000000 14000000 0100 0000 00000000 14000000"
// Enhanced Packet Block: type 6, length 36, interface 0, timestamp high 0x00000001, low 0x00000002
// -> ticks 4_294_967_298 µs, captured 3, original 3, data 010203 + 1 pad byte, length 36.
let epbLE = "06000000 24000000 00000000 01000000 02000000 03000000 03000000 01020300 24000000"

@Test func pcapngLittleEndianEnhancedPacket() throws {
    let (packets, end, parser) = try readFile(hex(shbLE + idbLEEthernet + epbLE))
    #expect(end == .finished)
    #expect(parser.format == .pcapng)
    #expect(parser.sections.count == 1)
    #expect(parser.sections[0].version == (1, 0))
    // 4_294_967_298 µs = 4_294_967_298_000 ns.
    #expect(packets == [ReadPacket(bytes: [1, 2, 3], originalLength: 3, timestamp: 4_294_967_298_000)])
}

@Test func pcapngBigEndianWithResolutionOffsetAndComment() throws {
    // SHB big-endian, length 40, with option opt_comment (1) "hi" (2 bytes + 2 pad) and opt_endofopt.
    let shb = "0a0d0d0a 00000028 1a2b3c4d 0001 0000 ffffffffffffffff 0001 0002 68690000 0000 0000 00000028"
    // IDB big-endian: link type 101 (raw IP), snaplen 1500 (0x5dc), options: if_name (2) "lo" padded,
    // if_tsresol (9) = 0x09 (10^-9, ns) padded, if_tsoffset (14) = 10 s, endofopt. Length 52.
    let idb = "00000001 00000034 0065 0000 000005dc 0002 0002 6c6f0000 0009 0001 09000000"
        + " 000e 0008 000000000000000a 0000 0000 00000034"
    // EPB big-endian: interface 0, ticks 0x00000000_3b9aca05 = 1_000_000_005 ns, captured 1, original 1,
    // data 45 + 3 pad, options: opt_comment "x" + pad, endofopt; length 48.
    let epb = "00000006 00000030 00000000 00000000 3b9aca05 00000001 00000001 45000000"
        + " 0001 0001 78000000 0000 0000 00000030"
    let (packets, end, parser) = try readFile(hex(shb + idb + epb))
    #expect(end == .finished)
    #expect(parser.sections[0].bigEndian)
    #expect(parser.sections[0].comments == ["hi"])
    #expect(parser.interfaces[0].name == "lo")
    #expect(parser.interfaces[0].snaplen == 1500)
    #expect(parser.interfaces[0].ticksPerSecond == 1_000_000_000)
    #expect(parser.otherBlocks.packetComments == 1)
    // 1_000_000_005 ns + 10 s offset.
    #expect(packets == [ReadPacket(bytes: [0x45], originalLength: 1, timestamp: 11_000_000_005, linkType: .raw)])
}

@Test func pcapngBinaryTimestampResolution() throws {
    // IDB with if_tsresol 0x94 = 2^-20 s per tick. Length 28.
    let idb = "01000000 1c000000 0100 0000 00000000 0900 0100 94000000 1c000000"
    // ticks = 0x00000000_00180000 = 1.5 * 2^20 -> 1.5 s.
    let epb = "06000000 24000000 00000000 00000000 00001800 01000000 01000000 aa000000 24000000"
    let (packets, end, parser) = try readFile(hex(shbLE + idb + epb))
    #expect(end == .finished)
    #expect(parser.interfaces[0].ticksPerSecond == 1 << 20)
    #expect(packets.map(\.timestamp) == [1_500_000_000])
}

@Test func pcapngSimpleAndObsoletePacketBlocks() throws {
    // IDB with snaplen 2: the SPB's captured length is min(original 3, room 4, snaplen 2) = 2.
    let idb = "01000000 14000000 0100 0000 02000000 14000000"
    // SPB: type 3, length 20, original length 3, data 0a0b0c + pad, length 20.
    let spb = "03000000 14000000 03000000 0a0b0c00 14000000"
    // PB: type 2, length 36, interface 0 (u16), drops 0, ticks 0/5 µs, captured 1, original 1, data.
    let pb = "02000000 24000000 0000 0000 00000000 05000000 01000000 01000000 ee000000 24000000"
    let (packets, end, _) = try readFile(hex(shbLE + idb + pb + spb))
    #expect(end == .finished)
    #expect(packets == [
        ReadPacket(bytes: [0xee], originalLength: 1, timestamp: 5_000),
        // No time of its own: it carries the previous packet's.
        ReadPacket(bytes: [0x0a, 0x0b], originalLength: 3, timestamp: 5_000, hasTimestamp: false),
    ])
}

@Test func pcapngSectionsOfEitherByteOrderNumberInterfacesAcrossTheFile() throws {
    let shbBE = "0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c"
    // Big-endian IDB: link type 0 (null), snaplen 0.
    let idbBE = "00000001 00000014 0000 0000 00000000 00000014"
    // Big-endian EPB on the section's interface 0, ticks 7, one byte.
    let epbBE = "00000006 00000024 00000000 00000000 00000007 00000001 00000001 02000000 00000024"
    let (packets, end, parser) = try readFile(hex(shbLE + idbLEEthernet + epbLE + shbBE + idbBE + epbBE))
    #expect(end == .finished)
    #expect(parser.sections.map(\.bigEndian) == [false, true])
    #expect(parser.interfaces.map(\.linkType) == [.ethernet, .null])
    #expect(parser.interfaces.map(\.section) == [0, 1])
    #expect(packets.map(\.interface) == [0, 1])
    #expect(packets.map(\.linkType) == [.ethernet, .null])
    #expect(packets[1].timestamp == 7_000)
}

@Test func pcapngSkipsOtherBlocksAndKeepsStatistics() throws {
    // Name Resolution Block: type 4, length 16, record nrb_record_end (0, 0), length 16.
    let nrb = "04000000 10000000 00000000 10000000"
    // Custom Block: type 0x00000bad, length 16, PEN 32473, length 16.
    let cb = "ad0b0000 10000000 597e0000 10000000"
    // Unknown block type 0x99, length 12.
    let unknown = "99000000 0c000000 0c000000"
    // ISB: interface 0, timestamp 0/0, isb_ifdrop (5) = 3, endofopt. Length 40.
    let isb = "05000000 28000000 00000000 00000000 00000000 0500 0800 0300000000000000 0000 0000 28000000"
    let (packets, end, parser) = try readFile(hex(shbLE + idbLEEthernet + nrb + cb + unknown + epbLE + isb))
    #expect(end == .finished)
    #expect(packets.count == 1)
    #expect(parser.otherBlocks.nameResolution == 1)
    #expect(parser.otherBlocks.custom == 1)
    #expect(parser.otherBlocks.unknown == 1)
    #expect(parser.interfaces[0].statistics?.droppedByInterface == 3)
}

@Test(arguments: [
    // Block length 0: would never advance.
    ("06000000 00000000 00000000", CaptureDamage.Kind.badBlockLength(0)),
    // Block length 13: not a multiple of 4.
    ("06000000 0d000000 00000000 00", .badBlockLength(13)),
    // Trailing length 16 where the leading one says 12.
    ("99000000 0c000000 10000000", .blockLengthMismatch(leading: 12, trailing: 16)),
    // EPB whose captured length 100 exceeds the 4 bytes of room in a 36-byte block.
    ("06000000 24000000 00000000 00000000 00000000 64000000 64000000 01020300 24000000",
     .packetPastBlock(capturedLength: 100, room: 4)),
    // EPB on interface 5 of a section that described one interface.
    ("06000000 24000000 05000000 00000000 00000000 01000000 01000000 01000000 24000000", .unknownInterface(5)),
])
func pcapngDamageStopsAfterTheGoodPackets(block: String, kind: CaptureDamage.Kind) throws {
    let good = hex(shbLE + idbLEEthernet + epbLE)
    let (packets, end, _) = try readFile(good + hex(block))
    #expect(packets.count == 1)
    #expect(end == .damaged(CaptureDamage(kind: kind, offset: good.count, packetsRead: 1)))
}

@Test func pcapngBlockPastEndOfFile() throws {
    let good = hex(shbLE + idbLEEthernet)
    let (packets, end, _) = try readFile(good + hex(epbLE).prefix(20))
    #expect(packets.isEmpty)
    #expect(end == .damaged(CaptureDamage(kind: .cutShort(needed: 36, available: 20), offset: good.count, packetsRead: 0)))
}

// MARK: - Streams

/// Whatever way a stream splits the bytes, the parser delivers the same packets as the mapped file.
@Test(arguments: [[1], [3, 7], [17], [64], [1000]])
func chunkedInputGivesTheSamePackets(chunks: [Int]) throws {
    for capture in [pcapLEHeader + pcapLERecord1 + pcapLERecord2, shbLE + idbLEEthernet + epbLE + epbLE] {
        let bytes = hex(capture)
        let whole = try readFile(bytes)
        let streamed = readChunked(bytes, chunks: chunks)
        #expect(streamed.packets == whole.packets)
        #expect(streamed.outcome == .finished)
        let cut = readChunked(Array(bytes.dropLast(1)), chunks: chunks)
        #expect(cut.packets.count == whole.packets.count - 1)
        guard case .damaged = cut.outcome else { Issue.record("cut stream should be damaged"); continue }
    }
}

@Test func standardInputThroughAPipe() throws {
    let bytes = hex(pcapLEHeader + pcapLERecord1 + pcapLERecord2)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let writeEnd = fds[1]
    let writer = Thread {
        bytes.withUnsafeBytes { raw in
            for byte in 0..<raw.count { _ = write(writeEnd, raw.baseAddress! + byte, 1) }  // one byte at a time
        }
        close(writeEnd)
    }
    writer.start()
    let saved = dup(0)
    dup2(fds[0], 0)
    defer { dup2(saved, 0); close(saved); close(fds[0]) }
    var reader = try CaptureReader(path: "-")
    var packets: [ReadPacket] = []
    let end = reader.forEachPacket { packets.append(copy($0)) }
    #expect(end == .finished)
    #expect(packets.map(\.bytes) == [[0xde, 0xad, 0xbe, 0xef], [1, 2]])
}

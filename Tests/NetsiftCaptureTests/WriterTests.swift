import Foundation
import Testing
import NetsiftTestSupport
@testable import NetsiftCapture

// MARK: - Helpers

/// A fresh path in the temporary directory, removed by the caller.
func temporaryPath(_ suffix: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("netsift-\(UUID().uuidString).\(suffix)").path
}

/// Every packet of `path` (copied out), how reading ended, and the parser at the end.
func readAll(_ path: String) throws -> (packets: [ReadPacket], end: CaptureReader.End, parser: CaptureParser) {
    var reader = try CaptureReader(path: path)
    var packets: [ReadPacket] = []
    let end = reader.forEachPacket { packets.append(copy($0)) }
    return (packets, end, reader.parser)
}

/// Copies the frames of `input` that `keep` selects (by index from 0) into `output`, as the input.
@discardableResult
func copyFrames(of input: String, to output: String, keep: (Int) -> Bool = { _ in true }) throws -> CaptureWriter {
    var reader = try CaptureReader(path: input)
    let writer = try CaptureWriter(path: output, like: &reader)
    var index = 0
    _ = reader.forEachPacket { packet, interfaces in
        if keep(index) { writer.write(packet, from: interfaces) }
        index += 1
    }
    writer.close()
    return writer
}

/// What an interface says, less the section it was in (the output has one section).
func described(_ interface: InterfaceDescription) -> InterfaceDescription {
    var interface = interface
    interface.section = 0
    interface.statistics = nil
    return interface
}

/// Blocks of a pcapng file, in either byte order, with the options the writer must carry over.
struct PcapngBuilder {
    var bigEndian = false
    var bytes: [UInt8] = []

    func u16(_ value: UInt16) -> [UInt8] { bigEndian ? Build.be16(value) : Build.le16(value) }
    func u32(_ value: UInt32) -> [UInt8] { bigEndian ? Build.be32(value) : Build.le32(value) }
    func u64(_ value: UInt64) -> [UInt8] { u32(UInt32(value >> 32)) + u32(UInt32(value & 0xFFFF_FFFF)) }

    func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }

    func option(_ code: UInt16, _ value: [UInt8]) -> [UInt8] { u16(code) + u16(UInt16(value.count)) + padded(value) }

    mutating func block(_ type: UInt32, _ body: [UInt8]) {
        let length = UInt32(12 + body.count)
        bytes += u32(type) + u32(length) + body + u32(length)
    }

    mutating func section(bigEndian: Bool) {
        self.bigEndian = bigEndian
        block(0x0A0D_0D0A, u32(0x1A2B_3C4D) + u16(1) + u16(0) + u64(.max))
    }

    mutating func interface(_ linkType: UInt16, snaplen: UInt32 = 0, name: String? = nil, description: String? = nil,
                            resolution: UInt8? = nil, offset: Int64? = nil, fcs: UInt8? = nil) {
        var options: [UInt8] = []
        if let name { options += option(2, Array(name.utf8)) }
        if let description { options += option(3, Array(description.utf8)) }
        if let resolution { options += option(9, [resolution]) }
        if let fcs { options += option(13, [fcs]) }
        if let offset { options += option(14, u64(UInt64(bitPattern: offset))) }
        if !options.isEmpty { options += u32(0) }
        block(1, u16(linkType) + u16(0) + u32(snaplen) + options)
    }

    mutating func enhanced(_ frame: [UInt8], interface: UInt32, ticks: UInt64, original: Int? = nil) {
        block(6, u32(interface) + u32(UInt32(ticks >> 32)) + u32(UInt32(ticks & 0xFFFF_FFFF))
              + u32(UInt32(frame.count)) + u32(UInt32(original ?? frame.count)) + padded(frame))
    }

    mutating func simple(_ frame: [UInt8], original: Int? = nil) {
        block(3, u32(UInt32(original ?? frame.count)) + padded(frame))
    }
}

/// A frame whose bytes say which one it is.
func frame(_ number: UInt8, length: Int = 17) -> [UInt8] { [UInt8](repeating: number, count: length) }

// MARK: - Round trips over every capture

@Suite struct WriterRoundTripTests {
    /// Every capture of Fixtures/ and ../shared/captures: written whole and as every third frame, in
    /// one pass, then read back. The corpus part is skipped (and said) when the folder is absent.
    @Test(arguments: Corpus.fixturesAndCaptures)
    func everyCaptureRoundTrips(path: String) throws {
        let original = try readAll(path)
        let (whole, third) = (temporaryPath("whole"), temporaryPath("third"))
        defer {
            try? FileManager.default.removeItem(atPath: whole)
            try? FileManager.default.removeItem(atPath: third)
        }
        var reader = try CaptureReader(path: path)
        if case .rejected(let error) = original.end {
            #expect(throws: error) { try CaptureWriter(path: whole, like: &reader) }
            return
        }
        let all = try CaptureWriter(path: whole, like: &reader)
        let some = try CaptureWriter(path: third, like: &reader)
        var index = 0
        _ = reader.forEachPacket { packet, interfaces in
            all.write(packet, from: interfaces)
            if index % 3 == 0 { some.write(packet, from: interfaces) }
            index += 1
        }
        all.close()
        some.close()
        #expect(all.failure == nil && some.failure == nil)
        #expect(all.packetsWritten == original.packets.count && all.packetsSkipped == 0)

        let copied = try readAll(whole)
        #expect(copied.end == .finished)
        switch original.parser.format {
        case .pcap(let nanosecond, _): #expect(copied.parser.format == .pcap(nanosecond: nanosecond, modified: false))
        default: #expect(copied.parser.format == .pcapng)
        }
        #expect(copied.parser.sections.count == 1)
        #expect(copied.packets.count == original.packets.count)
        for (read, written) in zip(original.packets, copied.packets) {
            var expected = read
            expected.interface = written.interface   // renumbered; what it describes is checked below
            // A Simple Packet Block belongs to interface 0: one from a later section's interface is
            // written as an Enhanced Packet Block, with the time the reader gave it.
            if !read.hasTimestamp && written.interface != 0 { expected.hasTimestamp = true }
            #expect(written == expected)
            #expect(described(copied.parser.interfaces[written.interface])
                    == described(original.parser.interfaces[read.interface]))
        }

        let selected = try readAll(third)
        #expect(selected.end == .finished)
        let expected = original.packets.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        #expect(selected.packets.count == expected.count)
        for (read, written) in zip(expected, selected.packets) {
            #expect(written.bytes == read.bytes)
            #expect(written.originalLength == read.originalLength)
            #expect(written.linkType == read.linkType)
            // A packet without a time of its own takes the previous packet's, which a selection changes.
            if read.hasTimestamp { #expect(written.timestamp == read.timestamp && written.hasTimestamp) }
        }
    }

    @Test func corpusPresenceIsSaid() {
        if Corpus.directory == nil { print("⚠︎ \(Corpus.missingMessage): writer round trips cover Fixtures/ only") }
        #expect(Corpus.fixturesAndCaptures.contains { $0.hasSuffix(".pcapng") })
    }
}

// MARK: - Classic pcap

@Suite struct PcapWriterTests {
    @Test func microsecondPcapStaysMicrosecondAndLittleEndian() throws {
        // Big-endian µs input; snaplen 65535, Ethernet.
        let input = try Build.file(hex("a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001")
            + hex("5f5e1000 0001e240 00000004 0000003c deadbeef")
            + hex("5f5e1001 00000000 00000002 00000002 0102"))
        let output = temporaryPath("pcap")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }
        try copyFrames(of: input.path, to: output)
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(written == hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000")
            + hex("00105e5f 40e20100 04000000 3c000000 deadbeef")
            + hex("01105e5f 00000000 02000000 02000000 0102"))
    }

    @Test func nanosecondPcapKeepsNanosecondsAndTheFCSBits() throws {
        // Little-endian ns input; snaplen 262144; Linux SLL with FCS length 2 words (P bit set).
        let input = try Build.file(hex("4d3cb2a1 0200 0400 00000000 00000000 00000400 71000024")
            + hex("00105e5f 15cd5b07 03000000 03000000 aabbcc"))
        let output = temporaryPath("pcap")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }
        try copyFrames(of: input.path, to: output)
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(written == hex("4d3cb2a1 0200 0400 00000000 00000000 00000400 71000024")
            + hex("00105e5f 15cd5b07 03000000 03000000 aabbcc"))
        let copied = try readAll(output)
        #expect(copied.parser.interfaces[0].fcsLength == 4)
        #expect(copied.packets.first?.timestamp == 1_600_000_000_123_456_789)
    }

    @Test func modifiedPcapBecomesMicrosecondPcap() throws {
        // Kuznetsov's format: 24-byte records (ifindex, protocol, packet type, padding after the usual 16).
        let input = try Build.file(hex("34cdb2a1 0200 0400 00000000 00000000 ffff0000 01000000")
            + hex("00105e5f 40e20100 02000000 02000000 01000000 0008 04 00 0102"))
        let output = temporaryPath("pcap")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }
        try copyFrames(of: input.path, to: output)
        let copied = try readAll(output)
        #expect(copied.parser.format == .pcap(nanosecond: false, modified: false))
        #expect(copied.packets == [ReadPacket(bytes: [1, 2], originalLength: 2, timestamp: 1_600_000_000_123_456_000)])
    }

    /// `netsift live --write`: nanosecond pcap of one link type, as PcapWriter wrote it.
    @Test func liveWriterWritesNanosecondPcap() throws {
        let output = temporaryPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let writer = try CaptureWriter(path: output, linkType: .ethernet, snaplen: 262_144)
        let bytes: [UInt8] = [1, 2, 3]
        bytes.withUnsafeBytes { raw in
            writer.write(CapturedPacket(bytes: raw.bytes, originalLength: 60, timestamp: -1, interface: 0,
                                        linkType: .ethernet))
            writer.write(CapturedPacket(bytes: raw.bytes, originalLength: 3, timestamp: 0, interface: 0, linkType: .raw))
        }
        writer.close()
        #expect(writer.packetsWritten == 1 && writer.packetsSkipped == 1)
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        // One nanosecond before the epoch: second -1 (0xffffffff), 999,999,999 ns.
        #expect(written == hex("4d3cb2a1 0200 0400 00000000 00000000 00000400 01000000")
            + hex("ffffffff ffc99a3b 03000000 3c000000 010203"))
    }

    /// A packet larger than the writer's buffer goes straight to the file, in order.
    @Test func packetLargerThanTheBuffer() throws {
        let output = temporaryPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let big = (0..<(CaptureWriter.bufferLength + 1_000)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let writer = try CaptureWriter(path: output, linkType: .ethernet, snaplen: big.count)
        for (index, bytes) in [[9, 9], big, [7]].enumerated() {
            bytes.withUnsafeBytes { raw in
                writer.write(CapturedPacket(bytes: raw.bytes, originalLength: bytes.count, timestamp: Int64(index),
                                            interface: 0, linkType: .ethernet))
            }
        }
        writer.close()
        let copied = try readAll(output)
        #expect(copied.end == .finished)
        #expect(copied.packets.map(\.bytes) == [[9, 9], big, [7]])
        #expect(copied.packets.map(\.timestamp) == [0, 1, 2])
    }
}

// MARK: - pcapng

@Suite struct PcapngWriterTests {
    /// Two sections (little- then big-endian), four interfaces of three link types: the output has
    /// one section and only the interfaces used, numbered in the order of first use, each described
    /// as in the input; every packet keeps its interface's link type, name and time.
    @Test func interfacesOfSeveralSectionsMapDensely() throws {
        var file = PcapngBuilder()
        file.section(bigEndian: false)
        file.interface(1, snaplen: 1514, name: "eth0")                                       // input 0
        file.interface(101, snaplen: 65535, name: "tun0", resolution: 9)                     // input 1 (unused)
        file.enhanced(frame(1), interface: 0, ticks: 1_600_000_000_000_001)
        file.section(bigEndian: true)
        file.interface(113, snaplen: 262_144, name: "any", resolution: 0x94, offset: 1_600_000_000)  // input 2
        file.interface(1, snaplen: 9000, description: "uplink", fcs: 4)                      // input 3
        file.enhanced(frame(2), interface: 1, ticks: 5_000_000)
        file.enhanced(frame(3), interface: 0, ticks: 3 << 20 | 12_345)
        file.enhanced(frame(4), interface: 1, ticks: 5_000_001)
        let input = try Build.file(file.bytes, suffix: "pcapng")
        let output = temporaryPath("pcapng")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }

        let original = try readAll(input.path)
        #expect(original.end == .finished && original.packets.count == 4)
        // Frames 2, 3 and 4 only: interfaces 3 then 2 are used, interface 0 and 1 are not.
        try copyFrames(of: input.path, to: output) { $0 >= 1 }
        let copied = try readAll(output)
        #expect(copied.end == .finished)
        #expect(copied.parser.sections.count == 1 && copied.parser.sections[0].application == "Netsift")
        #expect(copied.parser.interfaces.map(described) == [3, 2].map { described(original.parser.interfaces[$0]) })
        #expect(copied.packets.map(\.interface) == [0, 1, 0])
        #expect(copied.packets.map(\.bytes) == [frame(2), frame(3), frame(4)])
        #expect(copied.packets.map(\.linkType) == [.ethernet, .linuxSLL, .ethernet])
        #expect(copied.packets.map(\.timestamp) == original.packets[1...].map(\.timestamp))
        #expect(copied.parser.interfaces[1].ticksPerSecond == 1 << 20)
        #expect(copied.parser.interfaces[1].timestampOffset == 1_600_000_000)
        #expect(copied.parser.interfaces[0].fcsLength == 4)
    }

    /// Decimal resolutions coarser and finer than nanoseconds, binary ones both ways, and an
    /// offset: every time reads back exactly.
    @Test(arguments: [(UInt8(3), Int64(0)), (6, -3_600), (9, 0), (12, 0), (0x8A, 0), (0x94, 7), (0xA0, 0), (0xBF, 0)])
    func timestampsAreExactForEveryResolution(resolution: UInt8, offset: Int64) throws {
        var file = PcapngBuilder()
        file.section(bigEndian: false)
        file.interface(1, resolution: resolution, offset: offset)
        // Each within the times nanoseconds since 1970 can hold, at every resolution here.
        let ticks: [UInt64] = [0, 1, 999, 1_000_000_007, 1_700_000_000_123, 1 << 40 | 3]
        for (index, tick) in ticks.enumerated() { file.enhanced(frame(UInt8(index)), interface: 0, ticks: tick) }
        let input = try Build.file(file.bytes, suffix: "pcapng")
        let output = temporaryPath("pcapng")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }
        try copyFrames(of: input.path, to: output)
        let original = try readAll(input.path)
        let copied = try readAll(output)
        #expect(copied.packets.map(\.timestamp) == original.packets.map(\.timestamp))
        #expect(copied.parser.interfaces.map(described) == original.parser.interfaces.map(described))
        // The tick counts themselves are the input's where the resolution is nanoseconds or coarser.
        if TimestampScale(resolution: resolution, offsetSeconds: 0).ticksPerSecond <= 1_000_000_000 {
            // Both files end with the same Enhanced Packet Blocks, 52 bytes each for a 17-byte frame.
            let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
            #expect(Array(written.suffix(52 * ticks.count)) == Array(file.bytes.suffix(52 * ticks.count)))
        }
    }

    /// Simple Packet Blocks: written back as SPBs where they read back the same (so their packets
    /// still have no time of their own), as EPBs with the time they were given where not.
    @Test func simplePacketsStaySimpleWhereTheyCan() throws {
        var file = PcapngBuilder()
        file.section(bigEndian: true)
        file.interface(1, snaplen: 64, name: "eth0")
        file.interface(101, name: "tun0", resolution: 9)
        file.enhanced(frame(1), interface: 0, ticks: 5_000_000)
        file.simple(frame(2, length: 64), original: 100)   // cut by the snaplen
        file.simple(frame(3, length: 10))                  // 2 bytes of padding
        file.enhanced(frame(4), interface: 1, ticks: 9_000_000_000)
        file.simple(frame(5, length: 60))
        let input = try Build.file(file.bytes, suffix: "pcapng")
        let (whole, part) = (temporaryPath("pcapng"), temporaryPath("pcapng"))
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(atPath: whole)
            try? FileManager.default.removeItem(atPath: part)
        }
        let original = try readAll(input.path)
        #expect(original.packets.map(\.hasTimestamp) == [true, false, false, true, false])

        try copyFrames(of: input.path, to: whole)
        #expect(try readAll(whole).packets == original.packets)

        // From frame 4 on: tun0 becomes interface 0, so frame 5 (eth0's) cannot be an SPB.
        try copyFrames(of: input.path, to: part) { $0 >= 3 }
        let copied = try readAll(part)
        #expect(copied.packets.map(\.bytes) == [frame(4), frame(5, length: 60)])
        #expect(copied.packets.map(\.hasTimestamp) == [true, true])
        #expect(copied.packets.map(\.timestamp) == [original.packets[3].timestamp, original.packets[4].timestamp])
        #expect(copied.packets.map(\.linkType) == [.raw, .ethernet])
    }

    /// Without the parser, a pcapng writer describes each interface by its packets' link type.
    @Test func packetsWithoutTheirParserGetABareInterface() throws {
        var file = PcapngBuilder()
        file.section(bigEndian: false)
        let input = try Build.file(file.bytes, suffix: "pcapng")
        let output = temporaryPath("pcapng")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: output) }
        var reader = try CaptureReader(path: input.path)
        let writer = try CaptureWriter(path: output, like: &reader)
        [UInt8]([1, 2, 3]).withUnsafeBytes { raw in
            writer.write(CapturedPacket(bytes: raw.bytes, originalLength: 3, timestamp: 123_456_789_012, interface: 5,
                                        linkType: .ipv4))
        }
        writer.close()
        let copied = try readAll(output)
        #expect(copied.packets == [ReadPacket(bytes: [1, 2, 3], originalLength: 3, timestamp: 123_456_789_012,
                                              linkType: .ipv4)])
        #expect(copied.parser.interfaces.map(\.ticksPerSecond) == [1_000_000_000])
    }

    /// An empty selection is still a capture: the input's header (pcap) or a section (pcapng).
    @Test func nothingSelectedIsAnEmptyCapture() throws {
        for path in Corpus.fixturesAndCaptures.prefix(3) + [Corpus.fixturesDirectory.path + "/http-tcp-ns-pcapng/http-tcp-ns.pcapng"] {
            let output = temporaryPath("empty")
            defer { try? FileManager.default.removeItem(atPath: output) }
            try copyFrames(of: path, to: output) { _ in false }
            let copied = try readAll(output)
            #expect(copied.end == .finished && copied.packets.isEmpty)
            #expect(copied.parser.format != nil)
        }
    }
}

// MARK: - Errors and inputs

@Suite struct WriterErrorTests {
    let fixture = Corpus.fixturesDirectory.path + "/http-tcp/http-tcp.pcap"

    @Test func aDirectoryIsRefused() throws {
        var reader = try CaptureReader(path: fixture)
        let directory = FileManager.default.temporaryDirectory.path
        let error = try #require(throws: CaptureError.self) { try CaptureWriter(path: directory, like: &reader) }
        #expect(error == CaptureError(path: directory, kind: .cannotWrite(errno: EISDIR, reason: "Is a directory")))
        #expect(error.description == "\(directory): cannot write: Is a directory")
    }

    @Test func aMissingDirectoryIsRefused() throws {
        let path = "/nonexistent-netsift-dir/out.pcap"
        let error = try #require(throws: CaptureError.self) {
            try CaptureWriter(path: path, linkType: .ethernet, snaplen: 65_535)
        }
        #expect(error.description == "\(path): cannot write: No such file or directory")
    }

    @Test func noPermissionIsRefused() throws {
        guard geteuid() != 0 else {
            print("⚠︎ running as root, which may write anywhere: the no-permission case is not testable here")
            return
        }
        let directory = temporaryPath("ro")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o500])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = try #require(throws: CaptureError.self) {
            try CaptureWriter(path: directory + "/out.pcap", linkType: .ethernet, snaplen: 65_535)
        }
        #expect(error.kind == .cannotWrite(errno: EACCES, reason: "Permission denied"))
    }

    /// The capture being read, under its own name or another link to it, is never truncated.
    @Test func theInputIsNotOverwritten() throws {
        let input = try Build.file(try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture))))
        let link = temporaryPath("pcap")
        try FileManager.default.linkItem(atPath: input.path, toPath: link)
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(atPath: link) }
        let size = try FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int
        for output in [input.path, link] {
            var reader = try CaptureReader(path: input.path)
            #expect(throws: CaptureError(path: output, kind: .overwritesInput)) {
                try CaptureWriter(path: output, like: &reader)
            }
        }
        #expect(try FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int == size)
        #expect(try readAll(input.path).end == .finished)
    }

    /// Disk full: the writer goes on without writing, and says why.
    @Test func aFullDiskIsReported() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let writer = try copyFrames(of: fixture, to: "/dev/full")
        #expect(writer.failure?.errno == ENOSPC)
        #expect(writer.error?.description == "/dev/full: cannot write: No space left on device")
    }

    @Test func notACaptureIsTheInputsError() throws {
        let input = try Build.file(Array("hello, world\n".utf8))
        defer { try? FileManager.default.removeItem(at: input) }
        var reader = try CaptureReader(path: input.path)
        let output = temporaryPath("pcap")
        let error = try #require(throws: CaptureError.self) { try CaptureWriter(path: output, like: &reader) }
        #expect(error.path == input.path)
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// From a FIFO (read through the stream buffer): the header is read before the first packet,
    /// and the packets that follow are all there.
    @Test func aStreamInputIsCopied() throws {
        let fifo = temporaryPath("fifo")
        let output = temporaryPath("pcap")
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: fifo); try? FileManager.default.removeItem(atPath: output) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let feeder = Thread { try? bytes.write(to: URL(fileURLWithPath: fifo)) }
        feeder.start()
        var reader = try CaptureReader(path: fifo)
        let mapped = reader.isMappedFile
        #expect(!mapped)
        let writer = try CaptureWriter(path: output, like: &reader)
        _ = reader.forEachPacket { packet, interfaces in writer.write(packet, from: interfaces) }
        writer.close()
        #expect(try readAll(output).packets == readAll(fixture).packets)
    }
}

// MARK: - Wireshark's reading of what we write

/// The files we write, read by Wireshark's own tools: the same packets, lengths and times.
/// Runs when tshark is on PATH (Debian's `tshark` package); says so and passes when it is not.
@Suite struct WriterWiresharkTests {
    static let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static let captures: [String] = {
        let fixtures = Corpus.fixturesDirectory.path
        return [fixtures + "/http-tcp/http-tcp.pcap", fixtures + "/http-tcp-ns-pcapng/http-tcp-ns.pcapng"]
            + ["pcap-be-us-nfs3.pcap", "pcap-le-ns-sll-tcp-handshake.pcap", "pcapng-be-spb.pcapng",
               "pcapng-be-two-idb-linktypes.pcapng", "pcapng-mixed-endian-sections.pcapng",
               "pcapng-multi-interface.pcapng"].compactMap(Corpus.path)
    }()

    @Test(arguments: captures)
    func tsharkReadsWhatWeWrite(path: String) throws {
        guard let tshark = Self.tshark else {
            print("⚠︎ tshark not found: Wireshark cross-check of written captures skipped")
            return
        }
        let output = temporaryPath((path as NSString).pathExtension)
        defer { try? FileManager.default.removeItem(atPath: output) }
        try copyFrames(of: path, to: output) { $0 % 3 == 0 }
        // tshark shows no time for a packet that has none of its own (a Simple Packet Block).
        let expected = try readAll(output).packets.map { packet in
            let (seconds, nanoseconds) = TimestampScale.floorDivide(packet.timestamp, by: 1_000_000_000)
            let fraction = String(nanoseconds)
            let time = packet.hasTimestamp ? "\(seconds).\(String(repeating: "0", count: 9 - fraction.count) + fraction)" : ""
            return "\(time)\t\(packet.bytes.count)\t\(packet.originalLength)"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark)
        process.arguments = ["-n", "-r", output, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.cap_len",
                             "-e", "frame.len"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.split(separator: "\n").map(String.init) == expected)
    }
}

import CPcap

/// The one parser behind every input: it walks pcap records or pcapng blocks in a window of bytes and
/// hands out each packet as a view into that window. The window is the next stretch of a mapped file
/// or the filled part of a stream buffer; whoever feeds it only has to supply more bytes when asked.
///
/// The parser keeps no bytes of its own. Its state is the format, the byte order and the interface
/// table, all small, so memory does not grow with the file.
public struct CaptureParser: Sendable {
    /// What the parser needs next, or why it stopped.
    public enum Outcome: Sendable, Equatable {
        /// Call again with a window of at least this many bytes starting at the new `bytesConsumed`.
        case needMore(Int)
        /// The input ended cleanly on a record boundary.
        case finished
        /// The input is damaged at some point; every packet before it was delivered.
        case damaged(CaptureDamage)
        /// The first bytes are not a capture we can read.
        case rejected(CaptureError.Kind)
        /// Stopped before a packet later than the limit given to `parse(_:isFinal:until:_:)`, left
        /// unread; the packet's time. (Merging several files packet by packet reads each up to the
        /// next packet of the others.)
        case reached(Int64)
    }

    @usableFromInline enum Stage: Sendable { case fileHeader, pcapRecords, pcapngBlocks }

    /// No packet record in classic pcap may claim more than this (Wireshark's limit too), unless the
    /// file's snaplen asks for more, up to `maximumRecordLength`.
    public static let standardMaximumPacket = 262_144
    /// Bytes one record or block may span. Bounds the stream buffer and rejects absurd lengths.
    public static let maximumRecordLength = 64 << 20
    /// pcapng sections and interfaces described in one file (all kept, for `info`), the comments
    /// kept per section and the bytes kept of each text option (a name, a comment): far more than
    /// any capture tool writes, and few enough that a file of nothing but such blocks cannot grow
    /// the parser's state without bound (at most about 100 MiB of it).
    public static let maximumSections = 4_096
    public static let maximumInterfaces = 16_384
    public static let maximumCommentsPerSection = 16
    public static let maximumOptionText = 1_024

    @usableFromInline var stage: Stage = .fileHeader
    @usableFromInline var bigEndian = false
    /// Classic pcap: bytes in a record header (16, or 24 for the modified format).
    @usableFromInline var recordHeaderLength = 16
    @usableFromInline var maximumCapturedLength = CaptureParser.standardMaximumPacket
    /// pcapng: index in `interfaces` of the current section's interface 0.
    @usableFromInline var sectionBase = 0
    /// The last packet's time, given to packets whose record has none.
    @usableFromInline var lastTimestamp: Int64 = 0
    /// Parallel to `interfaces`: how to turn each interface's ticks into nanoseconds.
    @usableFromInline var scales: [TimestampScale] = []

    public internal(set) var format: CaptureFormat?
    public internal(set) var sections: [CaptureSection] = []
    public internal(set) var interfaces: [InterfaceDescription] = []
    /// Blocks that held no packet, by kind.
    public var otherBlocks: OtherBlockCounts { _otherBlocks }
    /// Packets delivered so far.
    public var packetsRead: Int { _packetsRead }
    /// Absolute offset in the input of the first byte not yet consumed: the next window starts here.
    public var bytesConsumed: Int { _bytesConsumed }
    // Written from inlinable code, which cannot reach an internal setter of a public property.
    @usableFromInline var _otherBlocks = OtherBlockCounts()
    @usableFromInline var _packetsRead = 0
    @usableFromInline var _bytesConsumed = 0

    public init() {}

    /// Walks as many whole records as `window` holds (it must start at `bytesConsumed`), calling
    /// `body` with each packet. `isFinal` says no more bytes will follow the window.
    @inlinable
    public mutating func parse<E: Error>(
        _ window: RawSpan, isFinal: Bool, _ body: (CapturedPacket) throws(E) -> Void
    ) throws(E) -> Outcome {
        try parse(window, isFinal: isFinal) { (packet, _) throws(E) in try body(packet) }
    }

    /// `parse` that also hands `body` every interface described so far, which the packet's
    /// `interface` indexes (what a `CaptureWriter` needs to describe the packet's interface in its
    /// own file). Only the array is passed, never the parser: passing `self` from this mutating
    /// method would copy the whole parser for every packet.
    @inlinable
    public mutating func parse<E: Error>(
        _ window: RawSpan, isFinal: Bool, _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> Outcome {
        try parse(window, isFinal: isFinal, until: .max, body)
    }

    /// `parse` that stops before the first packet whose time is after `limit` (`.reached`), leaving
    /// it unread: the next call starts with it.
    @inlinable
    public mutating func parse<E: Error>(
        _ window: RawSpan, isFinal: Bool, until limit: Int64,
        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> Outcome {
        var offset = 0
        if stage == .fileHeader {
            switch readFileHeader(window, isFinal: isFinal) {
            case .success(let length): offset = length
            case .failure(let outcome): return outcome
            }
        }
        defer { _bytesConsumed += offset }
        if stage == .pcapRecords {
            return try parsePcapRecords(window, isFinal: isFinal, offset: &offset, until: limit, body)
        }
        return try parsePcapngBlocks(window, isFinal: isFinal, offset: &offset, until: limit, body)
    }

    /// Starts loading the cache lines of the record at `offset`: its header and the first 80 bytes
    /// of its packet (Ethernet, IPv4 and TCP with timestamps). Called as soon as the record before
    /// it is known, so that the load runs while that one is dissected and followed: after a large
    /// packet the next record is too far for the CPU's own prefetcher to guess, and its first
    /// read would wait on memory (on the 2 GB capture, 16% of the time).
    @inlinable
    static func prefetchRecord(_ window: RawSpan, at offset: Int, headerLength: Int) {
        let last = min(offset + headerLength + 80, window.byteCount) - 1
        guard offset <= last else { return }
        // Three addresses at most 64 bytes apart touch every line of a span of 128 bytes or less.
        window.withUnsafeBytes { bytes in
            netsift_prefetch(bytes.baseAddress! + offset)
            netsift_prefetch(bytes.baseAddress! + (offset + last) / 2)
            netsift_prefetch(bytes.baseAddress! + last)
        }
    }

    /// Reads the file header alone (classic pcap), or recognises a pcapng file by its first block's
    /// type, so that `format` (and for classic pcap the one interface) is known before any packet is
    /// parsed. `.finished` means the header is read (or was already); the next `parse` goes on from
    /// there. Otherwise `.needMore` or `.rejected`, as `parse` would say.
    public mutating func parseFileHeader(_ window: RawSpan, isFinal: Bool) -> Outcome {
        guard stage == .fileHeader else { return .finished }
        switch readFileHeader(window, isFinal: isFinal) {
        case .success(let length):
            _bytesConsumed += length
            return .finished
        case .failure(let outcome):
            return outcome
        }
    }

    /// The outcome for a record that needs `needed` bytes where `available` remain.
    @inlinable
    func shortOutcome(needed: Int, available: Int, at offset: Int, isFinal: Bool) -> Outcome {
        if !isFinal { return .needMore(needed) }
        return .damaged(CaptureDamage(kind: .cutShort(needed: needed, available: available),
                                      offset: bytesConsumed + offset, packetsRead: packetsRead))
    }

    @inlinable
    func damage(_ kind: CaptureDamage.Kind, at offset: Int) -> Outcome {
        .damaged(CaptureDamage(kind: kind, offset: bytesConsumed + offset, packetsRead: packetsRead))
    }

    @usableFromInline enum HeaderResult { case success(Int), failure(Outcome) }

    /// Recognises the file by its first four bytes and reads the classic pcap file header; a pcapng
    /// file's first block is left to the block walker.
    /// A pcapng Section Header Block's type, as the first four bytes read little-endian.
    static let pcapngMagic: UInt32 = 0x0A0D_0D0A

    /// Whether a file's first four bytes (read little-endian) open a capture: pcapng, or pcap in
    /// either byte order with micro- or nanosecond times, or Kuznetzov's modified pcap.
    static func isCaptureMagic(_ magic: UInt32) -> Bool {
        switch magic {
        case pcapngMagic, 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0xA1B2_CD34, 0x34CD_B2A1: true
        default: false
        }
    }

    @usableFromInline
    mutating func readFileHeader(_ window: RawSpan, isFinal: Bool) -> HeaderResult {
        guard window.byteCount >= 4 else {
            if !isFinal { return .failure(.needMore(4)) }
            return .failure(.rejected(.notACapture(what: describeFirstBytes(window))))
        }
        let magic = window.le32(0)
        switch magic {
        case Self.pcapngMagic:
            format = .pcapng
            stage = .pcapngBlocks
            return .success(0)
        case _ where Self.isCaptureMagic(magic):
            break
        default:
            // The description shows the first 8 bytes: a stream that delivered fewer so far owes the rest.
            if window.byteCount < 8 && !isFinal { return .failure(.needMore(8)) }
            return .failure(.rejected(.notACapture(what: describeFirstBytes(window))))
        }
        guard window.byteCount >= 24 else {
            if !isFinal { return .failure(.needMore(24)) }
            return .failure(.rejected(.notACapture(
                what: "pcap magic but only \(window.byteCount) bytes, less than a 24-byte file header")))
        }
        bigEndian = magic == 0xD4C3_B2A1 || magic == 0x4D3C_B2A1 || magic == 0x34CD_B2A1
        let nanosecond = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
        let modified = magic == 0xA1B2_CD34 || magic == 0x34CD_B2A1
        let major = window.u16(4, bigEndian: bigEndian)
        let minor = window.u16(6, bigEndian: bigEndian)
        guard major == 2 else {
            return .failure(.rejected(.unsupported("pcap version \(major).\(minor) (only 2.x exists)")))
        }
        let snaplen = Int(window.u32(16, bigEndian: bigEndian))
        // The link-type word: low 16 bits the LINKTYPE_ value; bit 26 says bits 28-31 give the FCS
        // length in 16-bit words (the pcap spec's "FCS len" and "P" fields).
        let linkWord = window.u32(20, bigEndian: bigEndian)
        let fcsLength: Int? = linkWord & 0x0400_0000 != 0 ? Int(linkWord >> 28) * 2 : nil
        format = .pcap(nanosecond: nanosecond, modified: modified)
        recordHeaderLength = modified ? 24 : 16
        maximumCapturedLength = max(Self.standardMaximumPacket, min(snaplen, Self.maximumRecordLength))
        sections = [CaptureSection(bigEndian: bigEndian, version: (major, minor))]
        let scale: TimestampScale = nanosecond ? .nanoseconds : .microseconds
        interfaces = [InterfaceDescription(linkType: LinkType(rawValue: UInt16(truncatingIfNeeded: linkWord)),
                                           snaplen: snaplen, fcsLength: fcsLength,
                                           ticksPerSecond: scale.ticksPerSecond)]
        scales = [scale]
        stage = .pcapRecords
        return .success(24)
    }

    /// A one-line description of bytes that are not a capture, naming common look-alikes.
    func describeFirstBytes(_ window: RawSpan) -> String {
        let count = window.byteCount
        if count == 0 { return "it is empty" }
        let shown = min(count, 8)
        var bytes: [UInt8] = []
        for i in 0..<shown { bytes.append(window.u8(i)) }
        let hex = bytes.map { $0 < 16 ? "0\(String($0, radix: 16))" : String($0, radix: 16) }.joined(separator: " ")
        var kind: String? = nil
        if bytes.starts(with: [0x1F, 0x8B]) { kind = "gzip-compressed data (gunzip it first)" }
        else if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { kind = "zstd-compressed data (unzstd it first)" }
        else if bytes.starts(with: [0xFD, 0x37, 0x7A, 0x58]) { kind = "xz-compressed data (unxz it first)" }
        else if bytes.starts(with: [0x42, 0x5A, 0x68]) { kind = "bzip2-compressed data (bunzip2 it first)" }
        else if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { kind = "a zip archive" }
        else if bytes.starts(with: [0x7F, 0x45, 0x4C, 0x46]) { kind = "an ELF executable" }
        else if bytes.starts(with: Array("snoop".utf8)) { kind = "a Solaris snoop capture (convert it with editcap)" }
        else if bytes.starts(with: [0x58, 0x43, 0x50, 0x00]) { kind = "a NetMon capture (convert it with editcap)" }
        else if bytes.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) }) {
            let text = String(decoding: bytes, as: UTF8.self)
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
            kind = "text (\"\(text)\")"
        }
        let start = "starts with \(hex)" + (count < 8 ? " (only \(count) bytes)" : "")
        return kind.map { "\(start): \($0)" } ?? start
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

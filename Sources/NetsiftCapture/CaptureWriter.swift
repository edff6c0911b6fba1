#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes packets to a capture file: either "as the input" (`init(path:like:)`: classic pcap stays
/// classic pcap, pcapng stays pcapng, with the input's timestamp precision, link types, snaplens and
/// interface names), or as a classic pcap file of one link type (`init(path:linkType:snaplen:)`, for
/// live capture). Every number is written little-endian, whatever byte order the input had.
///
///     var reader = try CaptureReader(path: "capture.pcapng")
///     let copy = try CaptureWriter(path: "stream12.pcapng", like: &reader)
///     let end = reader.forEachPacket { packet, interfaces in
///         if selected(packet) { copy.write(packet, from: interfaces) }
///     }
///     copy.close()
///     if let error = copy.error { print(error) }
///
/// What is written:
/// - classic pcap: the input's magic (microseconds or nanoseconds; Kuznetsov's modified format
///   becomes plain microsecond pcap, its extra record fields being unknown to the reader), link type
///   with its FCS bits, and snaplen; each record with the packet's time, captured bytes and original
///   length.
/// - pcapng: one section (its application option says Netsift), then an Interface Description Block
///   for each input interface *that a written packet came from*, numbered from 0 in the order of
///   first use, whichever input section described it; each keeps the input's link type, snaplen,
///   `if_name`, `if_description`, `if_fcslen`, `if_tsresol` and `if_tsoffset`, so every time reads
///   back exactly (as the input's very tick count, at nanosecond resolution or coarser). Packets go
///   into Enhanced Packet Blocks. A packet that had no time of
///   its own (a Simple Packet Block, `hasTimestamp == false`) is written as a Simple Packet Block
///   again when that reads back the same (its interface is output interface 0 and its captured
///   length is what the block implies); otherwise as an Enhanced Packet Block with the time the
///   reader gave it (the previous packet's). Statistics, name resolution and comments are not
///   copied: they describe the input, not the selection.
///
/// Packets are buffered and written in large pieces; nothing is allocated per packet. A write
/// error (disk full, quota) does not stop the caller: it is kept in `failure` / `error`, the file
/// ends with what was written before it, and nothing more is written. The file is a complete
/// capture after `flush()` and `close()`; `deinit` closes it too.
public final class CaptureWriter {
    /// The file written, `-` for standard output.
    public let path: String
    /// What the file is: classic pcap (micro- or nanosecond) or pcapng.
    public let format: CaptureFormat
    /// Packets written so far.
    public internal(set) var packetsWritten = 0
    /// Packets that a classic pcap file cannot hold: their link type is not the file's.
    public internal(set) var packetsSkipped = 0
    /// The first write error (errno and its text), if any.
    public private(set) var failure: (errno: Int32, reason: String)?

    /// `failure` as an error naming the file, for callers that report every error the same way.
    public var error: CaptureError? {
        failure.map { CaptureError(path: path, kind: .cannotWrite(errno: $0.errno, reason: $0.reason)) }
    }

    private let descriptor: Int32
    /// False for standard output, which is flushed but left open.
    private let ownsDescriptor: Bool
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var closed = false
    /// Classic pcap: the file's one link type, and whether its fractions are nanoseconds. pcapng: unused.
    let pcapLinkType: LinkType
    let pcapNanosecond: Bool
    /// pcapng: the interfaces described so far, by input interface index.
    var interfaces = OutputInterfaces()

    /// Large enough that a syscall carries many packets, small enough that a writer per finding
    /// (`analyze --evidence`) costs little.
    static let bufferLength = 256 << 10

    /// Creates `path` (`-`: standard output) to hold packets of `input`, in the input's format. Reads
    /// the input's file header first if it has not been read (`CaptureReader.readFormat()`).
    /// - Throws: the input's error when it is not a capture; `.overwritesInput` when `path` is the
    ///   file being read (checked before it is truncated); `.cannotWrite` when `path` cannot be
    ///   created (no such directory, no permission, a directory).
    public convenience init(path: String, like input: inout CaptureReader) throws(CaptureError) {
        let inputFormat = try input.readFormat()
        try Self.refuseOverwriting(input: input.path, with: path)
        switch inputFormat {
        case .pcap(let nanosecond, _):
            let interface = input.parser.interfaces[0]
            try self.init(path: path, format: .pcap(nanosecond: nanosecond, modified: false),
                          pcapLinkType: interface.linkType)
            writePcapFileHeader(nanosecond: nanosecond, interface: interface)
        case .pcapng:
            try self.init(path: path, format: .pcapng, pcapLinkType: LinkType(rawValue: 0))
            writeSectionHeader()
        }
    }

    /// Creates `path` to hold packets of `set` (`CaptureSet.forEachPacket` hands out the interfaces
    /// `write(_:from:)` wants): one file's own format, or pcapng for several (whatever their formats
    /// and link types), with an interface for each input interface used.
    /// - Throws: as `init(path:like:)` for a reader, `.overwritesInput` for any of the files.
    public convenience init(path: String, like set: inout CaptureSet) throws(CaptureError) {
        if set.members.count == 1 {
            try self.init(path: path, like: &set.members[0].reader)
            return
        }
        for member in set.members { try Self.refuseOverwriting(input: member.path, with: path) }
        try self.init(path: path, format: .pcapng, pcapLinkType: LinkType(rawValue: 0))
        writeSectionHeader()
    }

    /// Creates `path` (`-`: standard output) as a classic pcap file of one link type, with
    /// nanosecond timestamps unless `nanosecond` is false: what `netsift live --write` records.
    /// - Throws: `.cannotWrite` when `path` cannot be created.
    public convenience init(path: String, linkType: LinkType, snaplen: Int, nanosecond: Bool = true)
        throws(CaptureError) {
        try self.init(path: path, format: .pcap(nanosecond: nanosecond, modified: false), pcapLinkType: linkType)
        writePcapFileHeader(nanosecond: nanosecond, interface: InterfaceDescription(linkType: linkType, snaplen: snaplen))
    }

    private init(path: String, format: CaptureFormat, pcapLinkType: LinkType) throws(CaptureError) {
        self.path = path
        self.format = format
        self.pcapLinkType = pcapLinkType
        pcapNanosecond = format == .pcap(nanosecond: true, modified: false)
        ownsDescriptor = path != "-"
        if path == "-" {
            descriptor = 1
        } else {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                let code = errno
                throw CaptureError(path: path, kind: .cannotWrite(errno: code, reason: String(cString: strerror(code))))
            }
        }
        buffer = .allocate(byteCount: Self.bufferLength, alignment: 8)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Throws when `output` names the same file as `input` (through any link): opening it for
    /// writing would truncate the capture while it is being read.
    private static func refuseOverwriting(input: String, with output: String) throws(CaptureError) {
        guard input != "-", output != "-" else { return }
        var read = stat(), written = stat()
        guard stat(input, &read) == 0, stat(output, &written) == 0 else { return }
        if read.st_dev == written.st_dev && read.st_ino == written.st_ino {
            throw CaptureError(path: output, kind: .overwritesInput)
        }
    }

    /// Writes `packet` as its input described it: `described` are the input's interfaces (the
    /// second argument of `CaptureReader.forEachPacket`), of which `packet.interface` is described
    /// in the output the first time it is used.
    public func write(_ packet: borrowing CapturedPacket, from described: [InterfaceDescription]) {
        guard !closed else { return }
        guard case .pcapng = format else { return writePcapRecord(packet) }
        let id = interfaces.outputID(ofInput: packet.interface) ?? describe(
            packet.interface < described.count ? described[packet.interface] : Self.bareInterface(of: packet),
            input: packet.interface)
        writePacketBlock(packet, interface: id)
    }

    /// Writes `packet` with no input description: into a classic pcap file as any packet; into a
    /// pcapng file with an interface described by the packet's link type alone (nanosecond
    /// timestamps, no snaplen) the first time its interface index is seen.
    public func write(_ packet: borrowing CapturedPacket) { write(packet, from: []) }

    /// An interface known only by a packet from it.
    private static func bareInterface(of packet: borrowing CapturedPacket) -> InterfaceDescription {
        InterfaceDescription(linkType: packet.linkType, snaplen: 0, ticksPerSecond: 1_000_000_000)
    }

    /// Writes what is buffered: the file is then a complete capture of the packets written.
    public func flush() {
        guard buffered > 0 else { return }
        writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: buffered))
        buffered = 0
    }

    /// Flushes and closes the file (standard output is flushed, not closed). Writes after it are
    /// ignored; closing again does nothing.
    public func close() {
        guard !closed else { return }
        flush()
        closed = true
        guard ownsDescriptor else { return }
        // Linux closes the descriptor even when close(2) says EINTR: it must not be retried.
        if Glibc.close(descriptor) != 0 && errno != EINTR { record(errno) }
    }

    // MARK: Output

    /// Makes room for `count` bytes in the buffer (flushing it), for a header or a small block.
    func reserve(_ count: Int) {
        if buffer.count - buffered < count { flush() }
    }

    func append<T: FixedWidthInteger>(_ value: T) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: buffered, as: T.self)
        buffered += MemoryLayout<T>.size
    }

    func appendZeros(_ count: Int) {
        (buffer.baseAddress! + buffered).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        buffered += count
    }

    /// Appends `bytes`, writing them straight to the file when they do not fit the buffer.
    func append(_ bytes: UnsafeRawBufferPointer) {
        if buffer.count - buffered < bytes.count {
            flush()
            if buffer.count < bytes.count {
                writeAll(bytes)
                return
            }
        }
        if let base = bytes.baseAddress {
            (buffer.baseAddress! + buffered).copyMemory(from: base, byteCount: bytes.count)
        }
        buffered += bytes.count
    }

    /// write(2) until done; the first error is kept and stops all writing.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let count = Glibc.write(descriptor, base + done, bytes.count - done)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                record(count < 0 ? errno : ENOSPC)   // 0 bytes for a regular file means no room
                return
            }
            done += count
        }
    }

    private func record(_ code: Int32) {
        if failure == nil { failure = (code, String(cString: strerror(code))) }
    }
}

/// Which output interface each input interface became (pcapng), and how its ticks are counted.
/// Grows by one entry per interface used, never per packet.
struct OutputInterfaces {
    /// Input interface index -> output interface id. A dictionary, not an array indexed by input,
    /// because a packet handed to `write(_:)` may carry any index at all.
    private var idByInput: [Int: Int] = [:]
    /// By output interface id.
    private(set) var scales: [TimestampScale] = []
    /// Output interface 0's snaplen: what a Simple Packet Block's captured length is cut to.
    private(set) var firstSnaplen = 0

    func outputID(ofInput input: Int) -> Int? { idByInput[input] }

    mutating func add(input: Int, scale: TimestampScale, snaplen: Int) -> Int {
        let id = scales.count
        idByInput[input] = id
        if id == 0 { firstSnaplen = snaplen }
        scales.append(scale)
        return id
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes packets as a classic pcap file with nanosecond timestamps (magic 0xa1b23c4d, native byte
/// order), through a 1 MiB buffer. Used by `live --write`; the file is complete after `close()`.
public final class PcapWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    public init(path: String, linkType: LinkType, snaplen: Int) throws(CaptureError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw CaptureError(path: path, kind: .cannotOpen(errno: code, reason: String(cString: strerror(code))))
        }
        buffer.reserveCapacity(Self.flushThreshold + 65_536)
        append32(0xA1B2_3C4D)
        append16(2)
        append16(4)
        append32(0)   // thiszone
        append32(0)   // sigfigs
        append32(UInt32(clamping: snaplen))
        append32(UInt32(linkType.rawValue))
    }

    deinit { close() }

    public func write(_ packet: CapturedPacket) {
        // Floor division that no timestamp (Int64.min included) overflows.
        var seconds = packet.timestamp / 1_000_000_000
        var nanoseconds = packet.timestamp % 1_000_000_000
        if nanoseconds < 0 {
            seconds -= 1
            nanoseconds += 1_000_000_000
        }
        append32(UInt32(truncatingIfNeeded: seconds))
        append32(UInt32(nanoseconds))
        append32(UInt32(packet.capturedLength))
        append32(UInt32(clamping: packet.originalLength))
        packet.bytes.withUnsafeBytes { buffer.append(contentsOf: $0) }
        if buffer.count >= Self.flushThreshold { flush() }
    }

    /// The first write error (errno and its text), if any: the file then ends with the packets
    /// written before it (disk full, quota), and nothing more is written.
    public private(set) var failure: (errno: Int32, reason: String)?

    /// Writes what is buffered; the file is a complete capture after each flush.
    public func flush() {
        if failure == nil {
            buffer.withUnsafeBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let count = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 {
                        let code = count < 0 ? errno : ENOSPC
                        failure = (code, String(cString: strerror(code)))
                        break
                    }
                    done += count
                }
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private var closed = false
    public func close() {
        guard !closed else { return }
        flush()
        _ = Glibc.close(fd)
        closed = true
    }

    private func append16(_ value: UInt16) { withUnsafeBytes(of: value) { buffer.append(contentsOf: $0) } }
    private func append32(_ value: UInt32) { withUnsafeBytes(of: value) { buffer.append(contentsOf: $0) } }
}

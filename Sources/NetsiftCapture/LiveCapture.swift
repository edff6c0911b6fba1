import CPcap
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Packets from a network interface through libpcap, handed out as the same `CapturedPacket` views
/// the file readers give: the bytes stay in libpcap's buffer, valid until the next packet.
public final class LiveCapture {
    public struct Options: Sendable {
        public var snaplen = 262_144
        public var promiscuous = true
        /// Deliver each packet as it arrives instead of when the kernel buffer fills.
        public var immediate = true
        /// Kernel buffer size in bytes (libpcap's default, 2 MiB on Linux, when nil).
        public var bufferSize: Int?
        public var filter: String?
        public init() {}
    }

    /// libpcap's counters (`pcap_stats`).
    public struct Statistics: Sendable, Equatable {
        public var received: UInt32
        public var droppedByKernel: UInt32
        public var droppedByInterface: UInt32
    }

    public let interface: String
    public let linkType: LinkType
    private let handle: OpaquePointer

    public init(interface: String, options: Options = Options()) throws(CaptureError) {
        self.interface = interface
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(interface, &errorBuffer) else {
            throw CaptureError(path: interface, kind: .captureFailed(text(errorBuffer)))
        }
        func fail(_ kind: CaptureError.Kind) -> CaptureError {
            pcap_close(handle)
            return CaptureError(path: interface, kind: kind)
        }
        pcap_set_snaplen(handle, Int32(clamping: options.snaplen))
        pcap_set_promisc(handle, options.promiscuous ? 1 : 0)
        pcap_set_immediate_mode(handle, options.immediate ? 1 : 0)
        // The kernel's delivery timeout when not in immediate mode (TPACKET_V3 hands over a block
        // of packets at the latest after this long).
        pcap_set_timeout(handle, 100)
        if let size = options.bufferSize { pcap_set_buffer_size(handle, Int32(clamping: size)) }
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        if status < 0 {
            let message = String(cString: pcap_geterr(handle))
            switch status {
            case PCAP_ERROR_NO_SUCH_DEVICE: throw fail(.noSuchInterface)
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED: throw fail(.permissionDenied(message))
            case PCAP_ERROR_IFACE_NOT_UP: throw fail(.captureFailed("the interface is down"))
            default: throw fail(.captureFailed(message.isEmpty ? String(cString: pcap_statustostr(status)) : message))
            }
        }
        linkType = LinkType(dataLinkType: pcap_datalink(handle))
        if let expression = options.filter {
            var program = bpf_program()
            guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                throw fail(.badFilter(expression: expression, reason: String(cString: pcap_geterr(handle))))
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(handle, &program) == 0 else {
                throw fail(.badFilter(expression: expression, reason: String(cString: pcap_geterr(handle))))
            }
        }
        // Non-blocking, waited on with our own poll(2): libpcap's timeout does not wake a read on
        // a silent interface (TPACKET_V3 blocks until a packet comes), and a stop must be seen.
        guard pcap_setnonblock(handle, 1, &errorBuffer) == 0 else { throw fail(.captureFailed(text(errorBuffer))) }
        descriptor = pcap_get_selectable_fd(handle)
        self.handle = handle
    }

    private let descriptor: Int32

    deinit { pcap_close(handle) }

    /// Makes `forEachPacket` return. Safe to call from another thread or a signal handler's queue.
    public func stop() { pcap_breakloop(handle) }

    /// Calls `body` for each packet until `stop()` is called, `shouldStop` says so (asked after every
    /// packet and at least every 100 ms, sooner when a signal interrupts the wait), or capture fails
    /// (the error's description is returned).
    public func forEachPacket<E: Error>(
        shouldStop: () -> Bool = { false }, _ body: (CapturedPacket) throws(E) -> Void
    ) throws(E) -> String? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<u_char>?
        while !shouldStop() {
            switch pcap_next_ex(handle, &header, &data) {
            case 1:
                guard let header, let data else { continue }
                let captured = Int(header.pointee.caplen)
                // With nanosecond precision requested, tv_usec holds nanoseconds.
                let timestamp = Int64(header.pointee.ts.tv_sec) * 1_000_000_000 + Int64(header.pointee.ts.tv_usec)
                // The span views libpcap's buffer, which stays valid until the next pcap_next_ex.
                let bytes = UnsafeRawBufferPointer(start: data, count: captured)
                try body(CapturedPacket(bytes: bytes.bytes, originalLength: Int(header.pointee.len),
                                        timestamp: timestamp, interface: 0, linkType: linkType))
            case 0:
                // Nothing ready: wait for the descriptor (or a signal) at most 100 ms, then look at
                // shouldStop again.
                var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&ready, 1, 100)
            case PCAP_ERROR_BREAK:
                return nil
            default:
                return String(cString: pcap_geterr(handle))
            }
        }
        return nil
    }

    public var statistics: Statistics? {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return Statistics(received: stats.ps_recv, droppedByKernel: stats.ps_drop, droppedByInterface: stats.ps_ifdrop)
    }

    /// The interfaces libpcap can capture on, with their descriptions and flags.
    public static func interfaces() throws(CaptureError) -> [(name: String, description: String?, loopback: Bool, up: Bool)] {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        var list: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&list, &errorBuffer) == 0 else {
            throw CaptureError(path: "interfaces", kind: .captureFailed(text(errorBuffer)))
        }
        defer { pcap_freealldevs(list) }
        var result: [(String, String?, Bool, Bool)] = []
        var cursor = list
        while let device = cursor {
            let flags = device.pointee.flags
            result.append((String(cString: device.pointee.name), device.pointee.description.map { String(cString: $0) },
                           flags & UInt32(PCAP_IF_LOOPBACK) != 0, flags & UInt32(PCAP_IF_UP) != 0))
            cursor = device.pointee.next
        }
        return result
    }
}

/// The text in a NUL-terminated C buffer libpcap wrote into.
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

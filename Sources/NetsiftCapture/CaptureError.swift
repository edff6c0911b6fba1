/// Why a file could not be read at all (thrown before the first packet), or a capture could not be
/// written; the message is one line that names the file and the problem.
public struct CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// open(2) or read(2) failed: the errno and its text.
        case cannotOpen(errno: Int32, reason: String)
        /// The file is neither pcap nor pcapng; `what` describes its first bytes.
        case notACapture(what: String)
        /// A pcap or pcapng header we recognise but cannot read (e.g. an unknown major version).
        case unsupported(String)
        /// Live capture: libpcap knows no interface by that name.
        case noSuchInterface
        /// Live capture: the kernel refused (libpcap's words).
        case permissionDenied(String)
        /// A BPF filter libpcap could not compile (its message).
        case badFilter(expression: String, reason: String)
        /// Live capture failed for another reason (libpcap's message).
        case captureFailed(String)
        /// A capture to write could not be created or written: the errno and its text.
        case cannotWrite(errno: Int32, reason: String)
        /// The capture to write is the file being read: creating it would destroy the input.
        case overwritesInput
    }

    public let path: String
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public var description: String {
        let name = inputName(path)
        switch kind {
        case .cannotOpen(_, let reason): return "\(name): cannot open: \(reason)"
        case .notACapture(let what): return "\(name): not a pcap or pcapng capture: \(what)"
        case .unsupported(let what): return "\(name): unsupported capture: \(what)"
        case .noSuchInterface: return "\(name): no such interface (netsift interfaces lists them)"
        case .permissionDenied(let reason):
            return "\(name): no permission to capture (\(reason)): run as root, or give netsift CAP_NET_RAW and "
                + "CAP_NET_ADMIN (setcap cap_net_raw,cap_net_admin=eip $(command -v netsift))"
        case .badFilter(let expression, let reason): return "\(name): bad filter \"\(expression)\": \(reason)"
        case .captureFailed(let reason): return "\(name): capture failed: \(reason)"
        case .cannotWrite(_, let reason): return "\(name): cannot write: \(reason)"
        case .overwritesInput: return "\(name): is the capture being read; write to another file"
        }
    }
}

/// Where and how a capture stops making sense part-way through. Every packet before `offset` was
/// delivered; reading stops here because the record boundaries after it cannot be trusted.
public struct CaptureDamage: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A record header, or the packet data it announces, runs past the end of the file.
        case cutShort(needed: Int, available: Int)
        /// A classic pcap record announces more captured bytes than any packet can have.
        case impossibleRecordLength(Int, limit: Int)
        /// A pcapng block length is too small, not a multiple of 4, or beyond our limit.
        case badBlockLength(Int)
        /// A pcapng block's trailing length disagrees with its leading length.
        case blockLengthMismatch(leading: Int, trailing: Int)
        /// A pcapng packet block's captured length runs past the block.
        case packetPastBlock(capturedLength: Int, room: Int)
        /// A pcapng packet names an interface the section never described.
        case unknownInterface(Int)
        /// A pcapng Section Header Block whose byte-order magic is neither order.
        case badByteOrderMagic(UInt32)
        /// read(2) failed on a stream: the errno.
        case readFailed(errno: Int32)
        /// More pcapng sections or interfaces than `CaptureParser` keeps.
        case tooManyBlocks(kind: String, limit: Int)
    }

    public let kind: Kind
    /// Byte offset in the file of the record or block that is damaged.
    public let offset: Int
    /// Packets delivered before the damage.
    public let packetsRead: Int

    public init(kind: Kind, offset: Int, packetsRead: Int) {
        self.kind = kind
        self.offset = offset
        self.packetsRead = packetsRead
    }

    public var reason: String {
        switch kind {
        case .cutShort(let needed, let available):
            "record cut short at end of file (needs \(needed) bytes, \(available) left)"
        case .impossibleRecordLength(let length, let limit):
            "record claims \(length) captured bytes, more than the \(limit) a packet can have"
        case .badBlockLength(let length):
            "pcapng block length \(length) is impossible"
        case .blockLengthMismatch(let leading, let trailing):
            "pcapng block length \(leading) disagrees with its trailing copy \(trailing)"
        case .packetPastBlock(let captured, let room):
            "packet of \(captured) bytes does not fit its block (room for \(room))"
        case .unknownInterface(let id):
            "packet refers to interface \(id), which the section never described"
        case .badByteOrderMagic(let magic):
            "section header has byte-order magic 0x\(String(magic, radix: 16)), neither byte order"
        case .readFailed(let code):
            "read failed with errno \(code)"
        case .tooManyBlocks(let kind, let limit):
            "more than \(limit) pcapng \(kind) in one file"
        }
    }

    public var description: String {
        "damaged at byte offset \(offset) after \(packetsRead) packets: \(reason)"
    }
}

/// An input as messages name it: its path, or "standard input" for `-`.
public func inputName(_ path: String) -> String { path == "-" ? "standard input" : path }

import NetsiftDissect

/// Where one TCP endpoint is, in the terms Zeek's TCP analyzer uses to decide `conn_state`.
public enum EndpointState: UInt8, Sendable, Codable {
    case inactive, synSent, synAckSent, partial, established, closed, reset

    /// Seen to do nothing, or only in the middle of things (no SYN).
    var isInactive: Bool { self == .inactive || self == .partial }
}

/// Zeek's `conn_state` vocabulary (conn.log), so operators read our flow table as they read Zeek's.
public enum ConnectionState: String, Sendable, Codable, CaseIterable {
    /// SYN seen, no reply.
    case S0
    /// Established, not terminated.
    case S1
    /// Established and terminated normally.
    case SF
    /// Attempt rejected (the responder reset it).
    case REJ
    /// Established; the originator closed, the responder did not answer with a close.
    case S2
    /// Established; the responder closed, the originator did not.
    case S3
    /// Established; the originator reset it.
    case RSTO
    /// Established; the responder reset it.
    case RSTR
    /// The originator sent a SYN, then a reset, with no SYN/ACK from the responder.
    case RSTOS0
    /// The responder sent a SYN/ACK, then a reset; no SYN seen from the originator.
    case RSTRH
    /// The originator sent a SYN then a FIN; no SYN/ACK.
    case SH
    /// The responder sent a SYN/ACK then a FIN; no SYN.
    case SHR
    /// No SYN seen: the capture caught the conversation in the middle.
    case OTH

    /// The state of a TCP conversation from its endpoints' states (Zeek's `conn_state()` in
    /// base/protocols/conn/main.zeek, re-expressed): `history` decides RSTOS0, and a reject also
    /// covers both sides resetting before either sent data.
    static func tcp(originator os: EndpointState, responder rs: EndpointState, history: String,
                    originatorBytes: Int, responderBytes: Int) -> ConnectionState {
        if rs == .reset {
            if os == .synSent || os == .synAckSent || (os == .reset && originatorBytes == 0 && responderBytes == 0) {
                return .REJ
            }
            return os.isInactive ? .RSTRH : .RSTR
        }
        if os == .reset {
            if rs.isInactive { return historyIsSYNThenReset(history) ? .RSTOS0 : .OTH }
            return .RSTO
        }
        if os == .closed && rs == .closed { return .SF }
        if os == .closed { return rs.isInactive ? .SH : .S2 }
        if rs == .closed { return os.isInactive ? .SHR : .S3 }
        if os == .synSent && rs == .inactive { return .S0 }
        if os == .established && rs == .established { return .S1 }
        return .OTH
    }

    /// Zeek's `/^\^?S[^HAFGIQ]*R/`: an optional flip, the originator's SYN, then its RST with no
    /// handshake answer, ACK, FIN, gap, inconsistency or SYN+RST/FIN from it in between.
    static func historyIsSYNThenReset(_ history: String) -> Bool {
        var letters = Substring(history)
        if letters.first == "^" { letters = letters.dropFirst() }
        guard letters.first == "S" else { return false }
        for letter in letters.dropFirst() {
            if letter == "R" { return true }
            if "HAFGIQ".contains(letter) { return false }
        }
        return false
    }
}

/// Builds Zeek's history string for one conversation: one letter per event, uppercase for the
/// originator. `a d i q` are recorded once per side; `s h f r` again when their sequence number
/// differs; `t w g` on the 1st, 10th, 100th… time (Zeek's logarithmic counters). The letters `s h
/// f r` would grow with every packet of a flood of resets with random sequence numbers (a blind
/// reset attack), so the history stops at `maximumLength` letters.
public struct HistoryRecorder: Sendable {
    public static let maximumLength = 1_024
    public private(set) var history = ""
    var onceSeen: (UInt8, UInt8) = (0, 0)
    /// Per side (originator, responder): plain fields, not arrays, so that a conversation's
    /// first SYN or retransmission does not allocate.
    var marks: (Marks, Marks) = (Marks(), Marks())

    /// One side's last sequence number of `s h f r` (slots 0–3) and its `t w g` counts (slots 0–2).
    struct Marks: Decodable, Sendable {
        var syn: UInt32?, synAck: UInt32?, fin: UInt32?, rst: UInt32?
        var retransmissions = 0, zeroWindows = 0, gaps = 0

        subscript(seq slot: Int) -> UInt32? {
            get {
                switch slot {
                case 0: syn
                case 1: synAck
                case 2: fin
                default: rst
                }
            }
            set {
                switch slot {
                case 0: syn = newValue
                case 1: synAck = newValue
                case 2: fin = newValue
                default: rst = newValue
                }
            }
        }

        /// Adds one to a count and returns it.
        mutating func count(_ slot: Int) -> Int {
            switch slot {
            case 0:
                retransmissions += 1
                return retransmissions
            case 1:
                zeroWindows += 1
                return zeroWindows
            default:
                gaps += 1
                return gaps
            }
        }
    }

    public init() {}

    /// Zeek marks a conversation whose first packet came from the responder with `^`.
    mutating func flipped() { history.append("^") }

    mutating func record(fromOriginator: Bool, flags: TCPFlags, seq: UInt32, payload: Int, window: UInt16,
                         analysis: TCPAnalysisFlags) {
        let syn = flags.contains(.syn), ack = flags.contains(.ack), fin = flags.contains(.fin), rst = flags.contains(.rst)
        if syn { repeated(ack ? "h" : "s", slot: ack ? 1 : 0, seq: seq, fromOriginator) }
        if syn && (fin || rst) { once("q", bit: 3, fromOriginator) }
        if fin { repeated("f", slot: 2, seq: seq, fromOriginator) }
        if rst { repeated("r", slot: 3, seq: seq, fromOriginator) }
        if payload > 0 {
            once("d", bit: 1, fromOriginator)
        } else if ack && !syn && !fin && !rst {
            once("a", bit: 0, fromOriginator)
        }
        if payload > 0 && analysis.contains(.retransmission) { logarithmic("t", slot: 0, fromOriginator) }
        if window == 0 && !rst && !syn { logarithmic("w", slot: 1, fromOriginator) }
        if analysis.contains(.lostSegment) { logarithmic("g", slot: 2, fromOriginator) }
    }

    /// UDP: `d` for the first payload each way.
    mutating func recordDatagram(fromOriginator: Bool) { once("d", bit: 1, fromOriginator) }

    mutating func append(_ letter: Character, _ fromOriginator: Bool) {
        guard history.utf8.count < Self.maximumLength else { return }
        history.append(fromOriginator ? Character(letter.uppercased()) : letter)
    }

    @inline(__always)   // on most packets: only the first time is a call
    mutating func once(_ letter: Character, bit: UInt8, _ fromOriginator: Bool) {
        let mask: UInt8 = 1 << bit
        let seen = fromOriginator ? onceSeen.0 : onceSeen.1
        if seen & mask == 0 { firstTime(letter, mask: mask, fromOriginator) }
    }

    mutating func firstTime(_ letter: Character, mask: UInt8, _ fromOriginator: Bool) {
        if fromOriginator { onceSeen.0 |= mask } else { onceSeen.1 |= mask }
        append(letter, fromOriginator)
    }

    mutating func repeated(_ letter: Character, slot: Int, seq: UInt32, _ fromOriginator: Bool) {
        let previous = fromOriginator ? marks.0[seq: slot] : marks.1[seq: slot]
        guard previous != seq else { return }
        if fromOriginator { marks.0[seq: slot] = seq } else { marks.1[seq: slot] = seq }
        append(letter, fromOriginator)
    }

    mutating func logarithmic(_ letter: Character, slot: Int, _ fromOriginator: Bool) {
        let count = fromOriginator ? marks.0.count(slot) : marks.1.count(slot)
        var threshold = 1
        while threshold < count { threshold *= 10 }
        if threshold == count { append(letter, fromOriginator) }
    }
}

/// Read back from a shard's replay record (`ReplayJSON`); here, where `history` may be set.
extension HistoryRecorder: Decodable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: ReplayKey.self)
        try c.fill(&self, \.history, "history")
        var once = try c.nestedUnkeyedContainer(forKey: ReplayKey("onceSeen"))
        onceSeen = (try once.decode(UInt8.self), try once.decode(UInt8.self))
        var marks = try c.nestedUnkeyedContainer(forKey: ReplayKey("marks"))
        self.marks = (try marks.decode(Marks.self), try marks.decode(Marks.self))
    }
}

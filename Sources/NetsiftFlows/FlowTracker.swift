import NetsiftDissect

/// What the tracker says about one TCP packet.
public struct TCPPacketAnalysis: Sendable, Equatable {
    /// The conversation's number, as tshark's `tcp.stream`.
    public var stream: Int
    public var flags: TCPAnalysisFlags
    /// For a duplicate ACK: which one in the run (1 for the first duplicate).
    public var duplicateAckNumber: Int
}

/// Follows every TCP conversation: finds its entry through an open-addressing index, numbers it as
/// tshark does, negotiates window scaling from the handshake, and runs Wireshark's sequence
/// analysis on each segment.
public struct FlowTracker {
    public private(set) var conversations: [TCPConversation] = []
    var index = FlowIndex()

    public init() {}

    /// Tracks one packet; nil when it has no whole TCP header.
    public mutating func track(_ s: PacketSummary, frame: Int, time: Int64, wireLength: Int) -> TCPPacketAnalysis? {
        guard s.layers.contains(.tcp), !s.transportHeader.isEmpty else { return nil }
        let source = Endpoint(address: s.source, port: s.sourcePort)
        let destination = Endpoint(address: s.destination, port: s.destinationPort)
        let (key, _) = FlowKey.make(source: source, destination: destination, ipProtocol: 6)
        let syn = s.tcpFlags.contains(.syn), ack = s.tcpFlags.contains(.ack)

        var entry = index.find(key) { conversations[Int($0)].key }
        var reused = false
        if let existing = entry, syn && !ack {
            // A SYN with a new initial sequence number on a known port pair: the ports were
            // reused for a new connection, which gets a new stream number.
            let conversation = conversations[Int(existing)]
            let state = conversation[conversation.side(of: source)].analysis
            if state.hasBaseSeq && state.baseSeq != s.sequenceNumber {
                entry = nil
                reused = true
            }
        }
        let number: Int
        if let entry {
            number = Int(entry)
        } else {
            number = conversations.count
            conversations.append(TCPConversation(stream: number, key: key, first: source, second: destination,
                                                 frame: frame, time: time))
            index.insert(key, entry: Int32(number)) { conversations[Int($0)].key }
        }
        var result = conversations[number].add(s, from: source, frame: frame, time: time, wireLength: wireLength)
        if reused { result.flags.insert(.reusedPorts) }
        return result
    }
}

extension TCPConversation {
    /// Adds one segment from `source`: handshake facts, per-side counters, and the analysis.
    mutating func add(_ s: PacketSummary, from source: Endpoint, frame: Int, time: Int64,
                      wireLength: Int) -> TCPPacketAnalysis {
        let me = side(of: source), peer = 1 - me
        let flags = s.tcpFlags
        let syn = flags.contains(.syn), ack = flags.contains(.ack)
        lastFrame = frame
        last = time
        packets += 1

        var sender = self[me]
        sender.packets += 1
        sender.bytes += wireLength
        sender.payloadBytes += s.payloadWireLength
        if syn {
            if let mss = s.tcpOptions.mss {
                if sender.synMSS == nil { sender.synMSS = mss } else if sender.synMSS != mss { sender.synMSSChanged = true }
            }
            sender.sackPermitted = sender.sackPermitted || s.tcpOptions.sackPermitted
            sender.timestamps = sender.timestamps || s.tcpOptions.timestampValue != nil
            if let shift = s.tcpOptions.windowScale { sender.windowScaleShift = shift }
            // Window scaling (RFC 7323 §2.2): each SYN says whether its sender scales; scaling is
            // on only if both SYNs carried the option. Shifts above 14 count as 14.
            sender.analysis.windowScale = s.tcpOptions.windowScale.map { Int8(min($0, 14)) } ?? TCPDirectionState.noScale
            if ack {
                sender.sentSYNACK = true
                var receiver = self[peer]
                if sender.analysis.windowScale == TCPDirectionState.noScale
                    || receiver.analysis.windowScale == TCPDirectionState.noScale {
                    sender.analysis.windowScale = TCPDirectionState.noScale
                    receiver.analysis.windowScale = TCPDirectionState.noScale
                }
                self[peer] = receiver
            } else {
                sender.sentSYN = true
                if client == nil { client = me }
                synTime = time
            }
        } else if ack, handshakeRTT == 0, client == me, self[peer].sentSYNACK {
            handshakeRTT = max(1, time - synTime)
            handshakeCompleted = true
        }
        if flags.contains(.fin) && !sender.sentFIN {
            sender.sentFIN = true
            sender.firstFINTime = time
        }
        if flags.contains(.rst) && !sender.sentRST {
            sender.sentRST = true
            sender.firstRSTTime = time
        }

        var receiver = self[peer]
        let segment = TCPSegment(seq: s.sequenceNumber, ack: s.acknowledgmentNumber, flags: flags,
                                 window: s.windowSize, length: s.payloadWireLength, time: time)
        let analysis = TCPAnalyzer.analyze(segment, forward: &sender.analysis, reverse: &receiver.analysis,
                                           handshakeRTT: handshakeRTT)
        if analysis.contains(.retransmission) { sender.retransmittedBytes += s.payloadWireLength }
        self[me] = sender
        self[peer] = receiver
        for (flag, _) in TCPAnalysisFlags.names where analysis.contains(flag) {
            analysisCounts[flag.rawValue, default: 0] += 1
        }
        return TCPPacketAnalysis(stream: stream, flags: analysis,
                                 duplicateAckNumber: analysis.contains(.duplicateAck) ? sender.analysis.duplicateAcks : 0)
    }
}

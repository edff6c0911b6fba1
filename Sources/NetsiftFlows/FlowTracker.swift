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
/// tshark does, negotiates window scaling from the handshake, runs Wireshark's sequence analysis
/// on each segment, and hands the reassembled streams of the conversations whose protocol we parse
/// to their application parsers. DNS over UDP goes straight to its parser.
public struct FlowTracker {
    public private(set) var conversations: [TCPConversation] = []
    var index = FlowIndex()
    public var decodeAs: DecodeAs
    public let reassemblyLimits: ReassemblyLimits
    /// Out-of-order bytes all conversations hold now.
    public private(set) var heldBytes = 0

    public init(decodeAs: DecodeAs = DecodeAs(), reassemblyLimits: ReassemblyLimits = ReassemblyLimits()) {
        self.decodeAs = decodeAs
        self.reassemblyLimits = reassemblyLimits
    }

    /// Tracks one packet. `bytes` are the bytes the summary's ranges refer to; application messages
    /// found in the packet go to `events`. Returns the TCP analysis, or nil when the packet has no
    /// whole TCP header.
    public mutating func track(_ s: PacketSummary, bytes: RawSpan, frame: Int, time: Int64, wireLength: Int,
                               events: (ApplicationEvent) -> Void) -> TCPPacketAnalysis? {
        if s.layers.contains(.udp) && !s.transportHeader.isEmpty {
            trackDatagram(s, bytes: bytes, frame: frame, time: time, events: events)
            return nil
        }
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
        if conversations[number].application.wantsBytes {
            heldBytes += conversations[number].reassemble(s, bytes: bytes, from: source, frame: frame, time: time,
                                                          decodeAs: decodeAs, limits: reassemblyLimits,
                                                          heldBytes: heldBytes, events: events)
        }
        return result
    }

    /// A UDP datagram: DNS (by port or decode-as rule) is parsed here, one message per datagram.
    mutating func trackDatagram(_ s: PacketSummary, bytes: RawSpan, frame: Int, time: Int64,
                                events: (ApplicationEvent) -> Void) {
        let proto = decodeAs.udpPorts[s.sourcePort] ?? decodeAs.udpPorts[s.destinationPort]
            ?? (DNSPorts.contains(s.sourcePort) || DNSPorts.contains(s.destinationPort) ? .dns : nil)
        guard let proto else { return }
        let context = ApplicationContext(frame: frame, time: time, transport: .udp, stream: 0,
                                         source: Endpoint(address: s.source, port: s.sourcePort),
                                         destination: Endpoint(address: s.destination, port: s.destinationPort),
                                         fromClient: !DNSPorts.contains(s.sourcePort))
        // The protocol parsers plug in here (DNS over UDP: one message per datagram).
        switch proto {
        case .dns, .tls, .http2:
            _ = (context, bytes.extracting(s.payload), events)
        }
    }
}

extension TCPConversation {
    /// Puts the segment's payload in sequence order and feeds it to the application parsers,
    /// deciding the protocol at the first payload. Returns the change in held out-of-order bytes.
    mutating func reassemble(_ s: PacketSummary, bytes: RawSpan, from source: Endpoint, frame: Int, time: Int64,
                             decodeAs: DecodeAs, limits: ReassemblyLimits, heldBytes: Int,
                             events: (ApplicationEvent) -> Void) -> Int {
        let me = side(of: source), peer = 1 - me
        let fromClient = me == clientSide
        let context = ApplicationContext(frame: frame, time: time, transport: .tcp, stream: stream, source: source,
                                         destination: self[peer].endpoint, fromClient: fromClient)
        var parsers = application
        var change = 0
        let ports = (self[0].endpoint.port, self[1].endpoint.port)
        // The peer's ACK tells this side's reassembler which holes will never fill.
        if s.tcpFlags.contains(.ack) {
            var peerStream = self[peer].stream
            let peerContext = ApplicationContext(frame: frame, time: time, transport: .tcp, stream: stream,
                                                 source: self[peer].endpoint, destination: source, fromClient: !fromClient)
            change += peerStream.acknowledged(s.acknowledgmentNumber) { chunk in
                parsers.consume(chunk, context: peerContext, emit: events)
            }
            self[peer].stream = peerStream
        }
        var stream = self[me].stream
        let budget = min(limits.bytesPerDirection, stream.pendingBytes + max(0, limits.totalBytes - heldBytes - change))
        change += stream.add(seq: s.sequenceNumber, syn: s.tcpFlags.contains(.syn), payload: bytes.extracting(s.payload),
                             wireLength: s.payloadWireLength, budget: budget) { chunk in
            if case .undecided = parsers, let chunk {
                guard let proto = ApplicationParsers.detect(ports: ports, firstBytes: chunk, decodeAs: decodeAs) else {
                    parsers = .unparsed
                    return
                }
                parsers = ApplicationParsers.start(proto)
            }
            parsers.consume(chunk, context: context, emit: events)
        }
        if s.tcpFlags.contains(.rst) || !parsers.wantsBytes {
            // Reset, or nothing to parse: what is held will never be read.
            change += stream.reset()
            var peerStream = self[peer].stream
            change += peerStream.reset()
            self[peer].stream = peerStream
        }
        self[me].stream = stream
        application = parsers
        return change
    }

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
